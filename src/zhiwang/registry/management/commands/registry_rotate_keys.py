"""`zhiwang registry-rotate-keys`: re-encrypt personal data under the first key of ZHIWANG_DATA_KEYS."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from zhiwang.common.origin import Origin
from zhiwang.registry.rotation import rotate_keys


class Command(BaseCommand):
    help = "Re-encrypt ID and phone numbers written under older keys with the current data key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Rewrite every value and hash (after changing ZHIWANG_LOOKUP_KEY).",
        )
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(column: str, rows: int) -> None:
            sys.stderr.write(f"\r{column}: {rows:,} rewritten")
            sys.stderr.flush()

        counts = rotate_keys(
            origin=Origin.cli(),
            everything=options["all"],
            batch_size=options["batch_size"],
            progress=progress,
        )
        sys.stderr.write("\n")
        for column, count in counts.items():
            self.stdout.write(f"{column}: {count:,} values re-encrypted")
