"""Reading an imported file and reporting on it, whatever it holds.

CSV (UTF-8 with or without BOM, or GB18030) is streamed a block at a time; .xlsx is read through
openpyxl's read-only mode. Columns are found through a mapping (field → column header) or the headers
each kind of import recognises. A file's outcome is an `ImportBatch` with its row-by-row report (row,
column, code, message: never the values), downloadable as CSV (`report_csv`).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from zhiwang.accounts.models import User
from zhiwang.accounts.permissions import Scope, require_staff_role
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.registry.models import ImportBatch, ImportStatus
from zhiwang.registry.permissions import COLLECTORS, Actor

MAX_REPORTED_ERRORS = 10_000
BLOCK = 1 << 20

Record = tuple[int, list[str]]  # (row number in the file, cells)


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
    added: dict[str, int] = field(default_factory=dict)  # records added, by kind, when several

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


def _decodes(stream: IO[bytes], encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while block := stream.read(BLOCK):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_encoding(stream: IO[bytes]) -> str:
    """UTF-8 if the whole file decodes as UTF-8, else GB18030 (checked block by block)."""
    for encoding in ("utf-8-sig", "gb18030"):
        stream.seek(0)
        if _decodes(stream, encoding):
            stream.seek(0)
            return encoding
    raise ValidationFailed("The CSV file is neither UTF-8 nor GB18030 text.", code="bad_encoding")


def _text_lines(stream: IO[bytes], encoding: str) -> Iterator[str]:
    """The file's lines, decoded a block at a time (lines end at "\\n", as `io.StringIO` splits)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    tail = ""
    while block := stream.read(BLOCK):
        text = tail + decoder.decode(block)
        cut = text.rfind("\n") + 1
        tail = text[cut:]
        yield from io.StringIO(text[:cut])
    yield from io.StringIO(tail + decoder.decode(b"", final=True))


def read_table(stream: IO[bytes], filename: str) -> Iterator[list[str]]:
    """Rows of a CSV (UTF-8, with or without BOM, or GB18030) or an .xlsx file, header first.

    A CSV file is streamed: its encoding is settled in a first pass over the bytes, then rows are
    decoded and parsed a block at a time, so memory does not grow with the file."""
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
    if not stream.seekable():
        stream = io.BytesIO(stream.read())
    lines = _text_lines(stream, _csv_encoding(stream))
    for values in csv.reader(lines):
        yield [v.strip() for v in values]


def restart(stream: IO[bytes], filename: str) -> Iterator[list[str]]:
    """The file's data rows once more (its header skipped)."""
    stream.seek(0)
    rows = read_table(stream, filename)
    next(rows, None)
    return rows


def field_positions(
    header: list[str],
    mapping: Mapping[str, str] | None,
    headers: Mapping[str, tuple[str, ...]],
    required: tuple[str, ...],
) -> dict[str, int]:
    """Field → column index, from the mapping or the recognised `headers`; 400 if required ones lack."""
    index = {name.strip(): i for i, name in enumerate(header) if name.strip()}
    positions: dict[str, int] = {}
    for target, aliases in headers.items():
        wanted = (mapping or {}).get(target)
        candidates = (wanted,) if wanted else aliases
        for candidate in candidates:
            if candidate in index:
                positions[target] = index[candidate]
                break
    unknown = set(mapping or {}) - set(headers)
    missing = [f for f in required if f not in positions]
    if unknown or missing:
        raise ValidationFailed(
            "The file's columns do not fit: map every required field to a column.",
            code="bad_columns",
            details={"missing": missing, "unknown_fields": sorted(unknown), "header": header[:50]},
        )
    return positions


def chunks(rows: Iterator[list[str]], size: int) -> Iterator[list[Record]]:
    """The non-empty data rows with their numbers in the file (the header is row 1), `size` at a time."""
    chunk: list[Record] = []
    for number, cells in enumerate(rows, start=2):
        if not any(cells):
            continue
        chunk.append((number, cells))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# Reporting --------------------------------------------------------------------------------------


def save_batch(user: User, kind: str, filename: str, report: Report, status: str) -> ImportBatch:
    return ImportBatch.objects.create(
        actor=user,
        kind=kind,
        filename=filename[:200],
        status=status,
        rows_total=report.rows_total,
        rows_imported=report.rows_imported,
        errors=[e.as_dict() for e in report.errors],
        error_count=report.error_count,
        added=report.added,
    )


class Refused(Exception):
    """Raised inside an import's transaction to roll it back when the file has a problem."""


@dataclass(frozen=True)
class Opened:
    """A file about to be imported: who imports it and its first row."""

    scope: Scope
    user: User
    stream: IO[bytes]  # seekable, so that it can be read again
    rows: Iterator[list[str]]  # the rows after the header
    header: list[str]


def require_collector(actor: Actor, noun: str) -> Scope:
    """The actor's scope, when they collect base data (they import `noun`); 403 otherwise."""
    scope = require_staff_role(actor)
    if not scope.has_role(COLLECTORS):
        raise PermissionDenied(f"Only collectors of base data import {noun}.", code="registry_not_collector")
    return scope


def open_import(*, actor: Actor, stream: IO[bytes], filename: str, noun: str) -> Opened:
    """Checks that the actor collects base data and reads the file's header."""
    scope = require_collector(actor, noun)
    user = actor if isinstance(actor, User) else None
    assert user is not None
    if not stream.seekable():
        stream = io.BytesIO(stream.read())
    rows = read_table(stream, filename)
    header = next(rows, None)
    if header is None:
        raise ValidationFailed("The file is empty.", code="empty_file")
    return Opened(scope, user, stream, rows, header)


def applied(
    *, actor: Actor, user: User, kind: str, filename: str, report: Report, origin: Origin
) -> ImportBatch:
    """Records the applied batch and its audit row, inside the import's transaction."""
    batch = save_batch(user, kind, filename, report, ImportStatus.APPLIED)
    audit_record(
        actor=actor,
        action="registry.import",
        origin=origin,
        obj=batch,
        details={
            "rows": report.rows_imported,
            "kind": kind,
            **({"added": report.added} if report.added else {}),
        },
    )
    return batch


def refused(
    *, actor: Actor, user: User, kind: str, filename: str, report: Report, origin: Origin
) -> ValidationFailed:
    """Records the refused batch with its report (after the import was rolled back) and returns the
    400 that names it."""
    report.rows_imported = 0
    batch = save_batch(user, kind, filename, report, ImportStatus.REFUSED)
    audit_record(
        actor=actor,
        action="registry.import_refused",
        origin=origin,
        obj=batch,
        details={"errors": report.error_count, "kind": kind},
    )
    return ValidationFailed(
        f"{report.error_count} problems in the file; nothing was imported.",
        code="import_refused",
        details={
            "batch_id": batch.pk,
            "report_url": f"/api/v1/registry/imports/{batch.pk}/report",
            "errors": [e.as_dict() for e in report.errors[:100]],
            "error_count": report.error_count,
        },
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
