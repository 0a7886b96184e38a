from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import Origin
from zhiwang.workcalendar.seeding import package_version, package_years
from zhiwang.workcalendar.services import calendar_seed


class Command(BaseCommand):
    help = (
        "Load China's holiday arrangements (holidays and make-up working days) from the chinesecalendar "
        "package into the working calendar. Idempotent; years published by an administrator are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "years", nargs="*", type=int, help="only these years (default: every year the package covers)"
        )

    def handle(self, *args: Any, years: list[int], **options: Any) -> None:
        covered = package_years()
        try:
            counts = calendar_seed(origin=Origin.cli(), years=years or None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"chinesecalendar {package_version()} covers {covered.start}–{covered.stop - 1}.")
        if counts.years_skipped:
            skipped = ", ".join(str(y) for y in counts.years_skipped)
            self.stdout.write(f"Kept the arrangements published by an administrator for: {skipped}.")
        if not counts.changed:
            self.stdout.write(self.style.SUCCESS("The calendar is up to date; nothing changed."))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded: {len(counts.years_added)} year(s) added, {counts.days_created} day(s) created, "
                f"{counts.days_updated} updated, {counts.days_deleted} removed."
            )
        )
