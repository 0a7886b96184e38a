"""`zhiwang hotline-account --city 441900`: set up the 12345 hotline's machine account."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import Origin
from zhiwang.hotline.account import account_ensure


class Command(BaseCommand):
    help = "Create the 12345 hotline's machine account with the city commander role over a city."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--city", required=True, help="The code of the city the hotline serves.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = account_ensure(city_code=options["city"], origin=Origin.cli())
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"The hotline acts as {user.get_username()} over city {options['city']}.")
