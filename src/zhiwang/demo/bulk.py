"""Load a city's case history in bulk: millions of synthetic cases, each with its report in the
timeline, written with COPY on PostgreSQL and batched INSERTs on SQLite, then counted into the KPI
rollups (`rollups.rebuild`), as an operator does after importing a city's archive.

The rows bypass the services on purpose (the services write one case per transaction); they hold
what the services would have written for a case that went that far.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from zhiwang.accounts.models import Department, DepartmentKind, Role, RoleAssignment, User, WorkerKind
from zhiwang.cases import rollups
from zhiwang.cases.models import Case
from zhiwang.demo import history
from zhiwang.grids.models import GridNode, city_of
from zhiwang.taxonomy.models import Category

DONGGUAN_CASES = 4_500_000  # reports over 2.5 years (4.48 million from 2018 to 2020)
DONGGUAN_WORKERS = 10_000  # full-time, part-time and professional grid workers
CHUNK = 50_000
# The categories most reports fall in (the rest share the remainder evenly): litter, dirty roads,
# street vending and clutter make up most of a city's reports.
CATEGORY_WEIGHTS = {
    "暴露垃圾": 14.0,
    "道路不洁": 9.0,
    "占道经营": 10.0,
    "乱堆物料": 6.0,
    "积存垃圾渣土": 5.0,
    "违法搭建": 3.0,
    "违规张贴小广告": 6.0,
    "非机动车乱停放": 5.0,
}

Progress = Callable[[str], None]

CASE_COLUMNS = (
    "id number tracking_code channel reporter_id reporter_name reporter_phone external_ref lon lat "
    "source_system source_lon source_lat address grid_id grid_path category_id description urgency "
    "extra status parked_from department_id escalation_level supervision_count rework_count "
    "return_count self_handled limit_seconds extension_seconds paused_seconds paused_since "
    "clock_started_at due_at dispatch_due_at rating rating_comment reported_at accepted_at "
    "dispatched_at signed_at handled_at verified_at closed_at updated_at city_id"
).split()
REPORTED_AT, REPORTER = CASE_COLUMNS.index("reported_at"), CASE_COLUMNS.index("reporter_id")
CITY = CASE_COLUMNS.index("city_id")
EVENT_COLUMNS = "case_id kind at actor_id actor_label from_status to_status note data city_id".split()


@dataclass(frozen=True)
class Place:
    grid_id: int
    code: str
    path: str
    lon: float
    lat: float
    team_id: int | None  # the town's law-enforcement team
    fire_id: int | None  # the town's fire station
    workers: tuple[int, ...]

    @property
    def city_id(self) -> int:
        return city_of(self.path) or 0


@dataclass(frozen=True)
class Kind:
    category_id: int
    name: str
    limit_seconds: int
    department_kind: str


@dataclass(frozen=True)
class CityContext:
    places: list[Place]
    kinds: list[Kind]
    departments: dict[str, int]  # the city's department of each kind

    def department_for(self, place: Place, kind: Kind) -> int | None:
        if kind.department_kind == DepartmentKind.URBAN and place.team_id:
            return place.team_id
        if kind.department_kind == DepartmentKind.FIRE and place.fire_id:
            return place.fire_id
        return self.departments.get(kind.department_kind) or place.team_id


def default_case_count(scale: float) -> int:
    """Dongguan's 4.5 million cases at scale 1.0, proportionally fewer for a smaller city."""
    return round(DONGGUAN_CASES * scale)


def city_context() -> CityContext:
    """The demo city's base grids with their workers and teams, and the case categories."""
    teams = dict(Department.objects.filter(jurisdiction__level="town").values_list("code", "pk"))
    workers: dict[int, list[int]] = {}
    for grid_id, user_id in RoleAssignment.objects.filter(role=Role.GRID_WORKER).values_list(
        "grid_id", "user_id"
    ):
        workers.setdefault(grid_id, []).append(user_id)
    grids = GridNode.objects.filter(level="grid", layer="admin", valid_to__isnull=True).order_by("code")
    places = [
        Place(
            grid_id=pk,
            code=code,
            path=path,
            lon=lon,
            lat=lat,
            team_id=teams.get(f"{town}-URBAN"),
            fire_id=teams.get(f"{town}-FIRE"),
            workers=tuple(sorted(workers.get(pk, ()))),
        )
        for pk, code, path, lon, lat, town in grids.values_list(
            "pk", "code", "path", "label_lon", "label_lat", "parent__parent__code"
        )
    ]
    minors = Category.objects.filter(parent__isnull=False, is_active=True, time_limit__isnull=False)
    kinds = [
        Kind(pk, name, (limit or 0) * (3600 if unit == "working_hours" else 27000), kind)
        for pk, name, limit, unit, kind in minors.order_by("code").values_list(
            "pk", "name", "time_limit", "time_unit", "department_kind"
        )
    ]
    departments = dict(
        Department.objects.filter(jurisdiction__level="city").values_list("kind", "pk").order_by("-pk")
    )
    return CityContext(places=places, kinds=kinds, departments=departments)


def staff_to(*, target: int, seed: int) -> int:
    """Add part-time and professional grid workers (兼职/专业网格员) until the city has `target`
    grid workers, spread over its base grids; returns how many were added."""
    have = RoleAssignment.objects.filter(role=Role.GRID_WORKER).count()
    grids = list(GridNode.objects.filter(level="grid", layer="admin", valid_to__isnull=True).order_by("code"))
    missing = target - have
    if missing <= 0 or not grids:
        return 0
    rng = random.Random(seed + 3)
    password = make_password(None)  # these workers sign in once an administrator sets a password
    chosen = [grids[i % len(grids)] for i in range(missing)]
    rng.shuffle(chosen)
    with transaction.atomic():
        users = User.objects.bulk_create(
            User(username=f"p{grid.code}-{index}", display_name=f"兼职网格员{index}", password=password)
            for index, grid in enumerate(chosen)
        )
        RoleAssignment.objects.bulk_create(
            RoleAssignment(
                user=user,
                role=Role.GRID_WORKER,
                grid=grid,
                worker_kind=WorkerKind.PROFESSIONAL if rng.random() < 0.2 else WorkerKind.PART_TIME,
                starts_on=date(2018, 1, 1),
            )
            for user, grid in zip(users, chosen, strict=True)
        )
    return missing


def generate_cases(*, count: int, seed: int, until: date | None = None, progress: Progress = print) -> int:
    """Load `count` synthetic cases (`load_cases`), then recount the KPI rollups from all cases."""
    load_cases(count=count, seed=seed, until=until, progress=progress)
    progress("Counting the KPI rollups from the cases…")
    rollups.rebuild(progress=lambda n: progress(f"  {n:,} cases counted"))
    return count


def load_cases(
    *,
    count: int,
    seed: int,
    until: date | None = None,
    progress: Progress = print,
    chunk: int = CHUNK,
) -> int:
    """Load `count` synthetic cases over the 2.5 years before `until` (default: today), each with
    its report in the timeline, in chunks of one transaction each; the KPI rollups are left as
    they were (recount them with `rollups.rebuild`). Returns the number of cases loaded."""
    context = city_context()
    if not context.places or not context.kinds:
        raise ValueError("Build the city first: no base grids or case categories to report in.")
    until = until or timezone.localdate()
    rng = np.random.default_rng(seed)
    weights = np.array([CATEGORY_WEIGHTS.get(k.name, 1.0) for k in context.kinds])
    limits = np.array([k.limit_seconds for k in context.kinds], dtype=np.int64)
    first_id = (Case.objects.aggregate(last=Max("pk"))["last"] or 0) + 1
    started = time.monotonic()
    for offset in range(0, count, chunk):
        size = min(chunk, count - offset)
        batch = history.draw(
            rng, size, places=len(context.places), kind_weights=weights, kind_limits=limits, until=until
        )
        _write_batch(context, batch, first_id + offset)
        done = offset + size
        progress(f"{done:,}/{count:,} cases ({done / (time.monotonic() - started):,.0f} cases/s)")
    _after_load()
    return count


def _write_batch(context: CityContext, batch: history.Batch, first_id: int) -> None:
    ids = range(first_id, first_id + len(batch))
    rows = list(_case_rows(context, batch, ids))
    events = [
        (case_id, "report", row[REPORTED_AT], row[REPORTER], "", "", "reported", "", "{}", row[CITY])
        for case_id, row in zip(ids, rows, strict=True)
    ]
    with transaction.atomic():
        _insert("cases_case", CASE_COLUMNS, rows)
        _insert("cases_caseevent", EVENT_COLUMNS, events)


def _case_rows(context: CityContext, batch: history.Batch, ids: range) -> Iterator[tuple[Any, ...]]:
    stamps = {
        name: history.utc_text(getattr(batch, name))
        for name in (
            "reported accepted dispatch_due dispatched signed due handled verified closed paused".split()
        )
    }
    days = history.local_day_text(batch.reported)
    stage = batch.stage.tolist()
    statuses = history.STATUS.tolist()
    places = [context.places[i] for i in batch.place.tolist()]
    kinds = [context.kinds[i] for i in batch.kind.tolist()]
    channels = batch.channel.tolist()
    limit, rework, rating = batch.limit.tolist(), batch.rework.tolist(), batch.rating.tolist()
    self_handled = batch.self_handled.tolist()
    for i, case_id in enumerate(ids):
        place, kind, reached = places[i], kinds[i], stage[i]
        dispatched = stamps["dispatched"][i]
        reporter = place.workers[case_id % len(place.workers)] if place.workers else None
        channel = channels[i] if reporter else "hotline"
        yield (
            case_id,
            f"{days[i]}{case_id:07d}",
            f"B{case_id:09d}",
            channel,
            reporter if channel == "grid_worker" else None,
            "",
            "",
            "",
            place.lon,
            place.lat,
            "wgs84",
            place.lon,
            place.lat,
            "",
            place.grid_id,
            place.path,
            kind.category_id,
            f"发现{kind.name}问题，请处理",
            "normal",
            "{}",
            statuses[reached],
            "signed" if reached == history.PARKED else "",
            context.department_for(place, kind) if dispatched else None,
            0,
            0,
            rework[i],
            0,
            self_handled[i],
            limit[i] or None,
            0,
            0,
            stamps["paused"][i],
            dispatched,
            stamps["due"][i],
            stamps["dispatch_due"][i],
            rating[i] or None,
            "",
            stamps["reported"][i],
            stamps["accepted"][i],
            dispatched,
            stamps["signed"][i],
            stamps["handled"][i],
            stamps["verified"][i],
            stamps["closed"][i],
            stamps["closed"][i] or stamps["reported"][i],
            place.city_id,
        )


def _insert(table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608  # fixed names
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])


def _after_load() -> None:
    """Move the id sequence past the loaded ids and refresh the planner's statistics."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), (SELECT max(id) FROM cases_case))"
        )
        if not connection.in_atomic_block:
            # The visibility map lets the overdue watch index answer the KPIs' overdue count alone.
            cursor.execute("VACUUM (ANALYZE) cases_case")
            cursor.execute("VACUUM (ANALYZE) cases_caseevent")
        else:
            cursor.execute("ANALYZE cases_case")
