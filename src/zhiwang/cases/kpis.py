"""Performance figures for any grid node, department, grid worker and period (GB/T 30428.4 practice).

The cohort (`selectors.case_cohort`) is the cases reported in the period within the reader's
scope (and the chosen node, department or reporter). Every figure is a count over those cases;
`docs/kpis.md` gives each formula.

Two ways to the same numbers: `compute` counts a cohort's cases with conditional aggregates, and
`report` answers the common questions (the whole city, a town, a department, any period) from the
daily rollups (`zhiwang.cases.rollups`) plus a count of the partial days at the period's edges, so a
city's figures over years of cases come back in milliseconds. Both count each case the same way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from zhiwang.accounts.permissions import Scope, scope_for
from zhiwang.cases import rollups
from zhiwang.cases.models import WATCHED_STATUSES, Case, Status
from zhiwang.cases.rollups import Tally
from zhiwang.cases.selectors import case_cohort
from zhiwang.grids.models import GridNode

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


def _on_time_q() -> Q:
    return Q(due_at__isnull=True) | Q(handled_at__lte=F("due_at"))


def raw_tally(cases: QuerySet[Case]) -> Tally:
    """The additive counters of a cohort counted over its cases (as `rollups.contribution` does)."""
    handled_q = Q(handled_at__isnull=False)
    row = cases.aggregate(
        reported=Count("pk"),
        rejected=Count("pk", filter=Q(status=Status.REJECTED)),
        accepted=Count("pk", filter=Q(accepted_at__isnull=False)),
        self_handled=Count("pk", filter=Q(self_handled=True)),
        dispatched=Count("pk", filter=Q(dispatched_at__isnull=False)),
        dispatched_on_time=Count(
            "pk", filter=Q(dispatched_at__isnull=False, dispatched_at__lte=F("dispatch_due_at"))
        ),
        handled=Count("pk", filter=handled_q),
        handled_on_time=Count("pk", filter=handled_q & _on_time_q()),
        handled_late=Count("pk", filter=handled_q & Q(due_at__isnull=False, handled_at__gt=F("due_at"))),
        closed=Count("pk", filter=Q(status=Status.CLOSED)),
        closed_on_time=Count("pk", filter=Q(status=Status.CLOSED) & _on_time_q()),
        reworked=Count("pk", filter=Q(rework_count__gt=0)),
        extended=Count("pk", filter=Q(extension_seconds__gt=0)),
        parked=Count("pk", filter=Q(status=Status.PARKED)),
        rated=Count("pk", filter=Q(rating__isnull=False)),
        satisfied=Count("pk", filter=Q(rating__gte=rollups.SATISFIED)),
        rating_sum=Sum("rating", default=0),
    )
    tally = Tally(Counter({name: value for name, value in row.items() if value}))
    timed = cases.filter(handled_q, dispatched_at__isnull=False).values_list("dispatched_at", "handled_at")
    for dispatched_at, handled_at in timed.iterator(chunk_size=5000):
        seconds = (handled_at - dispatched_at).total_seconds()  # type: ignore[operator]  # both non-null
        tally.counts["timed"] += 1
        tally.counts["handling_seconds"] += int(seconds)
        tally.buckets[rollups.bucket(seconds)] += 1
    return tally


def overdue_unhandled(cases: QuerySet[Case], now: datetime) -> int:
    """Open, not handled, past the deadline with the clock running, not parked: depends on `now`,
    so it is always counted over the cases (few: the open ones), never rolled up."""
    return cases.filter(
        handled_at__isnull=True,
        due_at__lt=now,
        paused_since__isnull=True,
        status__in=WATCHED_STATUSES,
    ).count()


def finish(tally: Tally, overdue_open: int) -> Kpis:
    c = tally.counts
    reported = c["reported"]
    valid = reported - c["rejected"]
    found = c["accepted"] + c["self_handled"]
    due_to_close = c["handled"] + overdue_open
    median = tally.median_bucket()
    return Kpis(
        reported=reported,
        valid=valid,
        accepted=c["accepted"],
        self_handled=c["self_handled"],
        found=found,
        dispatched=c["dispatched"],
        dispatched_on_time=c["dispatched_on_time"],
        handled=c["handled"],
        handled_on_time=c["handled_on_time"],
        overdue_unhandled=overdue_open,
        due_to_close=due_to_close,
        closed=c["closed"],
        closed_on_time=c["closed_on_time"],
        reworked=c["reworked"],
        extended=c["extended"],
        parked=c["parked"],
        overdue=c["handled_late"] + overdue_open,
        rated=c["rated"],
        satisfied=c["satisfied"],
        acceptance_rate=_rate(c["accepted"], valid),
        valid_report_rate=_rate(valid, reported),
        on_time_dispatch_rate=_rate(c["dispatched_on_time"], c["dispatched"]),
        handling_rate=_rate(c["handled"], found),
        on_time_handling_rate=_rate(c["handled_on_time"], c["handled"]),
        closure_rate=_rate(c["closed"], due_to_close),
        on_time_closure_rate=_rate(c["closed_on_time"], due_to_close),
        rework_rate=_rate(c["reworked"], c["handled"]),
        extension_rate=_rate(c["extended"], c["dispatched"]),
        self_handling_rate=_rate(c["self_handled"], found),
        satisfaction_rate=_rate(c["satisfied"], c["rated"]),
        mean_rating=round(c["rating_sum"] / c["rated"], 3) if c["rated"] else None,
        mean_handling_hours=round(c["handling_seconds"] / c["timed"] / 3600, 3) if c["timed"] else None,
        median_handling_hours=median / 10 if median is not None else None,
    )


def compute(cases: QuerySet[Case], now: datetime | None = None) -> Kpis:
    """The figures of any cohort, counted over its cases."""
    return finish(raw_tally(cases), overdue_unhandled(cases, now or timezone.now()))


def _whole_days(
    since: datetime | None, until: datetime | None
) -> tuple[date | None, date | None, datetime | None, datetime | None]:
    """Split [since, until) into whole local days [first_day, end_day) and the partial days around
    them, [since, head_end) and [tail_start, until); None where there is nothing to split."""
    zone = ZoneInfo(settings.TIME_ZONE)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=zone)

    first_day = end_day = None
    head_end = tail_start = None
    if since is not None:
        local = since.astimezone(zone)
        first_day = local.date() if local == midnight(local.date()) else local.date() + timedelta(days=1)
        head_end = midnight(first_day) if since < midnight(first_day) else None
    if until is not None:
        end_day = until.astimezone(zone).date()
        tail_start = midnight(end_day) if until > midnight(end_day) else None
    return first_day, end_day, head_end, tail_start


def _single_area(scope: Scope) -> GridNode | None:
    """The one grid subtree a reader's view consists of, if it is exactly one (no department)."""
    if scope.is_superuser or scope.department_ids:
        return None
    paths = scope.paths()
    if len(paths) != 1:
        return None
    return GridNode.objects.only("pk", "path").filter(path=paths[0]).first()


def report(
    *,
    actor: Actor,
    node: GridNode | None = None,
    department_id: int | None = None,
    reporter_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> Kpis:
    """The figures for a node, department or reporter and a period, as the reader may see them.
    From the rollups when they hold exactly the reader's cohort, otherwise counted over the cases.
    Without a node, a reader whose view is one area (a commander, a leader) gets that area's figures."""
    now = now or timezone.now()
    if node is None:
        node = _single_area(scope_for(actor))
    within = node.path if node is not None else None

    def cohort(start: datetime | None, end: datetime | None) -> QuerySet[Case]:
        return case_cohort(
            actor=actor,
            since=start,
            until=end,
            within_path=within,
            department_id=department_id,
            reporter_id=reporter_id,
        )

    everything = cohort(since, until)  # also checks the reader's role
    scope = scope_for(actor)
    sees_all = scope.is_superuser or (node is not None and scope.covers(node.path))
    first_day, end_day, head_end, tail_start = _whole_days(since, until)
    if (
        reporter_id is not None
        or not sees_all
        or not rollups.covers(node)
        or (first_day is not None and end_day is not None and first_day >= end_day)
    ):
        return compute(everything, now)
    tally = rollups.totals(node=node, department_id=department_id, first_day=first_day, end_day=end_day)
    if head_end is not None:
        tally.add(raw_tally(cohort(since, head_end)))
    if tail_start is not None:
        tally.add(raw_tally(cohort(tail_start, until)))
    return finish(tally, overdue_unhandled(everything, now))
