"""KPI rollups: the additive counters of the KPIs per day, grid node and department, kept exact.

Every save of a case compares what the case counted for before with what it counts for now and, in
the same transaction, writes the difference as a `KpiDelta` row (insert-only, so concurrent
transitions never wait on a shared counter row). The worker folds deltas into `KpiCell` rows, one per
(node, department, day of report), for the nodes of the top two levels (city, town/street) and for
"every case" (node 0); department 0 means every department. A reader adds the cells and the deltas
not folded yet in one statement, so a figure read at any moment equals a direct count.

Bulk loads that bypass the models (COPY) call `rebuild()` afterwards.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save, pre_save

from zhiwang.cases.models import KPI_FIELDS, Case, KpiCell, KpiDelta, Status
from zhiwang.grids.models import GridNode, path_ids

logger = logging.getLogger("zhiwang.cases")

COUNTERS = (
    "reported",
    "rejected",
    "accepted",
    "self_handled",
    "dispatched",
    "dispatched_on_time",
    "handled",
    "handled_on_time",
    "handled_late",
    "closed",
    "closed_on_time",
    "reworked",
    "extended",
    "parked",
    "rated",
    "satisfied",
    "rating_sum",
    "timed",
    "handling_seconds",
)
SATISFIED = 3  # a rating of 3 of 5 or better counts as satisfied
LOCK_KEY = 0x7A6B7069  # the PostgreSQL advisory lock that serialises folding and rebuilding
Key = tuple[date, int, int, int]  # day of report, root node, town node, department (0: none)


def bucket(seconds: float) -> int:
    """A handling time's bucket, in tenths of an hour: 0.1 h steps under a day, whole hours under
    30 days, whole days beyond. The median handling time is reported to that resolution."""
    whole = max(0, int(seconds))
    if whole < 86_400:
        return whole // 360
    if whole < 30 * 86_400:
        return (whole // 3600) * 10
    return (whole // 86_400) * 240


@dataclass
class Tally:
    """Additive counters and the handling-time histogram of a set of cases."""

    counts: Counter[str] = field(default_factory=Counter)
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, other: Tally, sign: int = 1) -> None:
        for name, value in other.counts.items():
            self.counts[name] += sign * value
        for key, value in other.buckets.items():
            self.buckets[key] += sign * value

    def add_row(self, values: Iterable[Any], buckets: Mapping[str, int]) -> None:
        for name, value in zip(COUNTERS, values, strict=True):
            self.counts[name] += value
        for key, value in buckets.items():
            self.buckets[int(key)] += value

    def is_zero(self) -> bool:
        return not any(self.counts.values()) and not any(self.buckets.values())

    def columns(self) -> dict[str, Any]:
        return {
            **{name: self.counts[name] for name in COUNTERS},
            "handling_buckets": {str(k): v for k, v in sorted(self.buckets.items()) if v},
        }

    def median_bucket(self) -> int | None:
        """The lower median of the handling-time buckets."""
        total = sum(self.buckets.values())
        if not total:
            return None
        rank = (total - 1) // 2
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen > rank:
                return key
        return None  # unreachable with non-negative counts


def contribution(values: Mapping[str, Any]) -> Tally:
    """What one case (its KPI fields) adds to the counters. `kpis.raw_tally` counts the same way."""
    status = values["status"]
    handled_at: datetime | None = values["handled_at"]
    dispatched_at: datetime | None = values["dispatched_at"]
    due_at: datetime | None = values["due_at"]
    rating: int | None = values["rating"]
    handled = handled_at is not None
    on_time = due_at is None or (handled_at is not None and handled_at <= due_at)
    closed = status == Status.CLOSED
    dispatch_due = values["dispatch_due_at"]
    counts = Counter(
        {
            "reported": 1,
            "rejected": int(status == Status.REJECTED),
            "accepted": int(values["accepted_at"] is not None),
            "self_handled": int(bool(values["self_handled"])),
            "dispatched": int(dispatched_at is not None),
            "dispatched_on_time": int(
                dispatched_at is not None and dispatch_due is not None and dispatched_at <= dispatch_due
            ),
            "handled": int(handled),
            "handled_on_time": int(handled and on_time),
            "handled_late": int(handled and due_at is not None and handled_at > due_at),  # type: ignore[operator]
            "closed": int(closed),
            "closed_on_time": int(closed and on_time),
            "reworked": int(values["rework_count"] > 0),
            "extended": int(values["extension_seconds"] > 0),
            "parked": int(status == Status.PARKED),
            "rated": int(rating is not None),
            "satisfied": int(rating is not None and rating >= SATISFIED),
            "rating_sum": rating or 0,
        }
    )
    buckets: Counter[int] = Counter()
    if handled_at is not None and dispatched_at is not None:
        seconds = (handled_at - dispatched_at).total_seconds()
        counts["timed"] = 1
        counts["handling_seconds"] = int(seconds)
        buckets[bucket(seconds)] = 1
    return Tally(counts, buckets)


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def key_of(values: Mapping[str, Any]) -> Key:
    ids = path_ids(values["grid_path"] or "")
    root = ids[0] if ids else 0
    town = ids[1] if len(ids) > 1 else 0
    return (local_day(values["reported_at"]), root, town, values["department_id"] or 0)


CellKey = tuple[int, int, bool, date]  # node, department, whole month, day (a month's first day)


def cell_keys(key: Key) -> set[CellKey]:
    """The cells one case counts in: every case / its root / its town, each for every department and
    for its own department, each for its day and for its month."""
    day, root, town, department = key
    nodes = {0, root, town}  # 0 stands for a missing level too
    departments = {0, department}
    spans = ((False, day), (True, day.replace(day=1)))
    return {(node, dept, month, start) for node in nodes for dept in departments for month, start in spans}


# --- keeping the deltas -------------------------------------------------------------------------


def _record(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
    changes: dict[Key, Tally] = {}
    for values, sign in ((before, -1), (after, 1)):
        if values is not None:
            changes.setdefault(key_of(values), Tally()).add(contribution(values), sign)
    rows = [
        KpiDelta(day=day, root_key=root, town_key=town, department_key=dept, **tally.columns())
        for (day, root, town, dept), tally in changes.items()
        if not tally.is_zero()
    ]
    if rows:
        KpiDelta.objects.bulk_create(rows)


def _ensure_counted(sender: type[Case], instance: Case, raw: bool = False, **kwargs: Any) -> None:
    """Before a case that was not loaded with its KPI fields is saved, read what it counted for."""
    if raw or instance.pk is None or instance._kpi_counted is not None:
        return
    instance._kpi_counted = (
        Case.objects.filter(city_id=instance.city_id, pk=instance.pk).values(*KPI_FIELDS).first()
    )


def _count_save(
    sender: type[Case],
    instance: Case,
    created: bool,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if raw:
        return
    before = None if created else instance._kpi_counted
    if update_fields is not None and before is not None:
        written = {getattr(Case._meta.get_field(name), "attname", name) for name in update_fields}
        if not written & set(KPI_FIELDS):
            return
        after = {name: getattr(instance, name) if name in written else before[name] for name in KPI_FIELDS}
    else:
        after = {name: getattr(instance, name) for name in KPI_FIELDS}
    _record(before, after)
    instance._kpi_counted = after


def _count_delete(sender: type[Case], instance: Case, **kwargs: Any) -> None:
    if instance._kpi_counted is not None:
        _record(instance._kpi_counted, None)


def connect() -> None:
    pre_save.connect(_ensure_counted, sender=Case, dispatch_uid="kpi_rollups_pre_save")
    post_save.connect(_count_save, sender=Case, dispatch_uid="kpi_rollups_post_save")
    post_delete.connect(_count_delete, sender=Case, dispatch_uid="kpi_rollups_post_delete")


# --- folding and rebuilding -----------------------------------------------------------------------


def _lock() -> None:
    """One folder or rebuilder at a time (SQLite's IMMEDIATE transactions already serialise writers)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _apply(cells: dict[CellKey, Tally]) -> None:
    if not cells:
        return
    existing = {
        (cell.node_key, cell.department_key, cell.whole_month, cell.day): cell
        for cell in KpiCell.objects.filter(
            node_key__in={k[0] for k in cells},
            department_key__in={k[1] for k in cells},
            day__in={k[3] for k in cells},
        )
    }
    changed, created = [], []
    for key, tally in cells.items():
        cell = existing.get(key)
        if cell is None:
            created.append(_cell(KpiCell, key, tally))
            continue
        total = Tally()
        total.add_row((getattr(cell, name) for name in COUNTERS), cell.handling_buckets)
        total.add(tally)
        for name, value in total.columns().items():
            setattr(cell, name, value)
        changed.append(cell)
    KpiCell.objects.bulk_create(created, batch_size=2000)
    KpiCell.objects.bulk_update(changed, [*COUNTERS, "handling_buckets"], batch_size=2000)


def _cell(model: Any, key: CellKey, tally: Tally) -> Any:
    node, department, whole_month, day = key
    return model(
        node_key=node, department_key=department, whole_month=whole_month, day=day, **tally.columns()
    )


def fold(limit: int = 20_000) -> int:
    """Fold up to `limit` deltas into their cells; returns how many were folded."""
    with transaction.atomic():
        _lock()
        deltas = list(KpiDelta.objects.order_by("id")[:limit])
        cells: dict[CellKey, Tally] = {}
        for delta in deltas:
            tally = Tally()
            tally.add_row((getattr(delta, name) for name in COUNTERS), delta.handling_buckets)
            for cell in cell_keys((delta.day, delta.root_key, delta.town_key, delta.department_key)):
                cells.setdefault(cell, Tally()).add(tally)
        _apply(cells)
        ids = [delta.pk for delta in deltas]
        for start in range(0, len(ids), 1000):
            KpiDelta.objects.filter(pk__in=ids[start : start + 1000]).delete()
    return len(deltas)


def rebuild(progress: Callable[[int], None] | None = None, models: Any = None) -> int:
    """Recount every cell from the cases (after a bulk load); returns the number of cases counted.
    `models` lets a migration pass its historical models (an object with Case, KpiCell, KpiDelta)."""
    case_model = models.Case if models else Case
    cell_model = models.KpiCell if models else KpiCell
    delta_model = models.KpiDelta if models else KpiDelta
    with transaction.atomic():
        _lock()
        delta_model.objects.all().delete()
        cell_model.objects.all().delete()
        by_key: dict[Key, Tally] = {}
        counted = 0
        for row in case_model.objects.order_by().values_list(*KPI_FIELDS).iterator(chunk_size=20_000):
            values = dict(zip(KPI_FIELDS, row, strict=True))
            by_key.setdefault(key_of(values), Tally()).add(contribution(values))
            counted += 1
            if progress and counted % 500_000 == 0:
                progress(counted)
        cells: dict[CellKey, Tally] = {}
        for key, tally in by_key.items():
            for cell in cell_keys(key):
                cells.setdefault(cell, Tally()).add(tally)
        cell_model.objects.bulk_create(
            (_cell(cell_model, key, tally) for key, tally in cells.items()), batch_size=5000
        )
    return counted


# --- reading -------------------------------------------------------------------------------------


def covers(node: GridNode | None) -> bool:
    """Whether cells exist for this node: every case (None) or a node of the top two levels."""
    return node is None or len(path_ids(node.path)) <= 2


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _cells_q(first_day: date | None, end_day: date | None) -> Q:
    """The cells covering the days [first_day, end_day) exactly: whole months from month cells, the
    days before the first and after the last whole month from day cells."""
    months_from = None if first_day is None else (first_day if first_day.day == 1 else _next_month(first_day))
    months_to = None if end_day is None else end_day.replace(day=1)
    if months_from is not None and months_to is not None and months_from >= months_to:
        days = Q(whole_month=False)  # no whole month inside: days only
        if first_day is not None:
            days &= Q(day__gte=first_day)
        if end_day is not None:
            days &= Q(day__lt=end_day)
        return days
    months = Q(whole_month=True)
    if months_from is not None:
        months &= Q(day__gte=months_from)
    if months_to is not None:
        months &= Q(day__lt=months_to)
    query = months
    if first_day is not None and months_from is not None and first_day < months_from:
        query |= Q(whole_month=False, day__gte=first_day, day__lt=months_from)
    if end_day is not None and months_to is not None and months_to < end_day:
        query |= Q(whole_month=False, day__gte=months_to, day__lt=end_day)
    return query


def totals(
    *, node: GridNode | None, department_id: int | None, first_day: date | None, end_day: date | None
) -> Tally:
    """The counters of the cases reported on days [first_day, end_day) under `node` (None: every case)
    and of `department_id` (None: every department), from the cells and the deltas not folded yet."""
    if not covers(node):
        raise ValueError("KPI cells exist for the top two levels of the grid tree only.")
    cells: QuerySet[Any] = KpiCell.objects.filter(
        _cells_q(first_day, end_day), node_key=node.pk if node else 0, department_key=department_id or 0
    )
    deltas: QuerySet[Any] = KpiDelta.objects.all()
    if first_day is not None:
        deltas = deltas.filter(day__gte=first_day)
    if end_day is not None:
        deltas = deltas.filter(day__lt=end_day)
    if node is not None:
        ids = path_ids(node.path)
        deltas = (
            deltas.filter(root_key=ids[0])
            if len(ids) == 1
            else deltas.filter(root_key=ids[0], town_key=node.pk)
        )
    if department_id:
        deltas = deltas.filter(department_key=department_id)
    columns = (*COUNTERS, "handling_buckets")
    tally = Tally()
    # One statement, so a fold committing meanwhile is seen either as deltas or as cells, never both.
    for row in cells.values_list(*columns).union(deltas.values_list(*columns), all=True):
        tally.add_row(row[:-1], row[-1])
    return tally
