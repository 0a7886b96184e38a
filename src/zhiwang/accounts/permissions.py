"""Who may see and do what, where.

A user's rights come from their active role assignments. An assignment to a grid node covers the
node and everything below it (its materialised path is a prefix of theirs); a department
handler's assignment covers the department and its jurisdiction. Every read of grid-scoped data
goes through `Scope.grid_q()`; every object load goes through an `access_*` helper.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone

from zhiwang.accounts.models import Role, RoleAssignment, User
from zhiwang.common.errors import NotFound, PermissionDenied
from zhiwang.grids.models import city_of

# What each role may do. Reading the grids in scope is implied by holding any role there.
CAN_ADMINISTER = frozenset({Role.ADMINISTRATOR})
CAN_VIEW_STAFF = frozenset(
    {Role.ADMINISTRATOR, Role.CITY_COMMANDER, Role.TOWN_COMMANDER, Role.COMMUNITY_DISPATCHER, Role.LEADER}
)
NEEDS_SECOND_FACTOR = frozenset({Role.ADMINISTRATOR, Role.CITY_COMMANDER, Role.TOWN_COMMANDER})
# The grid level each role is normally assigned at (leaders and administrators: any level).
ROLE_LEVELS: dict[str, frozenset[str]] = {
    Role.GRID_WORKER: frozenset({"grid", "subgrid"}),
    Role.COMMUNITY_DISPATCHER: frozenset({"community"}),
    Role.TOWN_COMMANDER: frozenset({"town"}),
    Role.CITY_COMMANDER: frozenset({"city"}),
    Role.LEADER: frozenset({"city", "town", "community"}),
    Role.ADMINISTRATOR: frozenset({"city", "town", "community"}),
}


def _minimal_prefixes(paths: Iterable[str]) -> tuple[str, ...]:
    """Drop paths that lie under another path in the set."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(prefix) for prefix in kept):
            kept.append(path)
    return tuple(kept)


@dataclass(frozen=True)
class Scope:
    """The rights of one user at one moment, computed once per request."""

    user_id: int | None
    roles: frozenset[str] = frozenset()
    # role -> subtree paths the role covers
    paths_by_role: dict[str, tuple[str, ...]] = field(default_factory=dict)
    department_ids: frozenset[int] = frozenset()
    is_superuser: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def paths(self, roles: Iterable[str] | None = None) -> tuple[str, ...]:
        wanted = self.paths_by_role.keys() if roles is None else roles
        return _minimal_prefixes(p for role in wanted for p in self.paths_by_role.get(role, ()))

    def has_role(self, roles: Iterable[str]) -> bool:
        return self.is_superuser or bool(self.roles & set(roles))

    def covers(self, path: str, roles: Iterable[str] | None = None) -> bool:
        if self.is_superuser:
            return True
        return any(path.startswith(prefix) for prefix in self.paths(roles))

    def grid_q(self, field_name: str = "path", roles: Iterable[str] | None = None) -> Q:
        """A filter selecting rows whose grid path lies in this scope (nothing for no scope)."""
        if self.is_superuser:
            return Q()
        prefixes = self.paths(roles)
        if not prefixes:
            return Q(pk__in=[])
        query = Q()
        for prefix in prefixes:
            query |= Q(**{f"{field_name}__startswith": prefix})
        return query

    @functools.cached_property
    def city_ids(self) -> tuple[int, ...]:
        """The cities this user holds any role in (a department's through its jurisdiction)."""
        cities = {city_of(p) for paths in self.paths_by_role.values() for p in paths}
        return tuple(sorted(c for c in cities if c is not None))

    def city_q(self, field_name: str = "city_id") -> Q:
        """A filter naming the user's cities, which every query of a distributed table carries
        (`zhiwang.common.distribution`); a superuser's reads span every city."""
        if self.is_superuser:
            return Q()
        return Q(**{f"{field_name}__in": self.city_ids})

    def requires_second_factor(self) -> bool:
        return bool(self.roles & NEEDS_SECOND_FACTOR)


ANONYMOUS_SCOPE = Scope(user_id=None)


def assignment_active_q(prefix: str = "") -> Q:
    """Role assignments in force today (started, and not ended before today)."""
    today = timezone.localdate()
    return Q(**{f"{prefix}starts_on__lte": today}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": today})
    )


def active_assignments(user_id: int) -> Any:
    # Polygons are large (a city outline has thousands of vertices) and rights need only paths.
    return (
        RoleAssignment.objects.filter(assignment_active_q(), user_id=user_id)
        .select_related("grid", "department__jurisdiction")
        .defer(
            *(
                f"{prefix}__{field}"
                for prefix in ("grid", "department__jurisdiction")
                for field in ("geometry", "properties")
            )
        )
    )


def scope_for(user: AbstractBaseUser | AnonymousUser | None) -> Scope:
    """The scope of `user`, cached on the user object for the rest of the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS_SCOPE
    cached: Scope | None = getattr(user, "_zhiwang_scope", None)
    if cached is not None:
        return cached
    assert isinstance(user, User)
    paths: dict[str, list[str]] = {}
    departments: set[int] = set()
    for assignment in active_assignments(user.pk):
        if assignment.grid is not None:
            if assignment.grid.valid_to is None:
                paths.setdefault(assignment.role, []).append(assignment.grid.path)
        elif assignment.department is not None and assignment.department.is_active:
            departments.add(assignment.department.pk)
            # A handler reads the grids of the department's jurisdiction.
            paths.setdefault(assignment.role, []).append(assignment.department.jurisdiction.path)
    scope = Scope(
        user_id=user.pk,
        roles=frozenset(paths),
        paths_by_role={role: _minimal_prefixes(p) for role, p in paths.items()},
        department_ids=frozenset(departments),
        is_superuser=user.is_superuser,
    )
    user.__dict__["_zhiwang_scope"] = scope  # per-request cache on the user object
    return scope


def forget_scope(user: AbstractBaseUser) -> None:
    if hasattr(user, "_zhiwang_scope"):
        del user._zhiwang_scope


def require_authenticated(user: AbstractBaseUser | AnonymousUser | None) -> Scope:
    scope = scope_for(user)
    if not scope.is_authenticated:
        raise PermissionDenied("Sign in first.", code="not_authenticated")
    return scope


def require_staff_role(user: AbstractBaseUser | AnonymousUser | None) -> Scope:
    """Any active staff role at all: the minimum for every staff endpoint."""
    scope = require_authenticated(user)
    if not scope.roles and not scope.is_superuser:
        raise PermissionDenied("Your account holds no role.", code="no_role")
    return scope


def check_admin_of(user: AbstractBaseUser | AnonymousUser | None, path: str) -> Scope:
    """The user administers the node at `path` (an administrator of it or of an ancestor)."""
    scope = require_staff_role(user)
    if not scope.covers(path, CAN_ADMINISTER):
        raise PermissionDenied("Only an administrator of this part of the grid tree may do this.")
    return scope


def is_city_path(path: str) -> bool:
    """A top-level grid node ("/<id>/"): a whole city."""
    return path.count("/") == 2 and path.startswith("/") and path.endswith("/")


def check_city_administrator(actor: AbstractBaseUser | AnonymousUser | None, what: str = "do this") -> Scope:
    """An administrator of a whole city, or a superuser: city-wide tables (calendar, categories)."""
    scope = require_staff_role(actor)
    if scope.is_superuser or any(is_city_path(p) for p in scope.paths(CAN_ADMINISTER)):
        return scope
    raise PermissionDenied(
        f"Only an administrator of a whole city may {what}.", code="city_administrator_only"
    )


def check_can_read_path(user: AbstractBaseUser | AnonymousUser | None, path: str) -> Scope:
    """Objects outside a user's scope look the same as objects that do not exist."""
    scope = require_staff_role(user)
    if not scope.covers(path):
        raise NotFound()
    return scope
