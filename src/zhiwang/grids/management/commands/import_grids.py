from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.accounts.models import User
from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import Origin
from zhiwang.grids.importing import grid_import_geojson


class Command(BaseCommand):
    help = "Import grids from a GeoJSON FeatureCollection, all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--as", dest="username", required=True, help="the administrator doing the import")
        parser.add_argument(
            "--effective", type=datetime.fromisoformat, default=None, help="ISO time with zone"
        )
        parser.add_argument("--reason", default="")

    def handle(
        self, *args: Any, file: Path, username: str, effective: datetime | None, reason: str, **options: Any
    ) -> None:
        actor = User.objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {username!r}.")
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        try:
            result = grid_import_geojson(
                actor=actor, data=data, origin=Origin.cli(), effective_at=effective, reason=reason
            )
        except ApplicationError as exc:
            for problem in exc.details or []:
                self.stderr.write(f"  {problem['message']}")
            raise CommandError(exc.message) from exc
        created, updated, unchanged = len(result.created), len(result.updated), len(result.unchanged)
        self.stdout.write(
            self.style.SUCCESS(f"Imported: {created} created, {updated} updated, {unchanged} unchanged.")
        )
