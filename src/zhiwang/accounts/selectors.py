"""Reads about staff, departments and staffing, always within the reader's scope."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet

from zhiwang.accounts.models import Department, Role, RoleAssignment, User
from zhiwang.accounts.permissions import CAN_VIEW_STAFF, assignment_active_q, require_staff_role
from zhiwang.common.errors import NotFound, PermissionDenied
from zhiwang.grids.models import GridNode, Layer, Level

Actor = AbstractBaseUser | AnonymousUser | None


def user_list(*, actor: Actor, role: str | None = None, within_path: str | None = None) -> QuerySet[User]:
    """Staff whose assignments lie within the places the reader oversees."""
    scope = require_staff_role(actor)
    if not scope.has_role(CAN_VIEW_STAFF):
        raise PermissionDenied("Your role does not list staff.")
    assignments = RoleAssignment.objects.filter(assignment_active_q()).filter(
        scope.grid_q("grid__path", CAN_VIEW_STAFF)
        | scope.grid_q("department__jurisdiction__path", CAN_VIEW_STAFF)
    )
    if role:
        assignments = assignments.filter(role=role)
    if within_path:
        assignments = assignments.filter(
            Q(grid__path__startswith=within_path) | Q(department__jurisdiction__path__startswith=within_path)
        )
    users = User.objects.filter(Exists(assignments.filter(user_id=OuterRef("pk"))))
    return users.prefetch_related("assignments__grid", "assignments__department").order_by("username")


def user_get(*, actor: Actor, user_id: int) -> User:
    scope = require_staff_role(actor)
    if scope.user_id == user_id:
        return User.objects.prefetch_related("assignments__grid", "assignments__department").get(pk=user_id)
    user = user_list(actor=actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    return user


def department_list(*, actor: Actor) -> QuerySet[Department]:
    scope = require_staff_role(actor)
    return (
        Department.objects.filter(scope.grid_q("jurisdiction__path") | Q(pk__in=list(scope.department_ids)))
        .select_related("jurisdiction")
        .order_by("code")
    )


def grids_without_worker(*, actor: Actor, within_path: str | None = None) -> QuerySet[GridNode]:
    """Current base grids in the reader's scope that no active grid worker is assigned to (一格一员)."""
    scope = require_staff_role(actor)
    staffed = RoleAssignment.objects.filter(assignment_active_q()).filter(
        role=Role.GRID_WORKER, grid_id=OuterRef("pk")
    )
    grids = GridNode.objects.filter(
        scope.grid_q("path"), layer=Layer.ADMIN, level=Level.GRID, valid_to__isnull=True
    ).exclude(Exists(staffed))
    if within_path:
        grids = grids.filter(path__startswith=within_path)
    return grids.select_related("parent").order_by("code")


def grid_workers(*, actor: Actor, grid: GridNode) -> QuerySet[RoleAssignment]:
    """Active grid-worker assignments on and below a grid the reader may see."""
    scope = require_staff_role(actor)
    if not scope.covers(grid.path):
        raise NotFound("No such grid.")
    return (
        RoleAssignment.objects.filter(assignment_active_q())
        .filter(role=Role.GRID_WORKER, grid__path__startswith=grid.path)
        .select_related("user", "grid")
        .order_by("grid__code", "user__username")
    )
