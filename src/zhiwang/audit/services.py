"""Writing to the audit log. Call inside the transaction of the change being recorded."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.utils import timezone

from zhiwang.accounts.models import User
from zhiwang.accounts.permissions import scope_for
from zhiwang.audit.models import AuditEntry
from zhiwang.common.origin import Origin
from zhiwang.grids import locate as locating
from zhiwang.grids.models import city_of


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    origin: Origin,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_label: str = "",
    scope_path: str = "",
    details: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:200]
        scope_path = scope_path or str(getattr(obj, "path", "") or "")
    user = actor if isinstance(actor, User) else None
    return AuditEntry.objects.create(
        city_id=_city_of_entry(scope_path, actor),
        at=timezone.now(),
        actor=user,
        actor_label=actor_label or (user.get_username() if user is not None else ""),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_label=object_label[:200],
        scope_path=scope_path,
        channel=origin.channel,
        ip=origin.ip,
        user_agent=origin.user_agent,
        details=details or {},
    )


def _city_of_entry(scope_path: str, actor: AbstractBaseUser | AnonymousUser | None) -> int:
    """The city of the entry's place; for an entry without one (a sign-in, a token), the actor's
    first city, else the deployment's only city; 0 if none of these names one."""
    city = city_of(scope_path)
    if city is not None:
        return city
    cities = scope_for(actor).city_ids
    if cities:
        return cities[0]
    served = locating.city_ids()
    return served[0] if len(served) == 1 else 0


def audit_read(
    *,
    actor: AbstractBaseUser,
    origin: Origin,
    object_type: str,
    object_ids: Iterable[str | int],
    action: str = "read",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record that personal data of these objects was shown to `actor` (one row per response)."""
    ids = [str(i) for i in object_ids]
    return audit_record(
        actor=actor,
        action=action,
        origin=origin,
        object_type=object_type,
        object_id=ids[0] if len(ids) == 1 else "",
        details={"ids": ids, **(details or {})},
    )
