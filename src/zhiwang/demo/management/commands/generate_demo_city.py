from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.demo.city import DEMO_PASSWORD, DemoCity, build_demo_city


class Command(BaseCommand):
    help = (
        "Generate the demo city (Dongguan's real divisions, synthetic geometry and staff) "
        "into an empty database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=float, default=0.25, help="1.0 = all 2,894 base grids (default 0.25)"
        )
        parser.add_argument("--seed", type=int, default=2018, help="random seed (default 2018)")

    def handle(self, *args: Any, scale: float, seed: int, **options: Any) -> None:
        started = time.monotonic()
        try:
            city = build_demo_city(scale=scale, seed=seed, progress=lambda m: self.stdout.write(f"  {m}"))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Demo city ready in {time.monotonic() - started:.1f} s."))
        print_summary(self, city)


def print_summary(command: BaseCommand, city: DemoCity) -> None:
    command.stdout.write(
        f"  {city.towns} towns/streets, {city.communities} villages/communities, {city.grids} base grids, "
        f"{city.workers} grid workers, {city.unstaffed} grids without a worker"
    )
    command.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for login in city.logins:
        command.stdout.write(f"  {login.username:<10} {login.role:<22} {login.place}")
