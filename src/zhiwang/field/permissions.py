"""Who may use the grid worker app: holders of an active grid worker assignment."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from zhiwang.accounts.models import Role
from zhiwang.accounts.permissions import Scope, require_authenticated
from zhiwang.common.errors import PermissionDenied


def require_grid_worker(user: AbstractBaseUser | AnonymousUser | None) -> Scope:
    """The user's scope, if an active assignment makes them a grid worker (superusers are not)."""
    scope = require_authenticated(user)
    if Role.GRID_WORKER not in scope.roles:
        raise PermissionDenied("The field app is for grid workers.", code="not_grid_worker")
    return scope
