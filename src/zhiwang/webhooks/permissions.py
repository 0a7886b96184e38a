"""Who manages webhooks: administrators, for the departments whose jurisdiction they administer."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from zhiwang.accounts.permissions import CAN_ADMINISTER, Scope, check_admin_of, require_staff_role
from zhiwang.common.errors import PermissionDenied

Actor = AbstractBaseUser | AnonymousUser | None


def check_can_manage_webhooks(actor: Actor) -> Scope:
    """An administrator of some part of the tree (or a superuser): the minimum to see webhooks."""
    scope = require_staff_role(actor)
    if not scope.has_role(CAN_ADMINISTER):
        raise PermissionDenied("Only administrators manage webhooks.", code="administrators_only")
    return scope


def check_manages_department(actor: Actor, jurisdiction_path: str) -> Scope:
    """The actor administers the department's jurisdiction (its city or town, or above)."""
    check_can_manage_webhooks(actor)
    return check_admin_of(actor, jurisdiction_path)
