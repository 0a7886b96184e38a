"""Faults: the soak's load (benchmarks/soak.py) while the server and the database crash.

Builds (or reuses with --reuse) a database like the soak's (default `zhiwang_faults`), serves it
with gunicorn beside `zhiwang worker`, and runs the same mixed load for --minutes (default 4) with
clients that retry after an error with the same idempotency key. A third of the way in, the gunicorn
master and all its workers are killed with SIGKILL and gunicorn is started again; two thirds of the
way in, PostgreSQL is restarted (`pg_ctlcluster <version> main restart`, the Debian cluster) — but
only once no test run uses PostgreSQL (`pgrep -af pytest` empty; waited for up to 20 minutes, then
the restart is skipped and the result says so). Afterwards it checks that every case whose creation
was acknowledged (a 2xx with its id) exists exactly once under its idempotency key with that id,
that no case lacks its timeline entry and no timeline entry its case, and that the KPI rollups equal
a direct count over the cases.

Run: .venv/bin/python benchmarks/faults.py [--minutes 4] [--reuse]
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import soak

CHECK = r"""
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhiwang.settings")
django.setup()
from django.db.models import Count
from django.utils import timezone
from zhiwang.accounts.models import User
from zhiwang.cases import kpis, selectors
from zhiwang.cases.models import Case, CaseEvent
from zhiwang.grids.models import GridNode

acknowledged = json.load(open(sys.argv[1]))
run_id = sys.argv[2]
mine = Case.objects.filter(idempotency_key__startswith=run_id + "-")
stored = dict(mine.values_list("idempotency_key", "pk"))
per_key = mine.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1).count()
missing = [k for k, pk in acknowledged.items() if stored.get(k) != pk]
commander = User.objects.get(username="city")
city = GridNode.objects.get(level="city", valid_to__isnull=True)
now = timezone.now()
rolled = kpis.report(actor=commander, node=city, now=now).as_dict()
direct = kpis.compute(selectors.case_cohort(actor=commander, within_path=city.path), now=now).as_dict()
print(json.dumps({
    "acknowledged": len(acknowledged),
    "stored_for_this_run": len(stored),
    "acknowledged_missing_or_other_id": len(missing),
    "keys_stored_more_than_once": per_key,
    "cases_without_timeline": Case.objects.filter(events__isnull=True).count(),
    "timeline_entries_without_case": CaseEvent.objects.exclude(case_id__in=Case.objects.values("pk")).count(),
    "kpi_rollups_equal_direct_count": rolled == direct,
    "kpi_differences": {k: [rolled[k], direct.get(k)] for k in rolled if rolled[k] != direct.get(k)},
}))
"""


def cluster() -> list[str]:
    """The Debian cluster serving 127.0.0.1:5432 (version, name), from pg_lsclusters."""
    for line in subprocess.run(
        ["pg_lsclusters", "-h"], check=True, text=True, stdout=subprocess.PIPE
    ).stdout.splitlines():
        version, name, port, *_ = line.split()
        if port == "5432":
            return [version, name]
    raise RuntimeError("no PostgreSQL cluster on port 5432")


def wait_for_no_tests(limit_s: float = 1200) -> bool:
    """Whether no pytest runs (others' tests use PostgreSQL); waits up to `limit_s`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = subprocess.run(["pgrep", "-af", "pytest"], text=True, stdout=subprocess.PIPE).stdout
        if not found.strip():
            return True
        time.sleep(5)
    return False


class Faults:
    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.env, self.workers = env, workers
        self.server = soak.start_server(env, workers)
        self.log: list[dict[str, Any]] = []

    def kill_server(self) -> None:
        pids = soak.process_tree(self.server.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.server.wait()
        t0 = time.monotonic()
        self.server = soak.start_server(self.env, self.workers)
        self.log.append(
            {
                "fault": "kill -9 gunicorn master and workers",
                "processes_killed": len(pids),
                "back_in_s": round(time.monotonic() - t0, 1),
            }
        )

    def restart_postgresql(self) -> None:
        t0 = time.monotonic()
        if not wait_for_no_tests():
            self.log.append(
                {"fault": "PostgreSQL restart", "skipped": "test runs kept using PostgreSQL for 20 min"}
            )
            return
        waited = time.monotonic() - t0
        version, name = cluster()
        t1 = time.monotonic()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"], check=True)
        self.log.append(
            {
                "fault": f"pg_ctlcluster {version} {name} restart",
                "waited_for_tests_s": round(waited),
                "restart_s": round(time.monotonic() - t1, 1),
            }
        )


def main() -> None:
    args = soak.arguments(__doc__ or "", "zhiwang_faults", "faults.json", 4)
    env = soak.database_env(args.db)
    if not args.reuse:
        soak.build(args.db, env, args.scale, args.cases)
    plan = soak.prepare(env)
    faults = Faults(env, args.workers)
    worker = soak.start_worker(env)
    run_id = f"faults{int(time.time())}"
    load = soak.Load(plan=plan, minutes=args.minutes, max_cases=args.max_cases, run_id=run_id, retry=True)
    span = args.minutes * 60

    def inject() -> None:
        time.sleep(span / 3)
        faults.kill_server()
        time.sleep(span / 3)
        faults.restart_postgresql()

    injector = threading.Thread(target=inject, daemon=True)
    print(
        f"==> faults: {args.minutes} min of load, server killed at 1/3, PostgreSQL restarted at 2/3",
        flush=True,
    )
    try:
        injector.start()
        load.run()
        injector.join()
        worker_alive = worker.poll() is None
    finally:
        soak.stop(worker)
        soak.stop(faults.server)
    handle, name = tempfile.mkstemp(suffix=".json")
    os.close(handle)
    acknowledged = Path(name)
    acknowledged.write_text(json.dumps(load.acknowledged))
    checks = json.loads(
        soak.run([str(soak.VENV / "python"), "-c", CHECK, str(acknowledged), run_id], env, capture=True)
        .strip()
        .splitlines()[-1]
    )
    acknowledged.unlink()
    result = load.summary()
    passed = (
        worker_alive  # the background worker outlives the server's death and the database's restart
        and checks["acknowledged_missing_or_other_id"] == 0
        and checks["keys_stored_more_than_once"] == 0
        and checks["cases_without_timeline"] == 0
        and checks["timeline_entries_without_case"] == 0
        and checks["kpi_rollups_equal_direct_count"]
    )
    soak.write(
        args.json_path,
        {
            "minutes": args.minutes,
            "faults": faults.log,
            "retried_requests": load.disruptions,
            "background_worker_alive_after": worker_alive,
            **result,
            "checks": checks,
            "passed": passed,
            "history_cases": args.cases,
            "scale": args.scale,
        },
    )


if __name__ == "__main__":
    main()
