from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhiwang.accounts.models import User
from zhiwang.grids.models import GridNode
from zhiwang.grids.selectors import grid_export


class Command(BaseCommand):
    help = "Export grids (a subtree, or everything the user may read) as GeoJSON to standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as", dest="username", required=True)
        parser.add_argument("--root", help="code of the subtree's root (current grid)")

    def handle(self, *args: Any, username: str, root: str | None, **options: Any) -> None:
        actor = User.objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {username!r}.")
        root_id = None
        if root:
            node = GridNode.objects.filter(code=root, valid_to__isnull=True).first()
            if node is None:
                raise CommandError(f"No current grid {root}.")
            root_id = node.pk
        data = grid_export(actor=actor, root_id=root_id)
        self.stdout.write(json.dumps(data, ensure_ascii=False))
