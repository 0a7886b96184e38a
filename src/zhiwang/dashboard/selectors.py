"""Reads behind the command center: case figures per grid for the console map, and the dashboard's
headline KPIs, rankings and trend.

Every figure counts cases of `cases.selectors.case_cohort` (the cases the reader may see, reported
in the period, under the node), with the formulas of `docs/kpis.md`, so every figure equals a direct
count over the cases. Rankings and map colours come from one grouped query each (by grid path
prefix, department or reporter), never from one query per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.expressions import Expression
from django.db.models.functions import Left, StrIndex, Substr, TruncMonth
from django.utils import timezone

from zhiwang.accounts.permissions import check_can_read_path
from zhiwang.cases import kpis
from zhiwang.cases.models import OPEN_STATUSES, Case, Channel, Status
from zhiwang.cases.selectors import case_cohort
from zhiwang.common.errors import NotFound
from zhiwang.dashboard.permissions import DASHBOARD_ROLES, check_dashboard_node, check_dashboard_reader
from zhiwang.grids.models import GridNode, Layer

Actor = AbstractBaseUser | AnonymousUser | None

OPEN = sorted(OPEN_STATUSES)
# Open cases whose clock runs: a parked case is open but its deadline is on hold.
RUNNING = sorted(OPEN_STATUSES - {Status.PARKED})
TREND_MONTHS = 12
REPORTER_ROWS = 20
MEASURES = {"handling": "handling_rate", "on_time": "on_time_handling_rate", "reported": "reported"}


def overdue_q(now: datetime) -> Q:
    """Open, not handled, past the deadline, clock running (KPI `overdue_unhandled`)."""
    return Q(status__in=RUNNING, handled_at__isnull=True, due_at__lt=now, paused_since__isnull=True)


def path_prefix(field_name: str, base: str, steps: int) -> Left:
    """SQL for the first `steps` path segments below `base` of a materialised path column: for a case
    under the node at `base`, the path of the child (1) or grandchild (2) of that node it lies in.
    A shorter path yields a prefix that names no node at that depth."""
    length: Expression = Value(len(base))
    for _ in range(steps):
        length = length + StrIndex(Substr(field_name, length + 1), Value("/"))
    return Left(field_name, length)


def path_steps(base: str, path: str) -> int:
    return path.count("/") - base.count("/")


# --- the console map ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenCounts:
    open: int = 0
    overdue: int = 0


@dataclass(frozen=True)
class MapCounts:
    by_path: dict[str, OpenCounts]  # for each path asked about
    total: OpenCounts  # every open case under the node, in a current grid or not


def open_case_counts(*, actor: Actor, node_path: str, paths: Iterable[str], now: datetime) -> MapCounts:
    """Open and overdue cases under each of `paths` (grids below the node at `node_path`): one query
    grouped by path prefix for each depth asked about (the map shows one depth at a time)."""
    wanted = set(paths)
    opened = case_cohort(actor=actor, within_path=node_path).filter(status__in=OPEN)
    by_path: dict[str, OpenCounts] = {}
    totals: list[OpenCounts] = []
    for steps in sorted({path_steps(node_path, p) for p in wanted}) or [1]:
        rows = list(
            opened.annotate(prefix=path_prefix("grid_path", node_path, steps))
            .values("prefix")
            .annotate(open=Count("pk"), overdue=Count("pk", filter=overdue_q(now)))
            .order_by()
        )
        by_path.update(
            {
                row["prefix"]: OpenCounts(row["open"], row["overdue"])
                for row in rows
                if row["prefix"] in wanted
            }
        )
        totals.append(OpenCounts(sum(r["open"] for r in rows), sum(r["overdue"] for r in rows)))
    return MapCounts(by_path=by_path, total=totals[0])


@dataclass(frozen=True)
class Pin:
    id: int
    number: str
    lon: float
    lat: float
    status: str
    category: str
    address: str
    reported_at: datetime
    overdue: bool


def open_case_pins(*, actor: Actor, node_path: str, limit: int, now: datetime) -> list[Pin]:
    """The `limit` most recently reported open cases under the node, for pins on the map."""
    rows = (
        case_cohort(actor=actor, within_path=node_path)
        .filter(status__in=OPEN)
        .order_by("-reported_at", "-pk")
        .values(
            "pk",
            "number",
            "lon",
            "lat",
            "status",
            "address",
            "reported_at",
            "due_at",
            "handled_at",
            "paused_since",
            "category__name",
        )[:limit]
    )
    return [
        Pin(
            id=row["pk"],
            number=row["number"] or "",
            lon=row["lon"],
            lat=row["lat"],
            status=row["status"],
            category=row["category__name"] or "",
            address=row["address"],
            reported_at=row["reported_at"],
            overdue=_is_overdue(row, now),
        )
        for row in rows
    ]


def _is_overdue(row: Mapping[str, Any], now: datetime) -> bool:
    due_at = row["due_at"]
    return (
        row["status"] in RUNNING
        and row["handled_at"] is None
        and row["paused_since"] is None
        and due_at is not None
        and due_at < now
    )


def open_case_points(*, actor: Actor, node_path: str, limit: int) -> list[tuple[float, float]]:
    """Latitude and longitude of up to `limit` open cases under the node, for the heat layer."""
    points = (
        case_cohort(actor=actor, within_path=node_path)
        .filter(status__in=OPEN)
        .order_by("-reported_at", "-pk")
        .values_list("lat", "lon")[:limit]
    )
    return [(lat, lon) for lat, lon in points]


# --- the dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Cases reported in [since, until)."""

    since: datetime
    until: datetime

    @property
    def first_day(self) -> date:
        return timezone.localtime(self.since).date()

    @property
    def last_day(self) -> date:
        return timezone.localtime(self.until - timedelta(microseconds=1)).date()

    @classmethod
    def of_days(cls, first: date, last: date) -> Period:
        zone = timezone.get_default_timezone()
        since = datetime(first.year, first.month, first.day, tzinfo=zone)
        after = last + timedelta(days=1)
        return cls(since, datetime(after.year, after.month, after.day, tzinfo=zone))

    @classmethod
    def of_month(cls, year: int, month: int) -> Period:
        first = date(year, month, 1)
        return cls.of_days(first, _add_months(first, 1) - timedelta(days=1))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Ranked:
    """One row of a ranking: a grid, department or grid worker and its figures in the period."""

    id: int | None
    name: str
    reported: int = 0
    found: int = 0  # 发现数 = accepted + self-handled
    handled: int = 0
    handled_on_time: int = 0
    overdue: int = 0  # handled late + overdue and unhandled
    handling_rate: float | None = None  # handled / found
    on_time_handling_rate: float | None = None  # handled on time / handled


@dataclass(frozen=True)
class MonthFigures:
    month: date
    reported: int
    found: int
    handled: int
    handled_on_time: int
    handling_rate: float | None
    on_time_handling_rate: float | None


@dataclass(frozen=True)
class Dashboard:
    node: GridNode
    period: Period
    headline: kpis.Kpis
    children: list[Ranked]
    elsewhere: Ranked | None  # cases under the node in grids redrawn since
    departments: list[Ranked]
    reporters: list[Ranked]
    reporters_total: int
    trend: list[MonthFigures]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _figures(now: datetime) -> dict[str, Count]:
    """The counts a ranking row needs, as conditional aggregates (formulas of `docs/kpis.md`)."""
    handled = Q(handled_at__isnull=False)
    on_time = Q(due_at__isnull=True) | Q(handled_at__lte=F("due_at"))
    return {
        "reported": Count("pk"),
        "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
        "self_handled": Count("pk", filter=Q(self_handled=True)),
        "handled": Count("pk", filter=handled),
        "handled_on_time": Count("pk", filter=handled & on_time),
        "handled_late": Count("pk", filter=handled & Q(due_at__isnull=False, handled_at__gt=F("due_at"))),
        "overdue_unhandled": Count("pk", filter=overdue_q(now)),
    }


_COUNTS = ("reported", "accepted", "self_handled", "handled", "handled_on_time", "handled_late")


def _ranked(key: int | None, name: str, row: Mapping[str, int]) -> Ranked:
    found = row["accepted"] + row["self_handled"]
    return Ranked(
        id=key,
        name=name,
        reported=row["reported"],
        found=found,
        handled=row["handled"],
        handled_on_time=row["handled_on_time"],
        overdue=row["handled_late"] + row["overdue_unhandled"],
        handling_rate=_rate(row["handled"], found),
        on_time_handling_rate=_rate(row["handled_on_time"], row["handled"]),
    )


def _sum(rows: Sequence[Mapping[str, int]]) -> dict[str, int]:
    return {key: sum(row[key] for row in rows) for key in (*_COUNTS, "overdue_unhandled")}


def rank(rows: Iterable[Ranked], measure: str) -> list[Ranked]:
    """Best first by `measure` (a key of MEASURES); rows without a rate last; ties by volume, name."""
    attribute = MEASURES.get(measure, MEASURES["handling"])

    def key(row: Ranked) -> tuple[bool, float, int, str]:
        value = getattr(row, attribute)
        return (value is None, -(value or 0), -row.reported, row.name)

    return sorted(rows, key=key)


def child_ranking(
    cohort: QuerySet[Case], node: GridNode, now: datetime
) -> tuple[list[Ranked], Ranked | None]:
    """Each current child of `node` with its figures (zeros included), from one query grouped by
    path prefix; and the cases under the node that lie in no current child (grids redrawn since)."""
    children = list(
        GridNode.objects.filter(parent_id=node.pk, valid_to__isnull=True, layer=Layer.ADMIN)
        .order_by("code")
        .values_list("pk", "name", "path")
    )
    grouped = {
        row["prefix"]: row
        for row in cohort.annotate(prefix=path_prefix("grid_path", node.path, 1))
        .values("prefix")
        .annotate(**_figures(now))
        .order_by()
    }
    empty = dict.fromkeys((*_COUNTS, "overdue_unhandled"), 0)
    ranked = [_ranked(pk, name, grouped.pop(path, empty)) for pk, name, path in children]
    rest = list(grouped.values())
    elsewhere = _ranked(None, "", _sum(rest)) if rest and children else None
    return ranked, elsewhere


def department_ranking(cohort: QuerySet[Case], now: datetime) -> list[Ranked]:
    """Every department handling cases of the cohort, from one query grouped by department."""
    rows = (
        cohort.filter(department__isnull=False)
        .values("department_id", "department__name")
        .annotate(**_figures(now))
        .order_by()
    )
    return [_ranked(row["department_id"], row["department__name"], row) for row in rows]


def reporter_ranking(cohort: QuerySet[Case], now: datetime) -> list[Ranked]:
    """Every grid worker who reported cases of the cohort from the field, from one grouped query."""
    rows = (
        cohort.filter(reporter__isnull=False, channel=Channel.GRID_WORKER)
        .values("reporter_id", "reporter__display_name", "reporter__username")
        .annotate(**_figures(now))
        .order_by()
    )
    return [
        _ranked(row["reporter_id"], row["reporter__display_name"] or row["reporter__username"], row)
        for row in rows
    ]


def monthly_trend(*, actor: Actor, node: GridNode, last_month: date, now: datetime) -> list[MonthFigures]:
    """The figures of each of the `TREND_MONTHS` months up to `last_month`, from one grouped query."""
    first = _add_months(last_month.replace(day=1), 1 - TREND_MONTHS)
    period = Period.of_days(first, _add_months(last_month, 1) - timedelta(days=1))
    zone = timezone.get_default_timezone()
    rows = {
        timezone.localtime(row["month"], zone).date(): row
        for row in case_cohort(actor=actor, since=period.since, until=period.until, within_path=node.path)
        .annotate(month=TruncMonth("reported_at", tzinfo=zone))
        .values("month")
        .annotate(**_figures(now))
        .order_by()
    }
    trend = []
    for index in range(TREND_MONTHS):
        month = _add_months(first, index)
        ranked = _ranked(None, "", rows.get(month, dict.fromkeys((*_COUNTS, "overdue_unhandled"), 0)))
        trend.append(
            MonthFigures(
                month=month,
                reported=ranked.reported,
                found=ranked.found,
                handled=ranked.handled,
                handled_on_time=ranked.handled_on_time,
                handling_rate=ranked.handling_rate,
                on_time_handling_rate=ranked.on_time_handling_rate,
            )
        )
    return trend


def dashboard_roots(*, actor: Actor) -> list[GridNode]:
    """Where the actor's dashboard starts: the top nodes they lead or command (403 for other roles)."""
    scope = check_dashboard_reader(actor)
    nodes = GridNode.objects.filter(valid_to__isnull=True, layer=Layer.ADMIN).defer("geometry", "properties")
    if scope.is_superuser:
        return list(nodes.filter(depth=0).order_by("code"))
    return list(nodes.filter(path__in=scope.paths(DASHBOARD_ROLES)).order_by("depth", "code"))


def dashboard_node(*, actor: Actor, grid_id: int) -> GridNode:
    """A grid node for the dashboard: 404 outside the actor's scope, 403 where they neither lead
    nor command."""
    node = GridNode.objects.defer("geometry", "properties").filter(pk=grid_id, layer=Layer.ADMIN).first()
    if node is None:
        raise NotFound("No such grid.")
    check_can_read_path(actor, node.path)
    check_dashboard_node(actor, node.path)
    return node


def dashboard_breadcrumbs(*, actor: Actor, node: GridNode) -> list[GridNode]:
    """The nodes above `node` whose dashboard the actor may open, root first."""
    scope = check_dashboard_reader(actor)
    above = GridNode.objects.filter(pk__in=node.ancestor_ids()).defer("geometry", "properties")
    return sorted((n for n in above if scope.covers(n.path, DASHBOARD_ROLES)), key=lambda n: n.depth)


def dashboard(
    *, actor: Actor, node: GridNode, period: Period, measure: str = "handling", now: datetime | None = None
) -> Dashboard:
    """Everything the dashboard shows for `node` (read with `dashboard_node`) in `period`."""
    check_dashboard_node(actor, node.path)
    now = now or timezone.now()
    cohort = case_cohort(actor=actor, since=period.since, until=period.until, within_path=node.path)
    children, elsewhere = child_ranking(cohort, node, now)
    reporters = reporter_ranking(cohort, now)
    return Dashboard(
        node=node,
        period=period,
        # The headline comes from the KPI rollups where they hold the reader's cohort (town, city).
        headline=kpis.report(actor=actor, node=node, since=period.since, until=period.until, now=now),
        children=rank(children, measure),
        elsewhere=elsewhere,
        departments=rank(department_ranking(cohort, now), measure),
        reporters=rank(reporters, measure)[:REPORTER_ROWS],
        reporters_total=len(reporters),
        trend=monthly_trend(actor=actor, node=node, last_month=period.last_day, now=now),
    )
