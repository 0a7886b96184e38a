"""`zhiwang generate-city`: the demo city at full size with its grid workers and years of cases."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.demo import bulk
from zhiwang.demo.city import build_demo_city
from zhiwang.demo.management.commands.generate_demo_city import print_summary
from zhiwang.grids.models import GridNode


class Command(BaseCommand):
    help = (
        "Generate the demo city at a scale of Dongguan (1.0: 2,894 base grids, ~10,000 grid workers) "
        "and load its case history in bulk (default: 4.5 million cases over 2.5 years at scale 1.0)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the whole city (default)")
        parser.add_argument(
            "--cases", type=int, default=None, help="cases to load (default: 4,500,000 × scale)"
        )
        parser.add_argument("--seed", type=int, default=2018, help="random seed (default 2018)")
        parser.add_argument(
            "--cases-only",
            action="store_true",
            help="load the cases into the city already in the database instead of building one",
        )

    def handle(
        self, *args: Any, scale: float, cases: int | None, seed: int, cases_only: bool, **options: Any
    ) -> None:
        if not 0 < scale <= 1:
            raise CommandError("--scale must be greater than 0 and at most 1.")
        count = bulk.default_case_count(scale) if cases is None else cases
        if count < 0:
            raise CommandError("--cases cannot be negative.")
        started = time.monotonic()
        if cases_only:
            if not GridNode.objects.exists():
                raise CommandError("There is no city in the database to load cases into.")
        else:
            try:
                city = build_demo_city(scale=scale, seed=seed, progress=self._say)
            except ValueError as exc:
                raise CommandError(f"{exc} (use --cases-only to add cases to it)") from exc
            print_summary(self, city)
        added = bulk.staff_to(target=round(bulk.DONGGUAN_WORKERS * scale), seed=seed)
        self._say(f"Added {added:,} part-time and professional grid workers.")
        self._say(f"Loading {count:,} cases over 2.5 years…")
        try:
            bulk.generate_cases(count=count, seed=seed, progress=self._say)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"City ready in {time.monotonic() - started:.0f} s."))

    def _say(self, message: str) -> None:
        self.stdout.write(f"  {message}", ending="\n")
        self.stdout.flush()
