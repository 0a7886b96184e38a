from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.accounts.models import User
from zhiwang.accounts.services import token_issue
from zhiwang.common.origin import Origin


class Command(BaseCommand):
    help = "Issue an API token for a user (a machine client). The key is printed once, on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("name", help="what the token is for")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        root = User.objects.filter(is_superuser=True, is_active=True).first()
        issued = token_issue(actor=root or user, user_id=user.pk, name=name, origin=Origin.cli())
        self.stdout.write(f"Token {issued.token.prefix}… for {username} ({name}):")
        self.stdout.write(issued.key)
