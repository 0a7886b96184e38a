"""Performance figures for any grid node, department, grid worker and period (GB/T 30428.4 practice).

The cohort (`selectors.case_cohort`) is the cases reported in the period within the reader's
scope (and the chosen node, department or reporter). Every figure is a count over those cases,
computed in the database with conditional aggregates; `docs/kpis.md` gives each formula.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
)
from django.utils import timezone

from zhiwang.cases.models import Case, Extension, Status

Actor = AbstractBaseUser | AnonymousUser | None


@dataclass(frozen=True)
class Kpis:
    reported: int  # 上报数
    valid: int  # 有效上报数: reported, not rejected
    accepted: int  # 立案数
    self_handled: int  # 自行处置数
    found: int  # 发现数 = 立案数 + 自行处置数
    dispatched: int  # 派遣数
    dispatched_on_time: int
    handled: int  # 处置数 (including self-handled)
    handled_on_time: int
    overdue_unhandled: int  # open, not handled, past the deadline, not parked
    due_to_close: int  # 应结案数 = handled + overdue_unhandled (parked left out)
    closed: int  # 结案数 (after handling; rejections and merges are not closures)
    closed_on_time: int
    reworked: int
    extended: int
    parked: int
    overdue: int  # 超期数 = handled late + overdue_unhandled
    rated: int
    satisfied: int
    acceptance_rate: float | None  # 立案率 = accepted / valid
    valid_report_rate: float | None  # 有效上报率 = valid / reported
    on_time_dispatch_rate: float | None  # 按时派遣率
    handling_rate: float | None  # 处置率 = handled / found
    on_time_handling_rate: float | None  # 按期处置率 = handled_on_time / handled
    closure_rate: float | None  # 结案率 = closed / due_to_close
    on_time_closure_rate: float | None  # 按期结案率 = closed_on_time / due_to_close
    rework_rate: float | None  # 返工率 = reworked / handled
    extension_rate: float | None  # 延期率 = extended / dispatched
    self_handling_rate: float | None  # 自行处置率 = self_handled / found
    satisfaction_rate: float | None  # 满意率 = satisfied / rated
    mean_rating: float | None
    mean_handling_hours: float | None  # from dispatch to handling, wall-clock hours
    median_handling_hours: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class MedianHours(Aggregate):
    """PostgreSQL's exact median of an interval, in hours."""

    template = "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (%(expressions)s)) / 3600.0)"
    output_field = FloatField()


def _handling_hours(handled: QuerySet[Case]) -> tuple[float | None, float | None]:
    """Mean and median hours from first dispatch to handling, computed in the database where it can."""
    spent = ExpressionWrapper(F("handled_at") - F("dispatched_at"), output_field=DurationField())
    if connection.vendor == "postgresql":
        row = handled.aggregate(mean=Avg(spent), median=MedianHours(spent))
        mean = row["mean"].total_seconds() / 3600 if row["mean"] is not None else None
        median = row["median"]
    else:  # SQLite has no percentile aggregate: the embedded default serves small cities
        hours = [
            (b - a).total_seconds() / 3600  # type: ignore[operator]  # both filtered non-null
            for a, b in handled.values_list("dispatched_at", "handled_at")
        ]
        mean = statistics.fmean(hours) if hours else None
        median = statistics.median(hours) if hours else None
    return (round(mean, 3) if mean is not None else None, round(median, 3) if median is not None else None)


def compute(cases: QuerySet[Case], now: datetime | None = None) -> Kpis:
    now = now or timezone.now()
    handled_q = Q(handled_at__isnull=False)
    on_time_q = Q(due_at__isnull=True) | Q(handled_at__lte=F("due_at"))
    overdue_open_q = Q(handled_at__isnull=True, due_at__lt=now, paused_since__isnull=True) & ~Q(
        status__in=[Status.REJECTED, Status.MERGED, Status.CLOSED, Status.PARKED]
    )
    figures = cases.aggregate(
        reported=Count("pk"),
        rejected=Count("pk", filter=Q(status=Status.REJECTED)),
        accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
        self_handled=Count("pk", filter=Q(self_handled=True)),
        dispatched=Count("pk", filter=Q(dispatched_at__isnull=False)),
        dispatched_on_time=Count(
            "pk", filter=Q(dispatched_at__isnull=False, dispatched_at__lte=F("dispatch_due_at"))
        ),
        handled=Count("pk", filter=handled_q),
        handled_on_time=Count("pk", filter=handled_q & on_time_q),
        overdue_unhandled=Count("pk", filter=overdue_open_q),
        closed=Count("pk", filter=Q(status=Status.CLOSED)),
        closed_on_time=Count("pk", filter=Q(status=Status.CLOSED) & on_time_q),
        handled_late=Count("pk", filter=handled_q & Q(due_at__isnull=False, handled_at__gt=F("due_at"))),
        reworked=Count("pk", filter=Q(rework_count__gt=0)),
        parked=Count("pk", filter=Q(status=Status.PARKED)),
        rated=Count("pk", filter=Q(rating__isnull=False)),
        satisfied=Count("pk", filter=Q(rating__gte=3)),
        mean_rating=Avg("rating"),
    )
    # One pass over the cohort above; the extensions are a semi-join of their own (a correlated
    # subquery per case would make the pass many times slower).
    figures["extended"] = (
        Extension.objects.filter(decision=Extension.Decision.APPROVED, case__in=cases.values("pk"))
        .values("case_id")
        .distinct()
        .count()
    )
    mean_hours, median_hours = _handling_hours(cases.filter(handled_q, dispatched_at__isnull=False))
    reported = figures["reported"]
    valid = reported - figures["rejected"]
    found = figures["accepted"] + figures["self_handled"]
    due_to_close = figures["handled"] + figures["overdue_unhandled"]
    return Kpis(
        reported=reported,
        valid=valid,
        accepted=figures["accepted"],
        self_handled=figures["self_handled"],
        found=found,
        dispatched=figures["dispatched"],
        dispatched_on_time=figures["dispatched_on_time"],
        handled=figures["handled"],
        handled_on_time=figures["handled_on_time"],
        overdue_unhandled=figures["overdue_unhandled"],
        due_to_close=due_to_close,
        closed=figures["closed"],
        closed_on_time=figures["closed_on_time"],
        reworked=figures["reworked"],
        extended=figures["extended"],
        parked=figures["parked"],
        overdue=figures["handled_late"] + figures["overdue_unhandled"],
        rated=figures["rated"],
        satisfied=figures["satisfied"],
        acceptance_rate=_rate(figures["accepted"], valid),
        valid_report_rate=_rate(valid, reported),
        on_time_dispatch_rate=_rate(figures["dispatched_on_time"], figures["dispatched"]),
        handling_rate=_rate(figures["handled"], found),
        on_time_handling_rate=_rate(figures["handled_on_time"], figures["handled"]),
        closure_rate=_rate(figures["closed"], due_to_close),
        on_time_closure_rate=_rate(figures["closed_on_time"], due_to_close),
        rework_rate=_rate(figures["reworked"], figures["handled"]),
        extension_rate=_rate(figures["extended"], figures["dispatched"]),
        self_handling_rate=_rate(figures["self_handled"], found),
        satisfaction_rate=_rate(figures["satisfied"], figures["rated"]),
        mean_rating=round(figures["mean_rating"], 3) if figures["mean_rating"] is not None else None,
        mean_handling_hours=mean_hours,
        median_handling_hours=median_hours,
    )
