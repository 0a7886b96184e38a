"""`zhiwang`: the one console command for every operator task.

`zhiwang demo`, `zhiwang import-grids FILE`, `zhiwang migrate`, ... Each subcommand is a Django
management command; dashes in the name are accepted for underscores.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhiwang.settings")
    args = list(sys.argv if argv is None else argv)
    args[0] = "zhiwang"
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
