"""`zhiwang restore ARCHIVE [--yes]`: put the database and the uploaded files back from an archive.

The archive is checked completely first; a damaged, altered or incompatible one is refused before
anything changes. Stop the web servers and workers before restoring.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from zhiwang.common.errors import ApplicationError
from zhiwang.operations.management.commands._output import command_error
from zhiwang.operations.services import backup_restore


class Command(BaseCommand):
    help = "Restore the database and the uploaded files from a backup archive (after checking it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")

    def handle(self, *args: Any, archive: Path, yes: bool, database: str, **options: Any) -> None:
        if not yes:
            self.confirm(database)
        try:
            report = backup_restore(archive=archive, database=database, progress=self.progress)
        except ApplicationError as exc:
            raise command_error(exc) from exc
        for table in report.dropped_tables:
            self.stdout.write(f"Dropped table {table} (newer than the archive; run `zhiwang migrate`).")
        self.stdout.write(
            f"Restored {archive}: {len(report.row_counts)} tables, {report.rows:,} rows (every count "
            f"matches the manifest), {report.media_files:,} uploaded files."
        )

    def confirm(self, database: str) -> None:
        name = connections[database].settings_dict["NAME"]
        if not sys.stdin.isatty():
            raise CommandError("Restoring replaces every record and uploaded file: pass --yes to confirm.")
        answer = input(f"This replaces the database {name} and every uploaded file. Type 'yes' to go on: ")
        if answer.strip().lower() != "yes":
            raise CommandError("Restore cancelled; nothing was changed.")

    def progress(self, message: str) -> None:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()
