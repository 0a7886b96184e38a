"""`zhiwang open311 create-key NAME`: a client application (created when missing) and a new key,
printed on the last line. `zhiwang open311 revoke-key PREFIX` and `zhiwang open311 list` too."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import Origin
from zhiwang.open311 import services
from zhiwang.open311.models import ClientApplication


class Command(BaseCommand):
    help = "Manage Open311 client applications and their API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create-key", help="create an application if needed and print a new key")
        create.add_argument("name")
        create.add_argument("--contact", default="", help="who runs the application")
        create.add_argument("--rotate", action="store_true", help="revoke the application's earlier keys")
        revoke = actions.add_parser("revoke-key", help="revoke a key by its first characters")
        revoke.add_argument("prefix")
        actions.add_parser("list", help="list the applications and their keys")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "create-key":
                self._create(options["name"], options["contact"], options["rotate"])
            elif action == "revoke-key":
                count = services.key_revoke(prefix=options["prefix"], origin=Origin.cli())
                self.stdout.write(f"{count} key(s) revoked.")
            else:
                self._list()
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

    def _create(self, name: str, contact: str, rotate: bool) -> None:
        issued = services.key_issue_for(name=name, contact=contact, origin=Origin.cli(), rotate=rotate)
        self.stdout.write(f"Open311 application: {issued.application.name} (keep the key secret)")
        self.stdout.write(issued.key)

    def _list(self) -> None:
        for application in ClientApplication.objects.prefetch_related("keys"):
            active = [key.prefix for key in application.keys.all() if key.revoked_at is None]
            state = "active" if application.is_active else "inactive"
            self.stdout.write(f"{application.name} ({state}): {', '.join(active) or 'no active key'}")
