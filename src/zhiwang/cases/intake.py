"""Intake: a report from any channel becomes a case, exactly once per idempotency key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from zhiwang.accounts.models import Role
from zhiwang.accounts.permissions import Scope, scope_for
from zhiwang.cases import steps
from zhiwang.cases.models import Case, CaseEvent, Channel, Status, Urgency
from zhiwang.cases.steps import (
    Actor,
    category_for,
    record_audit,
    record_event,
    user_of,
)
from zhiwang.common.errors import PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate as locating
from zhiwang.grids.models import GridNode, city_of
from zhiwang.workcalendar.selectors import working_calendar

TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Reported:
    case: Case
    created: bool  # False when the idempotency key had already created this case
    # For a new case: its timeline and overlay grid codes as written, so an answer needs no re-read.
    timeline: list[CaseEvent] = field(default_factory=list)
    overlay_codes: list[str] = field(default_factory=list)


def _tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def _city_of_report(grid: GridNode | None, scope: Scope) -> int:
    """The city of the grid the report lies in; outside every grid, the reporter's only city, else
    the deployment's home city."""
    if grid is not None:
        return city_of(grid.path) or 0
    if len(scope.city_ids) == 1:
        return scope.city_ids[0]
    return locating.home_city_id()


def case_report(
    *,
    actor: Actor,
    channel: str,
    lon: float,
    lat: float,
    origin: Origin,
    description: str,
    system: str = "wgs84",
    address: str = "",
    category_code: str | None = None,
    urgency: str = Urgency.NORMAL,
    idempotency_key: str | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    external_ref: str = "",
    extra: dict[str, Any] | None = None,
    self_handled: bool = False,
    at: datetime | None = None,
) -> Reported:
    """Take a report from any channel. A retried submission with the same idempotency key returns
    the case the first one created, never a second case."""
    scope = scope_for(actor)
    if channel not in Channel.values:
        raise ValidationFailed(f"Unknown channel {channel!r}.", code="bad_channel")
    if channel == Channel.RESIDENT:
        if not reporter_phone.strip():
            raise ValidationFailed(
                "A resident's report needs a phone number for the follow-up.", code="phone_required"
            )
    elif channel == Channel.APP:
        # A client application (zhiwang.open311, which checks its key) passes on a person's report.
        if scope.is_authenticated:
            raise PermissionDenied("Staff report through their own channels.", code="staff_not_app")
    elif not scope.is_authenticated or not (scope.roles or scope.is_superuser):
        raise PermissionDenied("Sign in to report through this channel.", code="not_authenticated")
    if channel == Channel.GRID_WORKER and not scope.has_role([Role.GRID_WORKER]):
        raise PermissionDenied("Only grid workers report through the grid-worker channel.")
    if urgency not in Urgency.values:
        raise ValidationFailed(f"Unknown urgency {urgency!r}.", code="bad_urgency")
    if not description.strip():
        raise ValidationFailed("Describe the problem.", code="description_required")
    location = locating.locate(lon, lat, system)
    grid = (
        GridNode.objects.only("pk", "code", "name", "path").filter(pk=location.grid_id).first()
        if location.grid_id
        else None
    )
    city_id = _city_of_report(grid, scope)
    key = (idempotency_key or "").strip() or None
    if key is not None:
        # A retry reports the same place, so it names the same city as the first submission.
        existing = Case.objects.filter(city_id=city_id, idempotency_key=key).first()
        if existing is not None:
            return Reported(existing, created=False)
    category = category_for(category_code)
    if self_handled and (channel != Channel.GRID_WORKER or location.grid_id is None):
        raise ValidationFailed(
            "Only a grid worker handles a problem on the spot, inside a grid.", code="bad_self_handle"
        )
    now = at or steps.now()
    try:
        with transaction.atomic():
            case = Case(
                tracking_code=_tracking_code(),
                channel=channel,
                idempotency_key=key,
                reporter=user_of(actor) if channel not in (Channel.RESIDENT, Channel.APP) else None,
                reporter_name=reporter_name.strip()[:60],
                reporter_phone=reporter_phone.strip()[:20],
                external_ref=external_ref[:64],
                lon=location.lon,
                lat=location.lat,
                source_system=location.source_system,
                source_lon=location.source_lon,
                source_lat=location.source_lat,
                address=address.strip()[:200],
                grid=grid,
                grid_path=grid.path if grid else "",
                city_id=city_id,
                category=category,
                description=description.strip(),
                urgency=urgency,
                extra=extra or {},
                reported_at=now,
                dispatch_due_at=working_calendar().add_working_seconds(
                    now, int(settings.ZHIWANG_DISPATCH_LIMIT_WORKING_HOURS * 3600)
                ),
            )
            case.save()
            case.number = f"{timezone.localtime(now):%Y%m%d}{case.pk:07d}"
            case.save(update_fields=["number"])
            if location.overlay_ids:
                Case.overlay_grids.through.objects.bulk_create(
                    Case.overlay_grids.through(case_id=case.pk, gridnode_id=grid_id)
                    for grid_id in location.overlay_ids
                )
            timeline = [
                record_event(
                    case,
                    "report",
                    actor,
                    before="",
                    at=now,
                    channel=channel,
                    grid=grid.code if grid else None,
                )
            ]
            record_audit(case, "report", actor, origin, channel=channel)
            if self_handled:
                before = case.status
                case.status = Status.CLOSED
                case.self_handled = True
                case.handled_at = case.verified_at = case.closed_at = now
                case.save(update_fields=["status", "self_handled", "handled_at", "verified_at", "closed_at"])
                timeline.append(record_event(case, "self_handle", actor, before=before, at=now))
                record_audit(case, "self_handle", actor, origin)
    except IntegrityError:
        # Two retries raced on the same key: the other one won; answer with its case.
        if key is not None:
            existing = Case.objects.filter(city_id=city_id, idempotency_key=key).first()
            if existing is not None:
                return Reported(existing, created=False)
        raise
    return Reported(case, created=True, timeline=timeline, overlay_codes=list(location.overlay_codes))
