"""REST endpoints for staff, roles, tokens, departments and staffing."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from zhiwang.accounts import selectors, services
from zhiwang.accounts.models import ApiToken, Department, RoleAssignment, User
from zhiwang.accounts.permissions import active_assignments, require_staff_role, scope_for
from zhiwang.accounts.schemas import (
    AssignmentIn,
    AssignmentOut,
    DepartmentIn,
    DepartmentOut,
    MeOut,
    TokenIn,
    TokenOut,
    UnstaffedGridOut,
    UserIn,
    UserOut,
    WorkerOut,
)
from zhiwang.common.origin import origin_from_request
from zhiwang.common.pagination import Pages
from zhiwang.grids.selectors import grid_get

router = Router()


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    assert isinstance(user, User)
    scope = scope_for(user)
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "is_active": user.is_active,
        "assignments": list(active_assignments(user.pk)),
        "roles": sorted(scope.roles),
        "second_factor_enrolled": user.totp_confirmed_at is not None,
    }


@router.get("/users", response=list[UserOut])
@paginate(Pages)
def list_users(request: HttpRequest, role: str | None = None) -> Any:
    return selectors.user_list(actor=request.user, role=role)


@router.post("/users", response={201: UserOut})
def create_user(request: HttpRequest, payload: UserIn) -> Status[User]:
    user = services.user_create(
        actor=request.user,
        username=payload.username,
        password=payload.password,
        display_name=payload.display_name,
        phone=payload.phone,
        origin=origin_from_request(request),
    )
    return Status(201, user)


@router.get("/users/{int:user_id}", response=UserOut)
def get_user(request: HttpRequest, user_id: int) -> User:
    return selectors.user_get(actor=request.user, user_id=user_id)


@router.post("/users/{int:user_id}/roles", response={201: AssignmentOut})
def assign_role(request: HttpRequest, user_id: int, payload: AssignmentIn) -> Status[RoleAssignment]:
    assignment = services.role_assign(
        actor=request.user,
        user_id=user_id,
        role=payload.role,
        grid_id=payload.grid_id,
        department_id=payload.department_id,
        worker_kind=payload.worker_kind,
        starts_on=payload.starts_on,
        origin=origin_from_request(request),
    )
    return Status(201, assignment)


@router.post("/roles/{int:assignment_id}/end", response=AssignmentOut)
def end_role(request: HttpRequest, assignment_id: int) -> RoleAssignment:
    return services.role_end(
        actor=request.user, assignment_id=assignment_id, origin=origin_from_request(request)
    )


@router.post("/users/{int:user_id}/tokens", response={201: TokenOut})
def issue_token(request: HttpRequest, user_id: int, payload: TokenIn) -> Status[dict[str, Any]]:
    issued = services.token_issue(
        actor=request.user,
        user_id=user_id,
        name=payload.name,
        expires_at=payload.expires_at,
        origin=origin_from_request(request),
    )
    token: ApiToken = issued.token
    return Status(
        201,
        {
            "id": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "key": issued.key,
        },
    )


@router.post("/tokens/{int:token_id}/revoke", response={204: None})
def revoke_token(request: HttpRequest, token_id: int) -> Status[None]:
    services.token_revoke(actor=request.user, token_id=token_id, origin=origin_from_request(request))
    return Status(204, None)


@router.get("/departments", response=list[DepartmentOut])
def list_departments(request: HttpRequest) -> Any:
    return selectors.department_list(actor=request.user)


@router.post("/departments", response={201: DepartmentOut})
def create_department(request: HttpRequest, payload: DepartmentIn) -> Status[Department]:
    department = services.department_create(
        actor=request.user,
        code=payload.code,
        name=payload.name,
        kind=payload.kind,
        jurisdiction_id=payload.jurisdiction_id,
        origin=origin_from_request(request),
    )
    return Status(201, department)


@router.get("/staffing/unstaffed", response=list[UnstaffedGridOut], summary="Base grids without a worker")
@paginate(Pages)
def unstaffed_grids(request: HttpRequest, within: int | None = None) -> Any:
    within_path = grid_get(actor=request.user, grid_id=within).path if within is not None else None
    return selectors.grids_without_worker(actor=request.user, within_path=within_path)


@router.get("/staffing/grids/{int:grid_id}/workers", response=list[WorkerOut])
def workers_of_grid(request: HttpRequest, grid_id: int) -> Any:
    require_staff_role(request.user)
    return selectors.grid_workers(actor=request.user, grid=grid_get(actor=request.user, grid_id=grid_id))
