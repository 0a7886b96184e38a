"""Reading the audit log: administrators, within their part of the tree."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from zhiwang.accounts.models import Role
from zhiwang.accounts.permissions import CAN_ADMINISTER, require_staff_role
from zhiwang.audit.models import AuditEntry
from zhiwang.common.errors import PermissionDenied


def audit_list(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """Entries about objects in the administrator's subtree; city-wide administrators see all."""
    scope = require_staff_role(actor)
    if not scope.has_role(CAN_ADMINISTER):
        raise PermissionDenied("Only administrators read the audit log.")
    entries = AuditEntry.objects.filter(scope.city_q())
    if not scope.is_superuser:
        roots = scope.paths([Role.ADMINISTRATOR])
        # Entries with no place (sign-ins, tokens) belong to top-level administrators only.
        top_level = any(path.count("/") == 2 for path in roots)
        place_q = scope.grid_q("scope_path", CAN_ADMINISTER)
        entries = entries.filter(place_q | Q(scope_path="") if top_level else place_q)
    if action:
        entries = entries.filter(action=action)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if since:
        entries = entries.filter(at__gte=since)
    if until:
        entries = entries.filter(at__lt=until)
    return entries.select_related("actor").order_by("-at", "-id")
