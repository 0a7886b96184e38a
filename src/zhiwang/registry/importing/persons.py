"""Importing residents from CSV or Excel: every row validated, then all of the file or none of it.

Columns are found through a mapping (field → column header); headers in Chinese or English are
recognised without one. Each row is checked (ID check digit and birth date, dates, phone, codes,
choices, the room inside the importer's scope, duplicates inside the file and among the residents of
the importer's scope). A refused file leaves an `ImportBatch` with its row-by-row report (row,
column, code, message: never the values).

Two passes over the file inside one transaction, in chunks, so memory stays flat for millions of
rows: the first checks every row and writes nothing; only a file without a problem is read again,
its ID and phone numbers encrypted and hashed, and its rows written (on PostgreSQL with COPY in text
format, ids drawn from the sequence first; elsewhere bulk inserts). The CSV is streamed, never held
whole. Checking and encrypting are pure (no database): from the second chunk on they run in a pool
of forked worker processes while this process reads the file, queries the database and writes.
A first load may build the secondary indexes after the rows (`_secondary_indexes_deferred`).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from multiprocessing.pool import AsyncResult, Pool
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone

from zhiwang.accounts.permissions import Scope
from zhiwang.common.errors import ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.registry import crypto
from zhiwang.registry.importing.tables import (
    Record,
    Refused,
    Report,
    RowError,
    applied,
    chunks,
    field_positions,
    open_import,
    refused,
    restart,
)
from zhiwang.registry.models import (
    ID_NUMBER_COLUMN,
    PERSON_PHONE_COLUMN,
    Employment,
    EmploymentStatus,
    ImportBatch,
    InflowReason,
    MobilityStatus,
    PermitType,
    Person,
    PersonKind,
    PersonStatus,
    Room,
    Tenancy,
    TenancyKind,
)
from zhiwang.registry.permissions import COLLECTORS, Actor
from zhiwang.registry.validation import (
    CodeError,
    check_id_number,
    id_birth_date,
    id_sex,
    mask_id_number,
    mask_phone,
    normalise_phone,
)

KIND = "persons"
CHUNK = 5000
WORKERS = 4  # at most this many processes check and encrypt rows beside the one that writes
# Recognised headers for each field (the mapping given with a file wins).
HEADERS: dict[str, tuple[str, ...]] = {
    "room_code": ("room_code", "房屋编码", "房间编码"),
    "name": ("name", "姓名"),
    "id_number": ("id_number", "公民身份号码", "身份证号", "身份证号码"),
    "phone": ("phone", "联系电话", "手机号码", "电话"),
    "ethnicity": ("ethnicity", "民族"),
    "registered_address": ("registered_address", "户籍地址", "户籍地详址"),
    "residence_matches": ("residence_matches", "人户一致"),
    "employer_name": ("employer_name", "工作单位", "服务处所"),
    "kind": ("kind", "人员类型", "人口类型"),
    "inflow_reason": ("inflow_reason", "流入原因"),
    "permit_type": ("permit_type", "办证类型"),
    "employment_status": ("employment_status", "就业状况"),
    "tenancy_kind": ("tenancy_kind", "居住关系", "与房屋关系"),
    "moved_in_on": ("moved_in_on", "入住日期", "居住日期"),
}
REQUIRED = ("room_code", "name", "id_number")
WORDS: dict[str, dict[str, str]] = {
    "kind": {"户籍": "registered", "户籍人口": "registered", "流动": "migrant", "流动人口": "migrant"},
    "residence_matches": {"是": "1", "否": "0", "true": "1", "false": "0", "yes": "1", "no": "0", "": "0"},
    "inflow_reason": {"务工": "work", "经商": "business", "学习": "study", "投亲": "family", "其他": "other"},
    "permit_type": {"居住证": "permit", "居住登记": "registration", "未办": "none"},
    "employment_status": {
        "在业": "employed",
        "个体": "self_employed",
        "失业": "unemployed",
        "学生": "student",
        "退休": "retired",
    },
    "tenancy_kind": {
        "业主": "owner",
        "租客": "tenant",
        "租住": "tenant",
        "家属": "family",
        "宿舍": "dormitory",
        "其他": "other",
    },
}
CHOICES: dict[str, frozenset[str]] = {
    "kind": frozenset(PersonKind.values),
    "inflow_reason": frozenset(InflowReason.values),
    "permit_type": frozenset(PermitType.values),
    "employment_status": frozenset(EmploymentStatus.values),
    "tenancy_kind": frozenset(TenancyKind.values),
}
CHOICE_MESSAGES = {
    name: f"Not one of: {', '.join(v for v in choices.values if v)}."
    for name, choices in (
        ("kind", PersonKind),
        ("inflow_reason", InflowReason),
        ("permit_type", PermitType),
        ("employment_status", EmploymentStatus),
        ("tenancy_kind", TenancyKind),
    )
}


def column_positions(header: list[str], mapping: dict[str, str] | None) -> dict[str, int]:
    """Field → column index, from the mapping or the recognised headers; 400 if required ones lack."""
    return field_positions(header, mapping, HEADERS, REQUIRED)


# Checking a chunk: pure work (no database), so it runs in this process or in a pool's worker ----


@dataclass(frozen=True)
class RoomInfo:
    pk: int
    grid_id: int | None
    grid_path: str


@dataclass(frozen=True)
class Plan:
    """What checking a chunk needs besides its rows; `copy_text` asks for COPY lines (PostgreSQL)."""

    positions: dict[str, int]
    today: date
    now: datetime
    actor_id: int | None
    copy_text: bool


# A good row: row number, ID hash, the person's columns after "id" and the tenancy's after
# "person_id" (COPY text lines on PostgreSQL, value tuples elsewhere).
Good = tuple[int, str, Any, Any]


@dataclass
class Checked:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    hashes: list[tuple[int, str]] = field(default_factory=list)  # (row, ID hash) of every valid ID
    good: list[Good] = field(default_factory=list)


@dataclass(frozen=True)
class Task:
    records: list[Record]
    rooms: dict[str, RoomInfo | None]  # every room code of the chunk; None: unknown or out of scope
    write: bool  # False in the first pass: rows are checked, nothing is encrypted


def _parse_date(text: str) -> date:
    text = text.strip().replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return date.fromisoformat(text[:10])


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    return value.isoformat() if isinstance(value, date) else str(value)


def _copy_line(values: tuple[Any, ...]) -> str:
    return "\t".join([_copy_value(v) for v in values])


def _text(value: str) -> str:
    """Free text in COPY text format (most of it needs no escape, so look before translating)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def _person_line(p: tuple[Any, ...]) -> str:
    """`_copy_line` of a person's prepared columns, spelt out: the values whose type is known need
    no test, and only the four free-text fields can hold characters that COPY escapes."""
    (enc, id_hash, masked, name, sex, born, year, ethnicity, region, address, matches) = p[:11]
    (phone_enc, phone_hash, phone_masked, employer, kind, inflow, permit, room, grid) = p[11:20]
    (path, status, health, employment, employed_since, mobility, since) = p[20:]
    return (
        f"{enc}\t{id_hash}\t{masked}\t{_text(name)}\t{sex}\t{born.isoformat()}\t{year}"
        f"\t{_text(ethnicity)}\t{region}\t{_text(address)}\t{'t' if matches else 'f'}"
        f"\t{phone_enc}\t{phone_hash}\t{phone_masked}\t{_text(employer)}\t{kind}\t{inflow}"
        f"\t{permit}\t{room}\t{_copy_value(grid)}\t{_text(path)}\t{status}\t{health}\t{employment}"
        f"\t{_copy_value(employed_since)}\t{mobility}\t{since.isoformat()}"
    )


class RowChecker:
    """Checks rows and builds what is written for the good ones."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        ring = crypto.keyring()
        self.id_sealer = crypto.Sealer(ID_NUMBER_COLUMN, ring)
        self.phone_sealer = crypto.Sealer(PERSON_PHONE_COLUMN, ring)
        self.fixed = (PersonStatus.ACTIVE.value, "")  # status, health_status
        self.stamps = (MobilityStatus.RESIDENT.value,)
        # The last columns: tags, created_by_id, created_at, updated_at.
        self.trailer: tuple[Any, ...] = ([], plan.actor_id, plan.now, plan.now)
        self.trailer_text = _copy_line(("[]", plan.actor_id, plan.now, plan.now))
        self.stamps_text = _copy_line((plan.now, plan.now))
        # Only the fields the file has are translated and checked against their choices.
        self.words = [(name, words) for name, words in WORDS.items() if name in plan.positions]
        self.choices = [(name, allowed) for name, allowed in CHOICES.items() if name in plan.positions]

    def check(self, task: Task) -> Checked:
        out = Checked(rows=len(task.records))
        positions = self.plan.positions
        for row, cells in task.records:
            values = {f: (cells[i] if i < len(cells) else "") for f, i in positions.items()}
            self._row(row, values, task, out)
        return out

    def _row(self, row: int, values: dict[str, str], task: Task, out: Checked) -> None:
        errors = len(out.errors)
        for name in REQUIRED:
            if not values.get(name):
                out.errors.append(RowError(row, name, "required", "This field is required."))
        for name, words in self.words:
            values[name] = words.get(values[name], values[name])
        for name, allowed in self.choices:
            value = values[name]
            if value and value not in allowed:
                out.errors.append(RowError(row, name, "bad_choice", CHOICE_MESSAGES[name]))
        number = id_hash = phone = ""
        if values.get("id_number"):
            try:
                number = check_id_number(values["id_number"], today=self.plan.today)
                id_hash = self.id_sealer.lookup_hash(number)
                out.hashes.append((row, id_hash))
            except CodeError as exc:
                out.errors.append(RowError(row, "id_number", exc.code, str(exc)))
        if values.get("phone"):
            try:
                phone = normalise_phone(values["phone"])
            except CodeError as exc:
                out.errors.append(RowError(row, "phone", exc.code, str(exc)))
        moved_in_on = self.plan.today
        if values.get("moved_in_on"):
            try:
                moved_in_on = _parse_date(values["moved_in_on"])
                if moved_in_on > self.plan.today:
                    raise ValueError("in the future")
            except ValueError:
                out.errors.append(RowError(row, "moved_in_on", "bad_date", "Not a past date (YYYY-MM-DD)."))
        room = task.rooms.get(values.get("room_code", ""))
        if values.get("room_code") and room is None:
            out.errors.append(RowError(row, "room_code", "unknown_room", "No such room in your grids."))
        if len(out.errors) != errors:
            return
        if not task.write:
            out.good.append((row, id_hash, None, None))  # checked against the database next
            return
        assert room is not None
        out.good.append(self._good(row, values, number, id_hash, phone, moved_in_on, room))

    def _good(
        self,
        row: int,
        values: dict[str, str],
        number: str,
        id_hash: str,
        phone: str,
        moved_in_on: date,
        room: RoomInfo,
    ) -> Good:
        """A good row as it is written: COPY text lines on PostgreSQL, value tuples elsewhere."""
        person = self._person(values, number, id_hash, phone, moved_in_on, room)
        kind = values.get("tenancy_kind") or TenancyKind.OWNER.value
        if self.plan.copy_text:
            line = f"{_person_line(person)}\t{self.trailer_text}"
            starts = moved_in_on.isoformat()
            tenancy = f"{room.pk}\t{kind}\t{starts}\t{_text(room.grid_path)}\t{self.stamps_text}"
            return (row, id_hash, line, tenancy)
        stamps = (self.plan.now, self.plan.now)
        return (row, id_hash, person + self.trailer, (room.pk, kind, moved_in_on, room.grid_path, *stamps))

    def _person(
        self, v: dict[str, str], number: str, id_hash: str, phone: str, moved_in_on: date, room: RoomInfo
    ) -> tuple[Any, ...]:
        """The columns of PERSON_COLUMNS after "id" and before the trailer (tags onwards)."""
        born = id_birth_date(number)
        kind = v.get("kind") or PersonKind.REGISTERED.value
        migrant = kind == PersonKind.MIGRANT
        employment = v.get("employment_status", "")
        return (
            self.id_sealer.encrypt(number),
            id_hash,
            mask_id_number(number),
            v["name"][:50],
            id_sex(number),
            born,
            born.year if born else None,
            v.get("ethnicity", "")[:20],
            number[:6],
            v.get("registered_address", "")[:200],
            v.get("residence_matches") == "1",
            self.phone_sealer.encrypt(phone),
            self.phone_sealer.lookup_hash(phone),
            mask_phone(phone) if phone else "",
            v.get("employer_name", "")[:100],
            kind,
            v.get("inflow_reason", "") if migrant else "",
            v.get("permit_type", "") if migrant else "",
            room.pk,
            room.grid_id,
            room.grid_path,
            *self.fixed,
            employment,
            moved_in_on if employment else None,
            *self.stamps,
            moved_in_on,
        )


_worker: RowChecker | None = None


def _start_worker(plan: Plan) -> None:
    global _worker  # one checker per pool process
    _worker = RowChecker(plan)


def _check_in_worker(task: Task) -> Checked:
    assert _worker is not None
    return _worker.check(task)


# In this process: rooms, duplicates across chunks and against the database, writing ------------


class Checker:
    """Settles each checked chunk: duplicates within the file (across chunks) and among the living
    residents; it also knows the rooms in scope."""

    def __init__(self, scope: Scope, report: Report) -> None:
        self.scope = scope
        self.report = report
        self.seen: dict[str, int] = {}  # ID hash → first row
        self.rooms: dict[str, RoomInfo | None] = {}
        self.postgres = connection.vendor == "postgresql"

    def task(self, records: list[Record], positions: dict[str, int], *, write: bool) -> Task:
        at = positions["room_code"]
        codes = {cells[at] for _, cells in records if at < len(cells) and cells[at]}
        self._load_rooms(codes)
        rooms = {code: self.rooms[code] for code in codes}
        return Task(records, rooms, write=write)

    def _load_rooms(self, codes: Iterable[str]) -> None:
        wanted = sorted(c for c in codes if c not in self.rooms)
        for start in range(0, len(wanted), 1000):
            part = wanted[start : start + 1000]
            found = {
                code: RoomInfo(pk, grid_id, path)
                for code, pk, grid_id, path in Room.objects.filter(code__in=part).values_list(
                    "code", "pk", "building__grid_id", "grid_path"
                )
            }
            for code in part:
                info = found.get(code)
                # A room outside the importer's collecting scope is treated as unknown.
                self.rooms[code] = info if info and self.scope.covers(info.grid_path, COLLECTORS) else None

    def settle(self, checked: Checked) -> list[int]:
        """Reports the chunk's errors and the duplicates it holds (within the file, among the living
        residents of the scope); returns the living registrations elsewhere its residents replace."""
        errors = list(checked.errors)
        repeated: set[int] = set()
        for row, id_hash in checked.hashes:
            first = self.seen.setdefault(id_hash, row)
            if first != row:
                repeated.add(row)
                errors.append(
                    RowError(row, "id_number", "duplicate_in_file", f"The same ID number as row {first}.")
                )
        good = [g for g in checked.good if g[0] not in repeated]
        living = self._living([g[1] for g in good])
        here = {h for h, (_, path) in living.items() if self.scope.covers(path)}
        for g in good:
            if g[1] in here:
                errors.append(
                    RowError(
                        g[0],
                        "id_number",
                        "duplicate_person",
                        "A person with this ID number already lives here.",
                    )
                )
        errors.sort(key=lambda e: e.row)  # stable: a row's own errors first, then the duplicates
        for error in errors:
            self.report.add(error)
        return [pk for h, (pk, _) in living.items() if h not in here]

    def _living(self, hashes: list[str]) -> dict[str, tuple[int, str]]:
        """ID hash → (pk, grid path) of the living registrations under these hashes: one query."""
        if not hashes:
            return {}
        if self.postgres:
            with connection.cursor() as cursor:
                # The hashes are hex digits: sent as one array literal, not adapted one by one.
                cursor.execute(
                    "SELECT id_number_hash, id, grid_path FROM registry_person"
                    " WHERE status = %s AND id_number_hash = ANY(%s::text[])",
                    [PersonStatus.ACTIVE.value, "{" + ",".join(hashes) + "}"],
                )
                return {h: (pk, path) for h, pk, path in cursor.fetchall()}
        found: dict[str, tuple[int, str]] = {}
        for start in range(0, len(hashes), 500):
            query = Person.objects.filter(
                id_number_hash__in=hashes[start : start + 500], status=PersonStatus.ACTIVE
            ).values_list("id_number_hash", "pk", "grid_path")
            found.update({h: (pk, path) for h, pk, path in query})
        return found


# Writing ----------------------------------------------------------------------------------------

PERSON_COLUMNS = (
    "id",
    "id_number_enc",
    "id_number_hash",
    "id_number_masked",
    "name",
    "sex",
    "birth_date",
    "birth_year",
    "ethnicity",
    "registered_region",
    "registered_address",
    "residence_matches",
    "phone_enc",
    "phone_hash",
    "phone_masked",
    "employer_name",
    "kind",
    "inflow_reason",
    "permit_type",
    "room_id",
    "grid_id",
    "grid_path",
    "status",
    "health_status",
    "employment_status",
    "employment_since",
    "mobility_status",
    "mobility_since",
    "tags",
    "created_by_id",
    "created_at",
    "updated_at",
)
TENANCY_COLUMNS = ("person_id", "room_id", "kind", "starts_on", "grid_path", "created_at", "updated_at")


class Writer:
    def __init__(self, today: date, now: datetime) -> None:
        self.today = today
        self.now = now
        self.postgres = connection.vendor == "postgresql"

    def write(self, good: list[Good]) -> None:
        if not good:
            return
        if self.postgres:
            ids = self._draw_ids(len(good))
            self._copy(Person._meta.db_table, PERSON_COLUMNS, ids, [g[2] for g in good])
            self._copy(Tenancy._meta.db_table, TENANCY_COLUMNS, ids, [g[3] for g in good])
            return
        people = [Person(**dict(zip(PERSON_COLUMNS, (None, *g[2]), strict=True))) for g in good]
        for person in people:
            person.tags = []
        Person.objects.bulk_create(people, batch_size=500)
        Tenancy.objects.bulk_create(
            [
                Tenancy(**dict(zip(TENANCY_COLUMNS, (person.pk, *g[3]), strict=True)))
                for person, g in zip(people, good, strict=True)
            ],
            batch_size=500,
        )

    def _draw_ids(self, count: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Person._meta.db_table, count],
            )
            return [row[0] for row in cursor.fetchall()]

    def _copy(self, table: str, columns: tuple[str, ...], ids: list[int], lines: list[str]) -> None:
        """COPY in text format: each line is "<id>\\t<the row's prepared columns>"."""
        data = "".join([f"{pk}\t{line}\n" for pk, line in zip(ids, lines, strict=True)])
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write(data.encode())

    def move_away(self, old: list[int]) -> None:
        """Residents registered here who lived elsewhere: their old registration ends."""
        if not old:
            return
        Person.objects.filter(pk__in=old).update(
            status=PersonStatus.MOVED_OUT,
            mobility_status=MobilityStatus.MOVED_OUT,
            mobility_since=self.today,
            moved_out_at=self.now,
            updated_at=self.now,
        )
        Tenancy.objects.filter(person_id__in=old, ends_on__isnull=True).update(ends_on=self.today)


@contextmanager
def _secondary_indexes_deferred(tables: tuple[str, ...]) -> Iterator[None]:
    """Drops the non-unique indexes of `tables` and builds them again on leaving, inside the caller's
    transaction (PostgreSQL only): one sort per index instead of a million random insertions.

    Safe for all-or-nothing: DDL is transactional, so a rollback brings every index back as it was,
    and the same definitions (`pg_get_indexdef`) are built again under the same names. The unique
    indexes (primary keys, one living registration per ID number) stay, so uniqueness is enforced
    row by row as always. The price: DROP INDEX holds an ACCESS EXCLUSIVE lock on the tables until
    commit, so nobody reads persons or tenancies while the import runs; hence only on request, for
    a first load."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = ANY(%s::regclass[]) AND NOT x.indisunique ORDER BY i.relname",
            [list(tables)],
        )
        indexes: list[tuple[str, str]] = cursor.fetchall()
        cursor.execute("SET LOCAL lock_timeout = '10s'")  # wait this long for readers, then fail
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
    yield
    with connection.cursor() as cursor:
        # An index is not built over rows with pending checks: run the foreign-key checks now (they
        # would run at commit anyway), then defer them again as Django's constraints are.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SET LOCAL maintenance_work_mem TO DEFAULT")


def _is_first_load(rows: int) -> bool:
    """A file at least as large as the person table already is."""
    return rows >= Person.objects.count()


def _link_employments() -> None:
    """Employments entered by ID number before anyone lived under it link to the new residents."""
    waiting = list(
        Employment.objects.filter(ends_on__isnull=True, person__isnull=True)
        .exclude(person_id_hash="")
        .values_list("pk", "person_id_hash")
    )
    if not waiting:
        return
    living = dict(
        Person.objects.filter(
            id_number_hash__in=[h for _, h in waiting], status=PersonStatus.ACTIVE
        ).values_list("id_number_hash", "pk")
    )
    for pk, id_hash in waiting:
        if id_hash in living:
            Employment.objects.filter(pk=pk).update(person_id=living[id_hash])


# The service ------------------------------------------------------------------------------------


def _worker_count(workers: int | None) -> int:
    """Pool processes: as asked, else one per core beyond two (one for this process, which reads and
    writes, one for PostgreSQL taking the COPY). On two shared cores a pool measured slower."""
    if workers is not None:
        return max(0, workers)
    return max(0, min(WORKERS, (os.cpu_count() or 1) - 2))


class Pipeline:
    """Checks chunks in file order: in this process, or, for a file of more than one chunk and at
    least one worker, in a pool of forked processes while this process reads the file, settles and
    writes the chunks before. Workers touch no database; they run the same `RowChecker`."""

    def __init__(self, checker: Checker, plan: Plan, workers: int) -> None:
        self.checker = checker
        self.plan = plan
        self.workers = workers
        self.local = RowChecker(plan)
        self.pool: Pool | None = None

    def run(self, chunks: Iterator[list[Record]], *, write: bool) -> Iterator[Checked]:
        tasks = (self.checker.task(chunk, self.plan.positions, write=write) for chunk in chunks)
        ahead = list(itertools.islice(tasks, 2))
        if len(ahead) < 2 or self.workers == 0:
            for task in itertools.chain(ahead, tasks):
                yield self.local.check(task)
            return
        if self.pool is None:
            self.pool = multiprocessing.get_context("fork").Pool(self.workers, _start_worker, (self.plan,))
        waiting: deque[AsyncResult[Checked]] = deque()
        for task in itertools.chain(ahead, tasks):
            waiting.append(self.pool.apply_async(_check_in_worker, (task,)))
            if len(waiting) > self.workers:  # one chunk ahead per worker bounds the memory
                yield waiting.popleft().get()
        while waiting:
            yield waiting.popleft().get()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def import_persons(
    *,
    actor: Actor,
    stream: IO[bytes],
    filename: str,
    origin: Origin,
    mapping: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
    today: date | None = None,
    workers: int | None = None,
    defer_indexes: bool = False,
) -> ImportBatch:
    """Import residents; returns the applied batch, or raises `ValidationFailed` naming the refused
    batch (whose report lists every bad row) after rolling everything back.

    Two passes over the file inside one transaction: the first checks every row (and the living
    residents) and writes nothing; only a file without a single problem is read again, encrypted
    and written. `workers`: processes that check and encrypt rows beside this one (0: none; default:
    see `_worker_count`); `progress` is called with the rows checked, then with the rows written.
    `defer_indexes`: on PostgreSQL, for a first load (a file at least as large as the person table),
    build the secondary indexes after the rows are in (see `_secondary_indexes_deferred`)."""
    opened = open_import(actor=actor, stream=stream, filename=filename, noun="residents")
    scope, user, stream, rows = opened.scope, opened.user, opened.stream, opened.rows
    positions = column_positions(opened.header, mapping)
    report = Report()
    checker = Checker(scope, report)
    plan = Plan(positions, today or timezone.localdate(), timezone.now(), user.pk, checker.postgres)
    pipeline = Pipeline(checker, plan, _worker_count(workers))
    try:
        with transaction.atomic():
            elsewhere = _check_all(pipeline, rows, report, progress)
            if report.error_count:
                raise Refused()
            writer = Writer(plan.today, plan.now)
            writer.move_away(elsewhere)
            deferred = defer_indexes and checker.postgres and _is_first_load(report.rows_total)
            tables = (Person._meta.db_table, Tenancy._meta.db_table)
            with _secondary_indexes_deferred(tables) if deferred else nullcontext():
                _write_all(pipeline, writer, restart(stream, filename), report, progress)
            _link_employments()
            return applied(actor=actor, user=user, kind=KIND, filename=filename, report=report, origin=origin)
    except Refused:
        pass
    finally:
        pipeline.close()
    raise refused(actor=actor, user=user, kind=KIND, filename=filename, report=report, origin=origin)


def _write_all(
    pipeline: Pipeline,
    writer: Writer,
    rows: Iterator[list[str]],
    report: Report,
    progress: Callable[[int], None] | None,
) -> None:
    """The second pass: every row encrypted and written."""
    for checked in pipeline.run(chunks(rows, CHUNK), write=True):
        if checked.errors:  # the file is read twice; it cannot differ the second time
            raise ValidationFailed("The file changed while it was imported.", code="file_changed")
        writer.write(checked.good)
        report.rows_imported += len(checked.good)
        if progress is not None:
            progress(report.rows_imported)


def _check_all(
    pipeline: Pipeline,
    rows: Iterator[list[str]],
    report: Report,
    progress: Callable[[int], None] | None,
) -> list[int]:
    """The first pass: every row checked, nothing written; the living registrations elsewhere that
    the file's residents replace."""
    elsewhere: list[int] = []
    for checked in pipeline.run(chunks(rows, CHUNK), write=False):
        report.rows_total += checked.rows
        elsewhere += pipeline.checker.settle(checked)
        if progress is not None:
            progress(report.rows_total)
    return elsewhere
