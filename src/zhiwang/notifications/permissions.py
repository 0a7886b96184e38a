"""Who may look into the outbox: administrators (of any part of the tree) and superusers."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from zhiwang.accounts.permissions import CAN_ADMINISTER, Scope, require_staff_role
from zhiwang.common.errors import PermissionDenied


def check_can_manage_outbox(actor: AbstractBaseUser | AnonymousUser | None) -> Scope:
    scope = require_staff_role(actor)
    if not scope.has_role(CAN_ADMINISTER):
        raise PermissionDenied("Only administrators see the outbox.")
    return scope
