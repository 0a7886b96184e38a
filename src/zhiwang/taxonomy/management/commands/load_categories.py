from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.accounts.models import User
from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import Origin
from zhiwang.taxonomy.services import (
    DEFAULT_FILE,
    ImportResult,
    category_import,
    load_default_categories,
    read_category_file,
)


class Command(BaseCommand):
    help = (
        "Import a case category table (JSON, see zhiwang/taxonomy/data/README.md), all or nothing. "
        "Without FILE, the bundled table is loaded; without --as, only the bundled table, as the system."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, nargs="?", default=None, help="the category file")
        parser.add_argument(
            "--as", dest="username", default=None, help="the city administrator doing the import"
        )
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="deactivate saved categories the file does not list",
        )

    def handle(
        self,
        *args: Any,
        file: Path | None,
        username: str | None,
        deactivate_missing: bool,
        **options: Any,
    ) -> None:
        try:
            if username is None:
                if file is not None and file.resolve() != DEFAULT_FILE:
                    raise CommandError("Name the administrator doing the import with --as USERNAME.")
                result = load_default_categories(origin=Origin.cli(), deactivate_missing=deactivate_missing)
            else:
                actor = User.objects.filter(username=username, is_active=True).first()
                if actor is None:
                    raise CommandError(f"No active user {username!r}.")
                result = category_import(
                    actor=actor,
                    data=read_category_file(file or DEFAULT_FILE),
                    origin=Origin.cli(),
                    deactivate_missing=deactivate_missing,
                )
        except ApplicationError as exc:
            for problem in exc.details or []:
                if isinstance(problem, dict):
                    where = problem.get("code") or "file"
                    field = f" ({problem['field']})" if problem.get("field") else ""
                    self.stderr.write(f"  {where}{field}: {problem.get('message')}")
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(summary(result)))


def summary(result: ImportResult) -> str:
    return (
        f"Categories: {len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged, {len(result.deactivated)} deactivated."
    )
