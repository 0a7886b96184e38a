"""Importing base data from CSV or Excel: every row validated, then all of the file or none of it.

- `tables`: reading the files (CSV streamed as UTF-8 or GB18030, .xlsx), finding the columns, the
  row-by-row report of each `ImportBatch`.
- `persons`: residents, in two passes for millions of rows (worker processes, COPY on PostgreSQL).
- `units` and `facilities`: units (enterprises, shops, 三小场所) and city components (部件), in one
  pass checked as their services check one record (`records` holds what they share with `places`).
- `places`: standard addresses with their buildings and rooms, one flat row per door plate, building
  or room.

`import_file` imports a file of any of these kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any

from zhiwang.common.errors import ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.registry.importing.facilities import FacilityImport, import_facilities
from zhiwang.registry.importing.persons import HEADERS, column_positions, import_persons
from zhiwang.registry.importing.places import PlaceImport, import_places
from zhiwang.registry.importing.records import RowImport, run_import
from zhiwang.registry.importing.tables import (
    MAX_REPORTED_ERRORS,
    Record,
    Report,
    RowError,
    read_table,
    report_csv,
)
from zhiwang.registry.importing.units import UnitImport, import_units
from zhiwang.registry.models import ImportBatch
from zhiwang.registry.permissions import Actor

__all__ = [
    "HEADERS",
    "IMPORT_KINDS",
    "MAX_REPORTED_ERRORS",
    "FacilityImport",
    "PlaceImport",
    "Record",
    "Report",
    "RowError",
    "UnitImport",
    "column_positions",
    "import_facilities",
    "import_file",
    "import_persons",
    "import_places",
    "import_units",
    "read_table",
    "report_csv",
]

IMPORTERS: dict[str, type[RowImport[Any]]] = {
    "units": UnitImport,
    "facilities": FacilityImport,
    "places": PlaceImport,
}
IMPORT_KINDS = ("persons", *IMPORTERS)


def import_file(
    *,
    kind: str,
    actor: Actor,
    stream: IO[bytes],
    filename: str,
    origin: Origin,
    mapping: Mapping[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportBatch:
    """Import a file of residents ("persons"), units, facilities or places; see each kind's module."""
    if kind == "persons":
        return import_persons(
            actor=actor,
            stream=stream,
            filename=filename,
            origin=origin,
            mapping=dict(mapping) if mapping is not None else None,
            progress=progress,
        )
    importer = IMPORTERS.get(kind)
    if importer is not None:
        return run_import(
            importer,
            actor=actor,
            stream=stream,
            filename=filename,
            origin=origin,
            mapping=mapping,
            progress=progress,
        )
    raise unknown_kind()


def unknown_kind() -> ValidationFailed:
    """The refusal of a kind of file the import does not know."""
    return ValidationFailed(
        f"Import one of: {', '.join(IMPORT_KINDS)}.", code="bad_kind", details={"kinds": list(IMPORT_KINDS)}
    )
