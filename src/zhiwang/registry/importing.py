"""Importing residents from CSV or Excel: every row validated, then all of the file or none of it.

Columns are found through a mapping (field → column header); headers in Chinese or English are
recognised without one. Each row is checked (ID check digit and birth date, dates, phone, codes,
choices, the room inside the importer's scope, duplicates inside the file and among the residents of
the importer's scope). Rows are validated and written in chunks inside one transaction, so memory
stays flat for millions of rows; after the first bad row nothing more is written, every remaining
row is still checked, and the transaction is rolled back. A refused file leaves an `ImportBatch`
with its row-by-row report (row, column, code, message: never the values).

On PostgreSQL the rows go in with COPY (ids drawn from the sequence first); elsewhere bulk inserts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from django.db import connection, transaction
from django.utils import timezone

from zhiwang.accounts.models import User
from zhiwang.accounts.permissions import Scope, require_staff_role
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.registry import crypto
from zhiwang.registry.models import (
    ID_NUMBER_COLUMN,
    PERSON_PHONE_COLUMN,
    Employment,
    EmploymentStatus,
    ImportBatch,
    ImportStatus,
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

CHUNK = 5000
MAX_REPORTED_ERRORS = 10_000
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
CHOICES = {
    "kind": PersonKind.values,
    "inflow_reason": InflowReason.values,
    "permit_type": PermitType.values,
    "employment_status": EmploymentStatus.values,
    "tenancy_kind": TenancyKind.values,
}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class Report:
    rows_total: int = 0
    rows_imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    def add(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)


# Reading ----------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(stream: IO[bytes], filename: str) -> Iterator[list[str]]:
    """Rows of a CSV (UTF-8, with or without BOM, or GB18030) or an .xlsx file, header first."""
    if filename.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook

        try:
            book = load_workbook(stream, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise ValidationFailed("The file is not a readable Excel workbook.", code="bad_file") from exc
        try:
            sheet = book.worksheets[0]
            for cells in sheet.iter_rows(values_only=True):
                yield [_cell(v) for v in cells]
        finally:
            book.close()
        return
    raw = stream.read()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed("The CSV file is neither UTF-8 nor GB18030 text.", code="bad_encoding")
    del raw
    for values in csv.reader(io.StringIO(text)):
        yield [v.strip() for v in values]


def column_positions(header: list[str], mapping: dict[str, str] | None) -> dict[str, int]:
    """Field → column index, from the mapping or the recognised headers; 400 if required ones lack."""
    index = {name.strip(): i for i, name in enumerate(header) if name.strip()}
    positions: dict[str, int] = {}
    for target, aliases in HEADERS.items():
        wanted = (mapping or {}).get(target)
        candidates = (wanted,) if wanted else aliases
        for candidate in candidates:
            if candidate in index:
                positions[target] = index[candidate]
                break
    unknown = set(mapping or {}) - set(HEADERS)
    missing = [f for f in REQUIRED if f not in positions]
    if unknown or missing:
        raise ValidationFailed(
            "The file's columns do not fit: map every required field to a column.",
            code="bad_columns",
            details={"missing": missing, "unknown_fields": sorted(unknown), "header": header[:50]},
        )
    return positions


# Checking ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomInfo:
    pk: int
    grid_id: int | None
    grid_path: str


@dataclass
class Prepared:
    row: int
    values: dict[str, str]
    number: str
    id_hash: str
    phone: str
    moved_in_on: date


def _parse_date(text: str) -> date:
    text = text.strip().replace("/", "-").replace(".", "-")
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return date.fromisoformat(text[:10])


class Checker:
    """Checks rows one chunk at a time, remembering what the file already holds."""

    def __init__(self, scope: Scope, report: Report, today: date) -> None:
        self.scope = scope
        self.report = report
        self.today = today
        self.seen: dict[str, int] = {}  # ID hash → first row
        self.rooms: dict[str, RoomInfo | None] = {}
        self.ring = crypto.keyring()

    def _rooms(self, codes: Iterable[str]) -> None:
        wanted = sorted({c for c in codes if c and c not in self.rooms})
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

    def _row(self, row: int, values: dict[str, str]) -> Prepared | None:
        errors = self.report.error_count
        for name in REQUIRED:
            if not values.get(name):
                self.report.add(RowError(row, name, "required", "This field is required."))
        for name, words in WORDS.items():
            if name in values:
                values[name] = words.get(values[name], values[name])
        for name, allowed in CHOICES.items():
            value = values.get(name, "")
            if value and value not in allowed:
                self.report.add(
                    RowError(row, name, "bad_choice", f"Not one of: {', '.join(v for v in allowed if v)}.")
                )
        number = id_hash = phone = ""
        if values.get("id_number"):
            try:
                number = check_id_number(values["id_number"], today=self.today)
                id_hash = crypto.lookup_hash(number, ID_NUMBER_COLUMN, self.ring)
                first = self.seen.setdefault(id_hash, row)
                if first != row:
                    self.report.add(
                        RowError(row, "id_number", "duplicate_in_file", f"The same ID number as row {first}.")
                    )
            except CodeError as exc:
                self.report.add(RowError(row, "id_number", exc.code, str(exc)))
        if values.get("phone"):
            try:
                phone = normalise_phone(values["phone"])
            except CodeError as exc:
                self.report.add(RowError(row, "phone", exc.code, str(exc)))
        moved_in_on = self.today
        if values.get("moved_in_on"):
            try:
                moved_in_on = _parse_date(values["moved_in_on"])
                if moved_in_on > self.today:
                    raise ValueError("in the future")
            except ValueError:
                self.report.add(RowError(row, "moved_in_on", "bad_date", "Not a past date (YYYY-MM-DD)."))
        code = values.get("room_code", "")
        if code and self.rooms.get(code) is None:
            self.report.add(RowError(row, "room_code", "unknown_room", "No such room in your grids."))
        if self.report.error_count != errors:
            return None
        return Prepared(row, values, number, id_hash, phone, moved_in_on)

    def check(self, chunk: list[tuple[int, dict[str, str]]]) -> list[Prepared]:
        self._rooms(values.get("room_code", "") for _, values in chunk)
        prepared = [p for row, values in chunk if (p := self._row(row, values)) is not None]
        self._against_database(prepared)
        return prepared

    def _against_database(self, prepared: list[Prepared]) -> None:
        hashes = [p.id_hash for p in prepared]
        living = dict(
            Person.objects.filter(id_number_hash__in=hashes, status=PersonStatus.ACTIVE).values_list(
                "id_number_hash", "grid_path"
            )
        )
        for p in prepared:
            path = living.get(p.id_hash)
            if path is not None and self.scope.covers(path):
                self.report.add(
                    RowError(
                        p.row,
                        "id_number",
                        "duplicate_person",
                        "A person with this ID number already lives here.",
                    )
                )
        if living:
            prepared[:] = [
                p for p in prepared if not (p.id_hash in living and self.scope.covers(living[p.id_hash]))
            ]


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
    def __init__(self, checker: Checker, actor: User | None, origin: Origin) -> None:
        self.checker = checker
        self.actor_id = actor.pk if actor else None
        self.now = timezone.now()
        self.postgres = connection.vendor == "postgresql"

    def _person_row(self, pk: int | None, p: Prepared) -> tuple[Any, ...]:
        v, ring, room = p.values, self.checker.ring, self.checker.rooms[p.values["room_code"]]
        assert room is not None
        born = id_birth_date(p.number)
        kind = v.get("kind") or PersonKind.REGISTERED
        migrant = kind == PersonKind.MIGRANT
        employment = v.get("employment_status", "")
        return (
            pk,
            crypto.encrypt(p.number, ID_NUMBER_COLUMN, ring),
            p.id_hash,
            mask_id_number(p.number),
            v["name"][:50],
            id_sex(p.number),
            born,
            born.year if born else None,
            v.get("ethnicity", "")[:20],
            p.number[:6],
            v.get("registered_address", "")[:200],
            v.get("residence_matches") == "1",
            crypto.encrypt(p.phone, PERSON_PHONE_COLUMN, ring),
            crypto.lookup_hash(p.phone, PERSON_PHONE_COLUMN, ring),
            mask_phone(p.phone) if p.phone else "",
            v.get("employer_name", "")[:100],
            kind,
            v.get("inflow_reason", "") if migrant else "",
            v.get("permit_type", "") if migrant else "",
            room.pk,
            room.grid_id,
            room.grid_path,
            PersonStatus.ACTIVE,
            "",
            employment,
            p.moved_in_on if employment else None,
            MobilityStatus.RESIDENT,
            p.moved_in_on,
            "[]",
            self.actor_id,
            self.now,
            self.now,
        )

    def write(self, prepared: list[Prepared]) -> None:
        if not prepared:
            return
        self._move_away(prepared)
        if self.postgres:
            ids = self._draw_ids(len(prepared))
            rows = [self._person_row(pk, p) for pk, p in zip(ids, prepared, strict=True)]
            self._copy(Person._meta.db_table, PERSON_COLUMNS, rows)
        else:
            objects = [
                Person(**dict(zip(PERSON_COLUMNS, self._person_row(None, p), strict=True))) for p in prepared
            ]
            for obj in objects:
                obj.tags = []
            Person.objects.bulk_create(objects, batch_size=500)
            ids = [obj.pk for obj in objects]
        tenancies = [self._tenancy_row(pk, p) for pk, p in zip(ids, prepared, strict=True)]
        if self.postgres:
            self._copy(Tenancy._meta.db_table, TENANCY_COLUMNS, tenancies)
        else:
            Tenancy.objects.bulk_create(
                [Tenancy(**dict(zip(TENANCY_COLUMNS, t, strict=True))) for t in tenancies], batch_size=500
            )

    def _tenancy_row(self, pk: int, p: Prepared) -> tuple[Any, ...]:
        room = self.checker.rooms[p.values["room_code"]]
        assert room is not None
        kind = p.values.get("tenancy_kind") or TenancyKind.OWNER
        return (pk, room.pk, kind, p.moved_in_on, room.grid_path, self.now, self.now)

    def _draw_ids(self, count: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Person._meta.db_table, count],
            )
            return [row[0] for row in cursor.fetchall()]

    def _copy(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
            with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _move_away(self, prepared: list[Prepared]) -> None:
        """Residents registered here who lived elsewhere: their old registration ends."""
        hashes = [p.id_hash for p in prepared]
        elsewhere = Person.objects.filter(id_number_hash__in=hashes, status=PersonStatus.ACTIVE)
        old = list(elsewhere.values_list("pk", flat=True))
        if not old:
            return
        today = self.checker.today
        Person.objects.filter(pk__in=old).update(
            status=PersonStatus.MOVED_OUT,
            mobility_status=MobilityStatus.MOVED_OUT,
            mobility_since=today,
            moved_out_at=self.now,
            updated_at=self.now,
        )
        Tenancy.objects.filter(person_id__in=old, ends_on__isnull=True).update(ends_on=today)


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


def _records(rows: Iterator[list[str]], positions: dict[str, int]) -> Iterator[tuple[int, dict[str, str]]]:
    for number, values in enumerate(rows, start=2):
        if not any(values):
            continue
        yield number, {f: (values[i] if i < len(values) else "") for f, i in positions.items()}


def _chunks(
    records: Iterator[tuple[int, dict[str, str]]], size: int
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    chunk: list[tuple[int, dict[str, str]]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Refused(Exception):
    pass


def import_persons(
    *,
    actor: Actor,
    stream: IO[bytes],
    filename: str,
    origin: Origin,
    mapping: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
    today: date | None = None,
) -> ImportBatch:
    """Import residents; returns the applied batch, or raises `ValidationFailed` naming the refused
    batch (whose report lists every bad row) after rolling everything back."""
    scope = require_staff_role(actor)
    if not scope.has_role(COLLECTORS):
        raise PermissionDenied(
            "Only collectors of base data import residents.", code="registry_not_collector"
        )
    user = actor if isinstance(actor, User) else None
    assert user is not None
    rows = read_table(stream, filename)
    header = next(rows, None)
    if header is None:
        raise ValidationFailed("The file is empty.", code="empty_file")
    positions = column_positions(header, mapping)
    report = Report()
    checker = Checker(scope, report, today or timezone.localdate())
    writer = Writer(checker, user, origin)
    try:
        with transaction.atomic():
            for chunk in _chunks(_records(rows, positions), CHUNK):
                report.rows_total += len(chunk)
                prepared = checker.check(chunk)
                if report.error_count == 0:
                    writer.write(prepared)
                    report.rows_imported += len(prepared)
                if progress is not None:
                    progress(report.rows_total)
            if report.error_count:
                raise _Refused()
            _link_employments()
            batch = _batch(user, filename, report, ImportStatus.APPLIED)
            audit_record(
                actor=actor,
                action="registry.import",
                origin=origin,
                obj=batch,
                details={"rows": report.rows_imported, "kind": "persons"},
            )
            return batch
    except _Refused:
        pass
    report.rows_imported = 0
    batch = _batch(user, filename, report, ImportStatus.REFUSED)
    audit_record(
        actor=actor,
        action="registry.import_refused",
        origin=origin,
        obj=batch,
        details={"errors": report.error_count, "kind": "persons"},
    )
    raise ValidationFailed(
        f"{report.error_count} problems in the file; nothing was imported.",
        code="import_refused",
        details={
            "batch_id": batch.pk,
            "report_url": f"/api/v1/registry/imports/{batch.pk}/report",
            "errors": [e.as_dict() for e in report.errors[:100]],
            "error_count": report.error_count,
        },
    )


def _batch(user: User, filename: str, report: Report, status: str) -> ImportBatch:
    return ImportBatch.objects.create(
        actor=user,
        kind="persons",
        filename=filename[:200],
        status=status,
        rows_total=report.rows_total,
        rows_imported=report.rows_imported,
        errors=[e.as_dict() for e in report.errors],
    )


def report_csv(batch: ImportBatch) -> str:
    """The row-by-row report of a batch as CSV text (UTF-8 with BOM, so Excel opens it)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(["row", "column", "code", "message"])
    for error in batch.errors:
        writer.writerow([error["row"], error["column"], error["code"], error["message"]])
    return out.getvalue()
