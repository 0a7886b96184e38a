"""吹哨报到: a community or town blows a whistle and named departments must report on the spot.

Response deadlines follow Pinggu's model: an emergency whistle (应急哨) within 30 minutes, a
tackling whistle (攻坚哨) within 2 hours, a daily whistle (日常哨) within 24 hours. A whistle closes
only when every summoned department has reported in and its case is handled ("事不完，人不撤").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from zhiwang.accounts.models import Department, Role
from zhiwang.accounts.permissions import require_staff_role, scope_for
from zhiwang.audit.services import audit_record
from zhiwang.cases import selectors as reads
from zhiwang.cases.models import FINAL_STATUSES, Case, CaseEvent, Status, Whistle, WhistleLevel, WhistleSummon
from zhiwang.cases.permissions import DISPATCH_ROLES, relation
from zhiwang.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode, city_of
from zhiwang.notifications.services import notify

Actor = AbstractBaseUser | AnonymousUser | None
RESPONSE_TIME = {
    WhistleLevel.EMERGENCY: timedelta(minutes=30),
    WhistleLevel.TACKLE: timedelta(hours=2),
    WhistleLevel.DAILY: timedelta(hours=24),
}


def whistle_blow(
    *,
    actor: Actor,
    level: str,
    department_ids: Sequence[int],
    summary: str,
    origin: Origin,
    case_id: int | None = None,
    node_id: int | None = None,
) -> Whistle:
    if level not in WhistleLevel.values:
        raise ValidationFailed(f"Unknown whistle level {level!r}.", code="bad_level")
    if not department_ids:
        raise ValidationFailed("Name the departments to summon.", code="no_departments")
    if not summary.strip():
        raise ValidationFailed("Say what the departments are summoned for.", code="summary_required")
    scope = require_staff_role(actor)
    with transaction.atomic():
        case = None
        if case_id is not None:
            case = Case.objects.select_for_update().filter(scope.city_q(), pk=case_id).first()
            if case is None or not relation(actor, case).reader:
                raise NotFound("No such case.")
            if case.status in FINAL_STATUSES:
                raise Conflict("Whistles are blown for open cases.", code="case_closed")
            node = GridNode.objects.filter(pk=case.grid_id).first() if case.grid_id else None
        else:
            node = GridNode.objects.filter(pk=node_id, valid_to__isnull=True).first() if node_id else None
        if node is None:
            raise ValidationFailed("A whistle is blown for a case or a grid node.", code="no_place")
        if not scope.covers(node.path, DISPATCH_ROLES):
            raise PermissionDenied("Only the community or town covering this place may blow the whistle.")
        departments = list(Department.objects.filter(pk__in=list(department_ids), is_active=True))
        if len(departments) != len(set(department_ids)):
            raise ValidationFailed(
                "Every summoned department must exist and be active.", code="bad_department"
            )
        now = timezone.now()
        whistle = Whistle.objects.create(
            case=case,
            level=level,
            node=node,
            blown_by=actor if scope.user_id else None,  # type: ignore[misc]
            summary=summary,
            blown_at=now,
        )
        respond_by = now + RESPONSE_TIME[WhistleLevel(level)]
        WhistleSummon.objects.bulk_create(
            WhistleSummon(whistle=whistle, department=d, respond_by=respond_by) for d in departments
        )
        if case is not None:
            CaseEvent.objects.create(
                case=case,
                city_id=case.city_id,
                kind="whistle",
                at=now,
                actor_id=scope.user_id,
                from_status=case.status,
                to_status=case.status,
                note=summary,
                data={"level": level, "departments": [d.name for d in departments]},
            )
        audit_record(
            actor=actor,
            action="whistle.blow",
            origin=origin,
            obj=whistle,
            scope_path=node.path,
            details={"level": level, "departments": [d.pk for d in departments]},
        )
        handlers = [
            u for d in departments for u in reads.users_with(Role.DEPARTMENT_HANDLER, department_id=d.pk)
        ]
        notify(
            recipients=handlers,
            subject=f"{WhistleLevel(level).label}",
            body=f"{node.name}吹哨：{summary}。请于 {timezone.localtime(respond_by):%H:%M} 前到场报到。",
            object_type="cases.whistle",
            object_id=str(whistle.pk),
        )
    return whistle


def whistle_report_in(*, actor: Actor, whistle_id: int, origin: Origin, note: str = "") -> WhistleSummon:
    """报到: a summoned department's handler reports on the spot."""
    scope = scope_for(actor)
    with transaction.atomic():
        summons = WhistleSummon.objects.select_for_update().filter(
            whistle_id=whistle_id, department_id__in=sorted(scope.department_ids)
        )
        summon = summons.first()
        if summon is None:
            raise NotFound("Your department is not summoned by this whistle.")
        if summon.reported_at is not None:
            raise Conflict("Your department has already reported in.", code="already_reported")
        summon.reported_at = timezone.now()
        summon.reported_by = actor  # type: ignore[assignment]
        summon.note = note
        summon.save(update_fields=["reported_at", "reported_by", "note"])
        audit_record(
            actor=actor,
            action="whistle.report_in",
            origin=origin,
            obj=summon,
            details={"late": summon.reported_at > summon.respond_by},
        )
    return summon


def whistle_close(*, actor: Actor, whistle_id: int, origin: Origin) -> Whistle:
    scope = require_staff_role(actor)
    with transaction.atomic():
        whistle = (
            Whistle.objects.select_for_update(of=("self",))
            .select_related("node")
            .filter(pk=whistle_id)
            .first()
        )
        if whistle is None or not scope.covers(whistle.node.path):
            raise NotFound("No such whistle.")
        if not scope.covers(whistle.node.path, DISPATCH_ROLES):
            raise PermissionDenied("Only the level that blew the whistle closes it.")
        if whistle.closed_at is not None:
            raise Conflict("The whistle is already closed.", code="closed")
        missing = [
            s.department.name for s in whistle.summons.select_related("department") if s.reported_at is None
        ]
        if missing:
            raise Conflict(
                "Not every department has reported in: " + "、".join(missing),
                code="not_reported",
                details={"missing": missing},
            )
        status = (
            Case.objects.filter(city_id=city_of(whistle.node.path) or 0, pk=whistle.case_id)
            .values_list("status", flat=True)
            .first()
            if whistle.case_id is not None
            else None
        )
        if status is not None and status not in (Status.HANDLED, Status.REVISIT, Status.CLOSED):
            raise Conflict("The problem is not handled yet: 事不完，人不撤.", code="not_handled")
        whistle.closed_at = timezone.now()
        whistle.save(update_fields=["closed_at"])
        audit_record(
            actor=actor, action="whistle.close", origin=origin, obj=whistle, scope_path=whistle.node.path
        )
    return whistle
