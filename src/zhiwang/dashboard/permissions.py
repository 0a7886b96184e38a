"""Who reads the command-center dashboard: leaders and commanders, over the subtrees they hold."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from zhiwang.accounts.models import Role
from zhiwang.accounts.permissions import Scope, require_staff_role
from zhiwang.common.errors import PermissionDenied

Actor = AbstractBaseUser | AnonymousUser | None

# Leaders and the command centers of every level (the community's is its dispatcher).
DASHBOARD_ROLES = frozenset(
    {Role.LEADER, Role.CITY_COMMANDER, Role.TOWN_COMMANDER, Role.COMMUNITY_DISPATCHER}
)


def check_dashboard_reader(actor: Actor) -> Scope:
    """A leader, commander or community dispatcher (or a superuser); 403 for every other role."""
    scope = require_staff_role(actor)
    if not scope.has_role(DASHBOARD_ROLES):
        raise PermissionDenied("Only leaders and command centers read the dashboard.", code="dashboard_only")
    return scope


def check_dashboard_node(actor: Actor, path: str) -> Scope:
    """The node at `path` lies in a subtree the actor leads or commands; 403 otherwise."""
    scope = check_dashboard_reader(actor)
    if not scope.covers(path, DASHBOARD_ROLES):
        raise PermissionDenied(
            "Only leaders and command centers of this area read its dashboard.", code="dashboard_only"
        )
    return scope
