"""Importing the smaller registers (units, facilities): every row checked, then all of the file or none.

Each row is checked as the service that creates one record through the API checks it (the same code
checks, the point converted to WGS-84 and its base grid found by `grids.locate`, the same collecting
scope), and against the other rows of the file and what is registered already. Only a file without a
single problem is written, with bulk inserts inside the transaction that checked it; a refused file
leaves an `ImportBatch` with its row-by-row report. These registers hold thousands of rows, not
millions: the records to write are held until the end of the file, and the file is read once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, ClassVar, Generic, TypeVar

from django.db import IntegrityError, models, transaction

from zhiwang.accounts.permissions import Scope
from zhiwang.common.errors import Conflict, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate as locating
from zhiwang.grids.coords import CoordSystem
from zhiwang.grids.models import GridNode
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
)
from zhiwang.registry.models import ImportBatch
from zhiwang.registry.permissions import COLLECTORS, Actor

LOOKUP_ROWS = 1000  # rows whose references (codes, grids, departments) are looked up together
POINT_HEADERS: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "经度"),
    "lat": ("lat", "纬度"),
    "system": ("system", "坐标系"),
}
SYSTEMS = frozenset(system.value for system in CoordSystem)
SYSTEM_WORDS = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "gps": "wgs84",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "火星坐标": "gcj02",
    "高德": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "百度": "bd09",
    "百度坐标": "bd09",
}

M = TypeVar("M")  # what a good row becomes: a model instance, or a plan of several


@dataclass(frozen=True)
class GridInfo:
    pk: int
    path: str
    code: str


@dataclass(frozen=True)
class Place:
    """A row's point in WGS-84, its base grid and the overlay grids it lies in."""

    lon: float
    lat: float
    grid: GridInfo
    overlay_ids: tuple[int, ...]


class RowImport(ABC, Generic[M]):
    """One kind of record: its columns, how a row becomes a record, how the records are written.

    `check` reports a row's problems into the report and returns its record only when it has none.
    Subclasses look up what a block of rows refers to in `prepare` (a few queries per block), and
    build each record in `build`, reporting with `error`."""

    kind: ClassVar[str]  # ImportBatch.kind
    noun: ClassVar[str]  # in messages: "Only collectors of base data import <noun>."
    headers: ClassVar[dict[str, tuple[str, ...]]]  # field → recognised column headers
    required: ClassVar[tuple[str, ...]]  # fields whose column the file must have
    required_values: ClassVar[tuple[str, ...]]  # fields every row must fill
    words: ClassVar[dict[str, dict[str, str]]]  # field → Chinese cell value → stored value
    choices: ClassVar[dict[str, type[models.TextChoices]]]  # fields with fixed values
    lengths: ClassVar[dict[str, int]]  # free-text fields → the model's max length

    def __init__(self, scope: Scope, report: Report) -> None:
        self.scope = scope
        self.report = report
        self.row_errors: list[RowError] = []
        self._grids: dict[int, GridInfo | None] = {}
        self.seen: dict[str, int] = {}  # the record's unique code → the first row holding it
        self.registered: set[str] = set()  # codes of the file registered already (`prepare` adds)

    # Columns and rows --------------------------------------------------------------------------

    def positions(self, header: list[str], mapping: Mapping[str, str] | None) -> dict[str, int]:
        return field_positions(header, mapping, self.headers, self.required)

    def check(self, records: list[Record], positions: dict[str, int]) -> list[M]:
        """The records of a block of rows; their problems go to the report in row order."""
        rows = [
            (row, {f: (cells[i] if i < len(cells) else "") for f, i in positions.items()})
            for row, cells in records
        ]
        self.prepare([values for _, values in rows])
        built: list[M] = []
        for row, values in rows:
            before = len(self.row_errors)
            self._common(row, values)
            record = self.build(row, values)
            if record is not None and len(self.row_errors) == before:
                built.append(record)
        self.row_errors.sort(key=lambda e: e.row)  # stable: each row's problems in column order
        for error in self.row_errors:
            self.report.add(error)
        self.row_errors.clear()
        return built

    def error(self, row: int, column: str, code: str, message: str) -> None:
        self.row_errors.append(RowError(row, column, code, message))

    def once(self, row: int, column: str, code: str, *, what: str, registered: tuple[str, str]) -> None:
        """Reports a unique code (`what` names it) held by an earlier row of the file, or registered
        already (`registered`: the error's code and message)."""
        first = self.seen.setdefault(code, row)
        if first != row:
            self.error(row, column, "duplicate_in_file", f"The same {what} as row {first}.")
        elif code in self.registered:
            self.error(row, column, *registered)

    def failed(self, row: int) -> bool:
        """Whether a problem of this row (the one being checked) was reported."""
        return bool(self.row_errors) and self.row_errors[-1].row == row

    def _common(self, row: int, values: dict[str, str]) -> None:
        """Required values, choices (Chinese words translated first) and lengths, in place."""
        for name in self.required_values:
            if not values.get(name):
                self.error(row, name, "required", "This field is required.")
        for name, choices in self.choices.items():
            value = values.get(name, "")
            if not value:
                continue
            value = self.words.get(name, {}).get(value, value)
            if value.lower() in choices.values:
                values[name] = value.lower()
            else:
                allowed = ", ".join(v for v in choices.values if v)
                self.error(row, name, "bad_choice", f"Not one of: {allowed}.")
        for name, length in self.lengths.items():
            if len(values.get(name, "")) > length:
                self.error(row, name, "too_long", f"Longer than {length} characters.")

    @abstractmethod
    def prepare(self, rows: list[dict[str, str]]) -> None:
        """Looks up what these rows refer to (codes registered already, grids, departments)."""

    @abstractmethod
    def build(self, row: int, values: dict[str, str]) -> M | None:
        """The record of a row, or None; every problem of the row is reported with `error`."""

    def write(self, records: list[M]) -> None:
        """Writes a good file's records (bulk inserts); importers of plans override this."""
        instances = [r for r in records if isinstance(r, models.Model)]
        assert len(instances) == len(records), "importers of plans write them themselves"
        if instances:
            type(instances[0])._default_manager.bulk_create(instances, batch_size=500)

    # Points and grids ---------------------------------------------------------------------------

    def place(
        self, row: int, values: dict[str, str], lon_lat: tuple[float, float] | None = None
    ) -> Place | None:
        """The row's point (its lon and lat columns, else `lon_lat` in WGS-84) located as
        `services.locate_base_grid` locates it: converted to WGS-84, in a base grid the importer
        collects in. None after reporting why not."""
        lon_text, lat_text = values.get("lon", ""), values.get("lat", "")
        system = values.get("system", "")
        if lon_text or lat_text:
            lon, lat = _number(lon_text), _number(lat_text)
            for column, number in (("lon", lon), ("lat", lat)):
                if number is None:
                    self.error(row, column, "bad_coordinate", "Not a number of decimal degrees.")
            if lon is None or lat is None:
                return None
        elif lon_lat is not None:
            (lon, lat), system = lon_lat, CoordSystem.WGS84
        else:
            self.error(row, "lon", "location_required", "Give the point's longitude and latitude.")
            return None
        system = SYSTEM_WORDS.get(system.lower(), system.lower()) or CoordSystem.WGS84
        if system not in SYSTEMS:
            self.error(row, "system", "bad_choice", f"Not one of: {', '.join(sorted(SYSTEMS))}.")
            return None
        try:
            location = locating.locate(lon, lat, system)
        except ValidationFailed as exc:
            self.error(row, "lon", exc.code, exc.message)
            return None
        grid = self._grid(location.grid_id)
        if grid is None:
            self.error(row, "lon", "outside_grids", "The point lies in no base grid.")
            return None
        if not self.scope.covers(grid.path, COLLECTORS):
            self.error(
                row, "lon", "outside_scope", "The point lies outside the grids where you record base data."
            )
            return None
        return Place(location.lon, location.lat, grid, location.overlay_ids)

    def _grid(self, grid_id: int | None) -> GridInfo | None:
        if grid_id is None:
            return None
        if grid_id not in self._grids:
            found = GridNode.objects.filter(pk=grid_id).values_list("pk", "path", "code").first()
            self._grids[grid_id] = GridInfo(*found) if found else None
        return self._grids[grid_id]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def run_import(
    importer: type[RowImport[M]],
    *,
    actor: Actor,
    stream: IO[bytes],
    filename: str,
    origin: Origin,
    mapping: Mapping[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportBatch:
    """Import the file's records; returns the applied batch, or raises `ValidationFailed` naming the
    refused batch (whose report lists every bad row) after rolling everything back. `progress` is
    called with the rows checked so far, then with the rows written."""
    opened = open_import(actor=actor, stream=stream, filename=filename, noun=importer.noun)
    user, rows = opened.user, opened.rows
    report = Report()
    checker = importer(opened.scope, report)
    positions = checker.positions(opened.header, mapping)
    try:
        with transaction.atomic():
            records: list[M] = []
            for block in chunks(rows, LOOKUP_ROWS):
                report.rows_total += len(block)
                records += checker.check(block, positions)
                if progress is not None:
                    progress(report.rows_total)
            if report.error_count:
                raise Refused()
            checker.write(records)
            report.rows_imported = len(records)
            if progress is not None:
                progress(report.rows_imported)
            return applied(
                actor=actor, user=user, kind=importer.kind, filename=filename, report=report, origin=origin
            )
    except Refused:
        pass
    except IntegrityError as exc:  # registered by someone else between the check and the write
        raise Conflict(
            f"Some of these {importer.noun} were registered meanwhile; nothing was imported. "
            "Import the file again for a row-by-row report.",
            code="import_conflict",
        ) from exc
    raise refused(actor=actor, user=user, kind=importer.kind, filename=filename, report=report, origin=origin)
