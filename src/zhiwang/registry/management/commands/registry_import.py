"""`zhiwang registry-import FILE --user NAME [--kind persons|units|facilities|places] [--mapping JSON]`:
import residents (the default), units, facilities or places (addresses, buildings, rooms), all or
nothing."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.accounts.models import User
from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import Origin
from zhiwang.registry.importing import IMPORT_KINDS, import_file, report_csv
from zhiwang.registry.models import ImportBatch

NOUNS = {"persons": "residents", "units": "units", "facilities": "facilities", "places": "rows of places"}


class Command(BaseCommand):
    help = (
        "Import residents, units, facilities or places (addresses, buildings, rooms) from a CSV or "
        ".xlsx file as a user "
        "(validated, all or nothing)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--as",
            "--user",
            dest="user",
            required=True,
            help="The importing user's username (their scope applies).",
        )
        parser.add_argument(
            "--kind",
            choices=IMPORT_KINDS,
            default="persons",
            help="What the file holds: persons (residents, the default), units, facilities or places "
            "(standard addresses with their buildings and rooms).",
        )
        parser.add_argument(
            "--mapping", default="", help='JSON object: field → column header, e.g. {"name": "姓名"}.'
        )
        parser.add_argument(
            "--report", type=Path, help="Where to write the row-by-row report of a refused file."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['user']!r}.")
        try:
            mapping = json.loads(options["mapping"]) if options["mapping"] else None
        except json.JSONDecodeError as exc:
            raise CommandError("--mapping is not JSON.") from exc
        path: Path = options["file"]
        started = time.monotonic()

        def progress(rows: int) -> None:
            rate = rows / max(time.monotonic() - started, 1e-6)
            sys.stderr.write(f"\r{rows:,} rows checked ({rate:,.0f} rows/s)")
            sys.stderr.flush()

        try:
            with path.open("rb") as stream:
                batch = import_file(
                    kind=options["kind"],
                    actor=user,
                    stream=stream,
                    filename=path.name,
                    mapping=mapping,
                    origin=Origin.cli(),
                    progress=progress,
                )
        except ApplicationError as exc:
            sys.stderr.write("\n")
            details = exc.details if isinstance(exc.details, dict) else {}
            refused = ImportBatch.objects.filter(pk=int(details.get("batch_id") or 0)).first()
            if refused is not None and options["report"]:
                Path(options["report"]).write_text(report_csv(refused), encoding="utf-8")
            for error in details.get("errors", [])[:20]:
                self.stderr.write(f"row {error['row']} {error['column']}: {error['message']}")
            raise CommandError(exc.message) from exc
        sys.stderr.write("\n")
        noun = NOUNS[options["kind"]]
        added = "".join(f", {count:,} {kind}" for kind, count in batch.added.items())
        self.stdout.write(f"Imported {batch.rows_imported:,} {noun}{added} (batch {batch.pk}).")
