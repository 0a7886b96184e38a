"""`zhiwang backup [--output DIR_OR_FILE]`: one archive of the database and the uploaded files.

`zhiwang backup --verify ARCHIVE` checks an archive (manifest, checksums, database vendor,
migrations) without changing anything.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from zhiwang.common.errors import ApplicationError
from zhiwang.operations.management.commands._output import command_error
from zhiwang.operations.manifest import Manifest
from zhiwang.operations.services import backup_create, backup_verify, human_size


class Command(BaseCommand):
    help = "Back up the database and the uploaded files into one archive (tar.gz with a manifest)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            help="directory (a dated name is chosen) or file to write (default: var/backups/)",
        )
        parser.add_argument("--verify", type=Path, metavar="ARCHIVE", help="only check this archive")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="database alias (default: default)")

    def handle(
        self, *args: Any, output: str | None, verify: Path | None, database: str, **options: Any
    ) -> None:
        try:
            if verify is not None:
                manifest = backup_verify(archive=verify, database=database)
                self.report_verified(verify, manifest)
                return
            result = backup_create(output=output, database=database, progress=self.progress)
        except ApplicationError as exc:
            raise command_error(exc) from exc
        self.stdout.write(f"Backup written: {result.path} ({human_size(result.size)})")

    def progress(self, message: str) -> None:
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()

    def report_verified(self, path: Path, manifest: Manifest) -> None:
        rows = sum(manifest.row_counts.values())
        self.stdout.write(
            f"{path}: OK. Made {manifest.created_at} by zhiwang {manifest.app_version} "
            f"({manifest.database_vendor}); {len(manifest.row_counts)} tables, {rows:,} rows, "
            f"{len(manifest.media_members):,} uploaded files, {len(manifest.migrations)} migrations; "
            "every checksum matches."
        )
