"""What the backup and restore commands share: turning a refusal into a clear message."""

from __future__ import annotations

from django.core.management.base import CommandError

from zhiwang.common.errors import ApplicationError


def command_error(exc: ApplicationError) -> CommandError:
    lines = [exc.message]
    details = exc.details if isinstance(exc.details, dict) else {}
    lines += [f"  - {problem}" for problem in details.get("problems", [])]
    return CommandError("\n".join(lines))
