"""A case's deadline on the working calendar.

The limit is a budget of office time (working hours or working days, from the category), counted
from the first dispatch. The clock stops while the case is parked or an extension request is
pending: the office time spent stopped is added to the budget when it restarts. The light is green
until 80% of the budget is used, yellow until the deadline, red after it.
"""

from __future__ import annotations

from datetime import datetime

from zhiwang.cases.models import Case, Light
from zhiwang.workcalendar.hours import WorkingCalendar
from zhiwang.workcalendar.selectors import working_calendar

YELLOW_AT = 0.8


def start(case: Case, now: datetime, limit_seconds: int | None) -> None:
    """Start the clock at the first dispatch (a re-dispatch after a return keeps it running)."""
    if case.clock_started_at is None and limit_seconds:
        case.clock_started_at = now
        case.limit_seconds = limit_seconds
        recompute_due(case)


def budget(case: Case) -> int:
    return (case.limit_seconds or 0) + case.extension_seconds


def recompute_due(case: Case) -> None:
    if case.clock_started_at is None or not case.limit_seconds:
        case.due_at = None
        return
    case.due_at = working_calendar().add_working_seconds(
        case.clock_started_at, budget(case) + case.paused_seconds
    )


def pause(case: Case, now: datetime) -> None:
    if case.paused_since is None and case.clock_started_at is not None:
        case.paused_since = now


def resume(case: Case, now: datetime) -> None:
    if case.paused_since is not None:
        case.paused_seconds += working_calendar().working_seconds(case.paused_since, now)
        case.paused_since = None
        recompute_due(case)


def used_seconds(case: Case, now: datetime, calendar: WorkingCalendar | None = None) -> int:
    if case.clock_started_at is None:
        return 0
    end = case.paused_since or case.handled_at or now
    calendar = calendar or working_calendar()
    return max(0, calendar.working_seconds(case.clock_started_at, end) - case.paused_seconds)


def light(case: Case, now: datetime, calendar: WorkingCalendar | None = None) -> str:
    """The traffic light; pass `calendar` when computing many lights at once."""
    if case.clock_started_at is None or not case.limit_seconds:
        return Light.NONE
    if case.paused_since is not None:
        return Light.STOPPED
    used = used_seconds(case, now, calendar)
    total = budget(case)
    if used >= total:
        return Light.RED
    if used >= YELLOW_AT * total:
        return Light.YELLOW
    return Light.GREEN


def is_overdue(case: Case, now: datetime) -> bool:
    return case.due_at is not None and case.paused_since is None and now > case.due_at
