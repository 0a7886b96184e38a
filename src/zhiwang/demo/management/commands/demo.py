from __future__ import annotations

import atexit
import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from zhiwang.common.origin import Origin
from zhiwang.demo.city import build_demo_city
from zhiwang.demo.management.commands.generate_demo_city import print_summary
from zhiwang.grids.models import GridNode
from zhiwang.open311.services import key_issue_for


class Command(BaseCommand):
    help = (
        "Create the embedded SQLite database, generate the demo city and serve it on http://127.0.0.1:8000."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale", type=float, default=0.25, help="1.0 = all 2,894 base grids (default 0.25)"
        )
        parser.add_argument("--seed", type=int, default=2018)
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address to serve on")
        parser.add_argument("--no-serve", action="store_true", help="build the city and stop")
        parser.add_argument("--no-worker", action="store_true", help="do not start the background worker")
        parser.add_argument(
            "--second-factor",
            action="store_true",
            help="require TOTP for administrators and commanders, as in production",
        )

    def _start_worker(self) -> subprocess.Popen[bytes]:
        """`zhiwang worker` beside the server: deadline warnings, escalations, notification delivery."""
        worker = subprocess.Popen([sys.executable, "-m", "zhiwang.cli", "worker"], env=os.environ.copy())
        atexit.register(worker.terminate)
        self.stdout.write(f"Background worker started (pid {worker.pid}): deadlines and notifications.")
        return worker

    def _print_open311_key(self, addr: str) -> None:
        """A fresh key for the demo's Open311 client application (earlier demo keys are retired)."""
        issued = key_issue_for(name="Demo app", origin=Origin.cli(), rotate=True)
        self.stdout.write(f"Open311 GeoReport v2: http://{addr}/open311/v2/discovery.json")
        self.stdout.write(f"  API key of the demo client application: {issued.key}")

    def handle(
        self,
        *args: Any,
        scale: float,
        seed: int,
        addr: str,
        no_serve: bool,
        second_factor: bool,
        **options: Any,
    ) -> None:
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        self.stdout.write(f"Database: {settings.DATABASES['default']['NAME']}")
        call_command("migrate", interactive=False, verbosity=0)
        if GridNode.objects.exists():
            self.stdout.write("The demo city is already there (delete the database file to build it anew).")
        else:
            city = build_demo_city(scale=scale, seed=seed, progress=lambda m: self.stdout.write(f"  {m}"))
            print_summary(self, city)
        self._print_open311_key(addr)
        if no_serve:
            return
        if not second_factor:
            # The demo's logins work without an authenticator app; production keeps TOTP on.
            settings.ZHIWANG_TOTP_REQUIRED = False
        if not options.get("no_worker"):
            self._start_worker()
        self.stdout.write(self.style.SUCCESS(f"Serving the demo city on http://{addr}/ (Ctrl+C stops)"))
        call_command("runserver", addr, use_reloader=False, use_threading=True)
