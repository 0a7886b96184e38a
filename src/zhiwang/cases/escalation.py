"""The deadline watch, run by `zhiwang worker`: warn before deadlines, escalate overdue cases one
level up the platform (community → town → city), once per level and at most once a working day."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from zhiwang.audit.services import audit_record
from zhiwang.cases import clock
from zhiwang.cases import selectors as reads
from zhiwang.cases.models import WATCHED_STATUSES, Case, CaseEvent, Light
from zhiwang.cases.notices import tell
from zhiwang.common.origin import Origin
from zhiwang.workcalendar.selectors import working_calendar

LEVEL_NAMES = ["社区", "镇街", "市"]


def scan_deadlines(now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """One pass over running clocks. Returns how many cases were warned and escalated."""
    now = now or timezone.now()
    calendar = working_calendar()
    day = calendar.office_seconds_per_day
    running = Case.objects.filter(
        status__in=WATCHED_STATUSES,
        due_at__isnull=False,
        paused_since__isnull=True,
        handled_at__isnull=True,
    )
    warned = escalated = 0
    # The scan spans every city; each case is then locked by its city and id.
    for case_id, city_id in running.filter(warned_at__isnull=True).values_list("pk", "city_id")[:batch]:
        with transaction.atomic():
            case = (
                Case.objects.select_for_update()
                .filter(city_id=city_id, pk=case_id, warned_at__isnull=True)
                .first()
            )
            if case is None or clock.light(case, now) not in (Light.YELLOW, Light.RED):
                continue
            case.warned_at = now
            case.save(update_fields=["warned_at"])
            CaseEvent.objects.create(
                case=case,
                city_id=case.city_id,
                kind="warn",
                at=now,
                from_status=case.status,
                to_status=case.status,
                data={"due_at": case.due_at.isoformat() if case.due_at else None},
            )
            tell(
                reads.handlers_of(case),
                case,
                "案件即将超期",
                f"案件 {case.number} 将于 {timezone.localtime(case.due_at):%m-%d %H:%M} 到期。",
            )
            warned += 1
    for case_id, city_id in running.filter(due_at__lt=now, escalation_level__lt=2).values_list(
        "pk", "city_id"
    )[:batch]:
        with transaction.atomic():
            case = Case.objects.select_for_update().filter(city_id=city_id, pk=case_id).first()
            if case is None or not clock.is_overdue(case, now) or case.escalation_level >= 2:
                continue
            if case.escalated_at is not None and calendar.working_seconds(case.escalated_at, now) < day:
                continue
            case.escalation_level += 1
            case.escalated_at = now
            case.save(update_fields=["escalation_level", "escalated_at"])
            level = LEVEL_NAMES[case.escalation_level]
            CaseEvent.objects.create(
                case=case,
                city_id=case.city_id,
                kind="escalate",
                at=now,
                from_status=case.status,
                to_status=case.status,
                data={"level": case.escalation_level},
            )
            audit_record(
                actor=None,
                action="case.escalate",
                origin=Origin.system(),
                obj=case,
                scope_path=case.grid_path,
                details={"level": case.escalation_level},
            )
            tell(
                reads.commanders_at(case, case.escalation_level),
                case,
                "超期案件升级",
                f"案件 {case.number} 已超期，升级至{level}指挥中心。",
            )
            escalated += 1
    return {"warned": warned, "escalated": escalated}
