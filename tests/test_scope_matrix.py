"""Every API endpoint × every role × inside its scope / outside it, and anonymous.

The "inside" objects live in town 441900003 (东城街道), base grid 441900003001001; the "outside"
objects in town 441900101 (虎门镇). Each role is assigned so that the inside objects fall in its scope:
a grid worker on grid 441900003001001, a community dispatcher on its community, a town commander,
leader and administrator on its town, a department handler in a department of that town, a city
commander on the city (for whom nothing is outside).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.conftest import feature, square
from tests.hotline.matrix import HOTLINE_ENDPOINTS
from tests.registry.matrix import REGISTRY_ENDPOINTS, registry_expected
from tests.registry.selfservice_matrix import DECLARATION_ENDPOINTS, declaration_expected
from tests.webhooks.matrix import WEBHOOK_ENDPOINTS
from zhiwang.accounts.models import ApiToken, Department, Role, RoleAssignment, User
from zhiwang.api import api
from zhiwang.cases.intake import case_report
from zhiwang.cases.models import Case, CasePhoto, Whistle, WhistleSummon
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode
from zhiwang.notifications.models import Notification
from zhiwang.taxonomy.models import Category

INSIDE = {
    "town": "441900003",
    "community": "441900003001",
    "grid": "441900003001001",
    "sibling": "441900003001002",
    "x": 113.6,
}
OUTSIDE = {
    "town": "441900101",
    "community": "441900101001",
    "grid": "441900101001001",
    "sibling": "441900101001002",
    "x": 113.7,
}
ROLES = [
    Role.GRID_WORKER,
    Role.COMMUNITY_DISPATCHER,
    Role.TOWN_COMMANDER,
    Role.CITY_COMMANDER,
    Role.DEPARTMENT_HANDLER,
    Role.LEADER,
    Role.ADMINISTRATOR,
]
MULTIPART = "__multipart__"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
STAFF_READERS = {
    Role.COMMUNITY_DISPATCHER,
    Role.TOWN_COMMANDER,
    Role.CITY_COMMANDER,
    Role.LEADER,
    Role.ADMINISTRATOR,
}
# Towards a case: who dispatches (covers the grid with a dispatch role) and who commands.
DISPATCHERS = {Role.COMMUNITY_DISPATCHER, Role.TOWN_COMMANDER, Role.CITY_COMMANDER}
COMMANDERS = {Role.TOWN_COMMANDER, Role.CITY_COMMANDER}


@dataclass
class World:
    grids: dict[str, GridNode]
    departments: dict[str, Department]
    # a grid worker on each side, to be read, given roles and tokens
    targets: dict[str, User]
    tokens: dict[str, ApiToken]
    cases: dict[str, Case]  # "True"/"False": a reported case inside/outside; "True2"/"False2": another one
    whistles: dict[str, Whistle]
    notification: Notification
    photos: dict[str, CasePhoto]
    registry: Any = None  # registry objects on each side, built on first use (tests/registry/matrix.py)

    def side(self, inside: bool) -> dict[str, Any]:
        return INSIDE if inside else OUTSIDE

    def grid(self, inside: bool, key: str = "grid") -> GridNode:
        return self.grids[self.side(inside)[key]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    route: str  # as registered in the API, to check that every endpoint is covered
    # "any", "public", "read", "list", "staff_read", "staff_list", "admin_list", "write", "city_admin",
    # "owner_only", "case" (a workflow action: see `who` and `state_ok`), "summoned"
    kind: str
    call: Callable[[World, bool], tuple[str, dict[str, Any] | None]]
    who: str = ""  # for "case": the relation the action needs
    state_ok: bool = True  # for "case": whether a freshly reported case allows it


def _case(w: World, i: bool, action: str) -> str:
    return f"/api/v1/cases/{w.cases[str(i)].pk}/{action}"


def case_action(action: str, who: str, state_ok: bool, body: dict[str, Any] | None = None) -> Endpoint:
    return Endpoint(
        "POST",
        f"cases/{{int:case_id}}/{action}",
        "case",
        lambda w, i: (_case(w, i, action), body),
        who=who,
        state_ok=state_ok,
    )


def _split_body(w: World, inside: bool) -> dict[str, Any]:
    x, code = w.side(inside)["x"], w.side(inside)["grid"]
    return {
        "parts": [
            {"code": code[:-3] + "005", "name": "南", "geometry": square(x, 22.9, x + 0.05, 22.95)},
            {"code": code[:-3] + "006", "name": "北", "geometry": square(x, 22.95, x + 0.05, 23.0)},
        ]
    }


def _redraw_body(w: World, inside: bool) -> dict[str, Any]:
    x = w.side(inside)["x"]
    return {
        "grids": [
            {"grid_id": w.grid(inside).pk, "geometry": square(x, 22.9, x + 0.06, 23.0)},
            {"grid_id": w.grid(inside, "sibling").pk, "geometry": square(x + 0.06, 22.9, x + 0.1, 23.0)},
        ]
    }


ENDPOINTS = [
    Endpoint("GET", "grids", "list", lambda w, i: ("/api/v1/grids", None)),
    Endpoint("GET", "grids/export", "list", lambda w, i: ("/api/v1/grids/export", None)),
    Endpoint(
        "POST",
        "grids/import",
        "write",
        lambda w, i: (
            "/api/v1/grids/import",
            {
                "type": "FeatureCollection",
                "features": [feature(w.side(i)["grid"], "新名称", w.grid(i).geometry)],
            },
        ),
    ),
    Endpoint(
        "POST",
        "grids/locate",
        "any",
        lambda w, i: ("/api/v1/grids/locate", {"lon": w.side(i)["x"] + 0.01, "lat": 22.95}),
    ),
    Endpoint(
        "POST",
        "grids/merge",
        "write",
        lambda w, i: (
            "/api/v1/grids/merge",
            {
                "grid_ids": [w.grid(i).pk, w.grid(i, "sibling").pk],
                "code": w.side(i)["grid"][:-3] + "009",
                "name": "合并",
            },
        ),
    ),
    Endpoint("POST", "grids/redraw", "write", lambda w, i: ("/api/v1/grids/redraw", _redraw_body(w, i))),
    Endpoint("GET", "grids/{int:grid_id}", "read", lambda w, i: (f"/api/v1/grids/{w.grid(i).pk}", None)),
    Endpoint(
        "GET",
        "grids/{int:grid_id}/children",
        "read",
        lambda w, i: (f"/api/v1/grids/{w.grid(i).pk}/children", None),
    ),
    Endpoint(
        "GET",
        "grids/{int:grid_id}/history",
        "read",
        lambda w, i: (f"/api/v1/grids/{w.grid(i).pk}/history", None),
    ),
    Endpoint(
        "POST",
        "grids/{int:grid_id}/split",
        "write",
        lambda w, i: (f"/api/v1/grids/{w.grid(i).pk}/split", _split_body(w, i)),
    ),
    Endpoint("GET", "me", "any", lambda w, i: ("/api/v1/me", None)),
    Endpoint("GET", "users", "staff_list", lambda w, i: ("/api/v1/users", None)),
    Endpoint(
        "POST",
        "users",
        "write",
        lambda w, i: ("/api/v1/users", {"username": f"new-{i}", "display_name": "新人"}),
    ),
    Endpoint(
        "GET",
        "users/{int:user_id}",
        "staff_read",
        lambda w, i: (f"/api/v1/users/{w.targets[str(i)].pk}", None),
    ),
    Endpoint(
        "POST",
        "users/{int:user_id}/roles",
        "write",
        lambda w, i: (
            f"/api/v1/users/{w.targets[str(i)].pk}/roles",
            {"role": "grid_worker", "grid_id": w.grid(i, "sibling").pk, "worker_kind": "part_time"},
        ),
    ),
    Endpoint(
        "POST",
        "roles/{int:assignment_id}/end",
        "write",
        lambda w, i: (f"/api/v1/roles/{w.targets[str(i)].assignments.get().pk}/end", None),
    ),
    Endpoint(
        "POST",
        "users/{int:user_id}/tokens",
        "write",
        lambda w, i: (f"/api/v1/users/{w.targets[str(i)].pk}/tokens", {"name": "sync"}),
    ),
    Endpoint(
        "POST",
        "tokens/{int:token_id}/revoke",
        "write",
        lambda w, i: (f"/api/v1/tokens/{w.tokens[str(i)].pk}/revoke", None),
    ),
    Endpoint("GET", "departments", "list", lambda w, i: ("/api/v1/departments", None)),
    Endpoint(
        "POST",
        "departments",
        "write",
        lambda w, i: (
            "/api/v1/departments",
            {"code": f"D-{i}", "name": "新部门", "kind": "urban", "jurisdiction_id": w.grid(i, "town").pk},
        ),
    ),
    Endpoint("GET", "staffing/unstaffed", "list", lambda w, i: ("/api/v1/staffing/unstaffed", None)),
    Endpoint(
        "GET",
        "staffing/grids/{int:grid_id}/workers",
        "read",
        lambda w, i: (f"/api/v1/staffing/grids/{w.grid(i).pk}/workers", None),
    ),
    Endpoint("GET", "audit", "admin_list", lambda w, i: ("/api/v1/audit", None)),
    Endpoint("GET", "ping", "public", lambda w, i: ("/api/v1/ping", None)),
    # the working calendar and the categories: read by all staff, changed by city administrators
    Endpoint("GET", "calendar/{int:year}", "any", lambda w, i: ("/api/v1/calendar/2026", None)),
    Endpoint(
        "PUT",
        "calendar/{int:year}",
        "city_admin",
        lambda w, i: (
            "/api/v1/calendar/2027",
            {"holidays": [{"first_day": "2027-02-06", "last_day": "2027-02-13", "name": "春节"}]},
        ),
    ),
    Endpoint("GET", "categories", "any", lambda w, i: ("/api/v1/categories", None)),
    Endpoint("GET", "categories/{code}", "any", lambda w, i: ("/api/v1/categories/E0101", None)),
    Endpoint(
        "POST",
        "categories/import",
        "city_admin",
        lambda w, i: (
            "/api/v1/categories/import",
            {"categories": [{"code": "E01", "name": "市容环境", "kind": "event"}]},
        ),
    ),
    Endpoint(
        "PATCH",
        "categories/{code}",
        "city_admin",
        lambda w, i: ("/api/v1/categories/E0101", {"name": "暴露垃圾"}),
    ),
    # notifications: one's own only
    Endpoint("GET", "notifications", "any", lambda w, i: ("/api/v1/notifications", None)),
    Endpoint(
        "POST",
        "notifications/{int:notification_id}/read",
        "owner_only",
        lambda w, i: (f"/api/v1/notifications/{w.notification.pk}/read", None),
    ),
    Endpoint(
        "GET", "notifications/outbox", "admin_list", lambda w, i: ("/api/v1/notifications/outbox", None)
    ),
    # cases
    Endpoint(
        "POST",
        "cases",
        "any",
        lambda w, i: (
            "/api/v1/cases",
            {
                "channel": "inspection",
                "lon": w.side(i)["x"] + 0.01,
                "lat": 22.95,
                "description": "巡查发现",
                "category": "E0101",
            },
        ),
    ),
    Endpoint("GET", "cases", "list", lambda w, i: ("/api/v1/cases", None)),
    Endpoint(
        "GET", "cases/{int:case_id}", "read", lambda w, i: (f"/api/v1/cases/{w.cases[str(i)].pk}", None)
    ),
    Endpoint(
        "GET",
        "cases/{int:case_id}/duplicates",
        "read",
        lambda w, i: (f"/api/v1/cases/{w.cases[str(i)].pk}/duplicates", None),
    ),
    case_action("accept", "dispatcher", True, {}),
    case_action("reject", "dispatcher", True, {"reason": "不予立案"}),
    Endpoint(
        "POST",
        "cases/{int:case_id}/merge",
        "case",
        lambda w, i: (_case(w, i, "merge"), {"into": w.cases[f"{i}2"].pk}),
        who="dispatcher",
    ),
    case_action("dispatch", "dispatcher", False, {}),
    case_action("sign", "handler", False),
    case_action("return", "handler", False, {"reason": "不属于本部门"}),
    case_action("extension", "handler", False, {"amount": 1, "unit": "working_days", "reason": "需协调"}),
    Endpoint(
        "POST",
        "cases/{int:case_id}/extension/decision",
        "case",
        lambda w, i: (_case(w, i, "extension/decision"), {"approve": True}),
        who="dispatcher",
        state_ok=False,
    ),
    case_action("park", "commander", False, {"reason": "季节性"}),
    case_action("unpark", "commander", False, {}),
    case_action("handle", "handler", False, {"result": "已处置"}),
    case_action("verify", "finder", False, {"passed": True}),
    case_action("revisit", "dispatcher", False, {"rating": 5}),
    case_action("supervise", "commander", False, {"reason": "督办"}),
    Endpoint(
        "POST",
        "whistles",
        "case",
        lambda w, i: (
            "/api/v1/whistles",
            {
                "level": "daily",
                "department_ids": [w.departments["inside"].pk],
                "summary": "联合执法",
                "case_id": w.cases[str(i)].pk,
            },
        ),
        who="dispatcher",
    ),
    Endpoint(
        "POST",
        "whistles/{int:whistle_id}/report-in",
        "summoned",
        lambda w, i: (f"/api/v1/whistles/{w.whistles[str(i)].pk}/report-in", {}),
    ),
    Endpoint(
        "POST",
        "whistles/{int:whistle_id}/close",
        "case",
        lambda w, i: (f"/api/v1/whistles/{w.whistles[str(i)].pk}/close", None),
        who="dispatcher",
        state_ok=False,
    ),
    Endpoint("GET", "kpis", "any", lambda w, i: ("/api/v1/kpis", None)),
    # photos: only the reporter adds one at report time; readers see them
    Endpoint(
        "POST",
        "cases/{int:case_id}/photos",
        "case",
        lambda w, i: (
            _case(w, i, "photos"),
            {
                MULTIPART: True,
                "stage": "report",
                "file": SimpleUploadedFile("p.png", PNG, content_type="image/png"),
            },
        ),
    ),
    Endpoint(
        "GET",
        "cases/{int:case_id}/photos/{int:photo_id}",
        "read",
        lambda w, i: (f"/api/v1/cases/{w.cases[str(i)].pk}/photos/{w.photos[str(i)].pk}", None),
    ),
]
ENDPOINTS += [Endpoint(method, route, kind, call) for method, route, kind, call in REGISTRY_ENDPOINTS]
ENDPOINTS += [Endpoint(method, route, kind, call) for method, route, kind, call in DECLARATION_ENDPOINTS]
ENDPOINTS += [Endpoint(m, r, kind, call) for m, r, kind, call in HOTLINE_ENDPOINTS + WEBHOOK_ENDPOINTS]


def test_the_matrix_covers_every_endpoint() -> None:
    registered = set()
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    route = (prefix.strip("/") + "/" + path.strip("/")).strip("/")
                    registered.add((method, route))
    assert registered == {(e.method, e.route) for e in ENDPOINTS}


@pytest.fixture
def world(city: dict[str, GridNode], make_user: Callable[..., User]) -> World:
    departments = {
        "inside": Department.objects.create(
            code="DC-URBAN", name="东城城管", kind="urban", jurisdiction=city[INSIDE["town"]]
        ),
        "outside": Department.objects.create(
            code="HM-URBAN", name="虎门城管", kind="urban", jurisdiction=city[OUTSIDE["town"]]
        ),
    }
    targets = {
        "True": make_user(Role.GRID_WORKER, grid=city[INSIDE["grid"]], username="target-inside"),
        "False": make_user(Role.GRID_WORKER, grid=city[OUTSIDE["grid"]], username="target-outside"),
    }
    tokens = {
        key: ApiToken.objects.create(user=u, name="t", prefix="zw_x", key_hash=f"h{key}")
        for key, u in targets.items()
    }
    major = Category.objects.create(code="E01", name="市容环境", kind="event")
    Category.objects.create(
        code="E0101",
        name="暴露垃圾",
        kind="event",
        parent=major,
        time_limit=1,
        time_unit="working_days",
        department_kind="urban",
    )
    origin = Origin.cli()
    cases = {}
    for inside, side in ((True, INSIDE), (False, OUTSIDE)):
        for suffix in ("", "2"):
            cases[f"{inside}{suffix}"] = case_report(
                actor=targets[str(inside)],
                channel="grid_worker",
                lon=side["x"] + 0.01,
                lat=22.95,
                description="垃圾",
                category_code="E0101",
                origin=origin,
            ).case
    whistles = {}
    for inside, side in ((True, INSIDE), (False, OUTSIDE)):
        case = cases[str(inside)]
        whistle = Whistle.objects.create(
            case=case, level="daily", node=city[side["grid"]], summary="x", blown_at=case.reported_at
        )
        department = departments["inside" if inside else "outside"]
        WhistleSummon.objects.create(whistle=whistle, department=department, respond_by=whistle.blown_at)
        whistles[str(inside)] = whistle
    notification = Notification.objects.create(recipient=targets["True"], title="t", body="b")
    photos = {}
    for key in ("True", "False"):
        photo = CasePhoto(case=cases[key], city_id=cases[key].city_id, stage="report")
        photo.file.save(f"{key}.png", ContentFile(PNG), save=False)
        photo.save()
        photos[key] = photo
    return World(
        grids=city,
        departments=departments,
        targets=targets,
        tokens=tokens,
        cases=cases,
        whistles=whistles,
        notification=notification,
        photos=photos,
    )


def actor_for(role: str | None, world: World, make_user: Callable[..., User]) -> User | None:
    if role is None:
        return None
    if role == Role.DEPARTMENT_HANDLER:
        return make_user(role, department=world.departments["inside"])
    node = {
        Role.GRID_WORKER: INSIDE["grid"],
        Role.COMMUNITY_DISPATCHER: INSIDE["community"],
        Role.CITY_COMMANDER: "441900",
    }.get(role, INSIDE["town"])
    return make_user(role, grid=world.grids[node])


def expected(endpoint: Endpoint, role: str | None, inside: bool) -> set[int]:
    ok = {200, 201, 204}
    if endpoint.kind == "public":
        return ok
    if endpoint.kind == "signed":
        return {401}  # the 12345 exchange: only the hotline's signature opens it
    if role is None:
        return {401}
    inside = inside or role == Role.CITY_COMMANDER  # the whole city is the city commander's
    if endpoint.kind.startswith("registry_"):
        return registry_expected(endpoint.kind, role, inside)
    if endpoint.kind.startswith("declaration_"):
        return declaration_expected(endpoint.kind, role, inside)
    if endpoint.kind in ("any", "list"):
        return ok
    if endpoint.kind == "city_admin":
        return {403}  # the matrix's administrator holds a town, not the city
    if endpoint.kind == "owner_only":
        return {404}
    if endpoint.kind == "summoned":
        return ok if inside and role == Role.DEPARTMENT_HANDLER else {404}
    if endpoint.kind == "case":
        if not inside:
            return {404}
        allowed = {"dispatcher": DISPATCHERS, "commander": COMMANDERS}.get(endpoint.who, set())
        if role not in allowed:
            return {403}
        return ok if endpoint.state_ok else {409}
    if endpoint.kind == "read":
        return ok if inside else {404}
    if endpoint.kind == "staff_list":
        return ok if role in STAFF_READERS else {403}
    if endpoint.kind == "staff_read":
        if role not in STAFF_READERS:
            return {403}
        return ok if inside else {404}
    if endpoint.kind == "admin_list":
        return ok if role == Role.ADMINISTRATOR else {403}
    # writes: only an administrator over the objects concerned
    if role == Role.ADMINISTRATOR and (inside or endpoint.route == "users"):
        return ok
    return {403, 404}


@pytest.mark.parametrize("inside", [True, False], ids=["inside", "outside"])
@pytest.mark.parametrize("role", [None, *ROLES], ids=["anonymous", *ROLES])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e.method} {e.route}" for e in ENDPOINTS])
def test_scope_matrix(
    endpoint: Endpoint,
    role: str | None,
    inside: bool,
    world: World,
    make_user: Callable[..., User],
    api_client: Callable[[User | None], Client],
) -> None:
    actor = actor_for(role, world, make_user)
    client = api_client(actor)
    path, body = endpoint.call(world, inside)
    before_roles = RoleAssignment.objects.count()
    if body is not None and body.get(MULTIPART):
        response = client.post(path, data={k: v for k, v in body.items() if k != MULTIPART})
    elif endpoint.method == "GET":
        response = client.get(path)
    else:
        send = {"POST": client.post, "PUT": client.put, "PATCH": client.patch}[endpoint.method]
        response = send(path, data=json.dumps(body or {}), content_type="application/json")
    assert response.status_code in expected(endpoint, role, inside), response.content[:500]
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}
        assert RoleAssignment.objects.count() == before_roles
    if (
        endpoint.kind in ("list", "staff_list", "admin_list", "registry_person_list", "declaration_queue")
        and response.status_code == 200
        and role
        not in (
            Role.CITY_COMMANDER,
            None,
        )
    ):
        # Lists never leak what lies outside the reader's scope.
        text = response.content.decode()
        assert OUTSIDE["grid"] not in text and "target-outside" not in text and "虎门" not in text
        outside_case = str(world.cases["False"].number)
        assert outside_case not in text
