"""Soak: the full-size city on PostgreSQL under a mixed workload at 5× Dongguan's busiest hour.

Builds (or reuses with --reuse) the database `zhiwang_soak` with `zhiwang generate-city` (the
full-size city, ~10,000 grid workers and --cases cases of history), serves it with gunicorn on
127.0.0.1 beside `zhiwang worker`, and drives it for --minutes (default 10) from Python threads over
keep-alive connections (http.client): reports through `POST /api/v1/cases` with idempotency keys,
each case then accepted and dispatched by the city commander and signed and handled by the
department's handler (each with a token of that role), work-queue reads and KPI reads. The run is
bounded in time and in cases (--max-cases). It reports errors (the goal is none), p50/p99 per
operation, and the RSS of the gunicorn processes (from /proc) sampled every 5 s: flat if the last
minute's mean is within 10% of the first minute's.

The rate (see RATE_NOTE): Dongguan received 4.48 million reports from 2018 over 2.5 years (915
days), 4,896 a day on average. The busiest day is about 2× the average (1.5× in the May–June rainy
season, 1.3× on the busiest weekday), and the busiest hour of a day carries about 12% of it
(reports come by day): 4,896 × 2 × 0.12 ≈ 1,175 reports in the busiest hour. Five times that is
5,875 an hour, 1.63 reports/s. Each report then takes four transitions, and staff read their queues
and the KPIs while they work (three queue reads and one KPI read per report here).

Run: .venv/bin/python benchmarks/soak.py [--minutes 10] [--reuse]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
PORT = 8766
AVERAGE_DAY = 4_480_000 / 915
BUSIEST_HOUR = AVERAGE_DAY * 2 * 0.12
REPORTS_PER_S = 5 * BUSIEST_HOUR / 3600
RATE_NOTE = (
    "4.48 million reports over 915 days = 4,896/day; busiest day 2x the average, busiest hour 12% of "
    f"a day: {BUSIEST_HOUR:,.0f} reports/h; 5x = {5 * BUSIEST_HOUR:,.0f}/h = {REPORTS_PER_S:.2f} reports/s, "
    "each followed by accept, dispatch, sign and handle, with 3 queue reads and 1 KPI read per report"
)
# The next step of a case after each operation, and who takes it.
NEXT = {"intake": "accept", "accept": "dispatch", "dispatch": "sign", "sign": "handle"}
AS = {"accept": "city", "dispatch": "city", "sign": "handler", "handle": "handler"}
# Where a case stands once the operation has been applied (to recognise a step applied before a crash).
REACHED = {"accept": "accepted", "dispatch": "dispatched", "sign": "signed", "handle": "handled"}
ORDER = ["reported", "accepted", "dispatched", "signed", "handled", "revisit", "closed"]

SETUP = r"""
import io, json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhiwang.settings")
django.setup()
from django.core.management import call_command
from zhiwang.accounts.models import Role, RoleAssignment
from zhiwang.grids.models import GridNode
from zhiwang.taxonomy.models import Category

def token(username):
    out = io.StringIO()
    call_command("create_token", username, "soak", stdout=out)
    return out.getvalue().strip().splitlines()[-1]

handler = RoleAssignment.objects.select_related("department__jurisdiction").get(user__username="handler")
town = handler.department.jurisdiction
workers = list(
    RoleAssignment.objects.filter(role=Role.GRID_WORKER, grid__path__startswith=town.path)
    .select_related("user", "grid").order_by("grid__code")[:12]
)
categories = list(
    Category.objects.filter(parent__isnull=False, is_active=True, department_kind="urban",
                            time_limit__isnull=False, overlay_layer="").values_list("code", flat=True)[:8]
)
print(json.dumps({
    "city": token("city"),
    "handler": token("handler"),
    "department_id": handler.department_id,
    "town_id": town.pk,
    "city_id": GridNode.objects.get(level="city", valid_to__isnull=True).pk,
    "workers": [[token(w.user.username), w.grid.label_lon, w.grid.label_lat] for w in workers],
    "categories": categories,
}))
"""


def run(cmd: list[str], env: dict[str, str] | None = None, capture: bool = False) -> str:
    result = subprocess.run(
        cmd, cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return result.stdout if capture else ""


def database_env(db: str) -> dict[str, str]:
    url = f"postgres://postgres@127.0.0.1:5432/{db}"
    return {**os.environ, "DATABASE_URL": url, "ZHIWANG_LOG_LEVEL": "WARNING"}


def build(db: str, env: dict[str, str], scale: float, cases: int) -> None:
    run(["scripts/ensure-postgres", "postgres"])
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", db], check=True)
    run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db])
    print(f"==> building {db}: generate-city --scale {scale} --cases {cases}", flush=True)
    run([str(VENV / "zhiwang"), "migrate", "-v", "0"], env)
    run([str(VENV / "zhiwang"), "generate-city", "--scale", str(scale), "--cases", str(cases)], env)


def prepare(env: dict[str, str]) -> dict[str, Any]:
    """Tokens of the roles the load acts as, and what it reports."""
    return json.loads(run([str(VENV / "python"), "-c", SETUP], env, capture=True).strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- the server --------------------------------------------------------------------------------


def start_server(env: dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            str(VENV / "gunicorn"),
            "zhiwang.wsgi:application",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
            "--keep-alive",
            "30",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    wait_until_serving()
    return server


def wait_until_serving(limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/ping", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(VENV / "zhiwang"), "worker"], cwd=ROOT, env=env, start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stops the process group (politely, then not); one that has ended already is left alone."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def process_tree(root: int) -> list[int]:
    """The pid and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


@dataclass
class MemorySampler:
    """RSS of the gunicorn master and its workers every `every` seconds."""

    master: Callable[[], int]
    every: float = 5.0
    samples: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.started = time.monotonic()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append((time.monotonic() - self.started, rss_mb(process_tree(self.master()))))

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if not self.samples:
            return {}
        end = self.samples[-1][0]
        first = [mb for t, mb in self.samples if t <= 60] or [self.samples[0][1]]
        last = [mb for t, mb in self.samples if t >= end - 60]
        first_mb, last_mb = statistics.mean(first), statistics.mean(last)
        return {
            "samples": len(self.samples),
            "every_s": self.every,
            "first_minute_mb": round(first_mb, 1),
            "last_minute_mb": round(last_mb, 1),
            "growth": round(last_mb / first_mb - 1, 3),
            "flat": last_mb <= first_mb * 1.10,
            "max_mb": round(max(mb for _, mb in self.samples), 1),
        }


# --- the load ----------------------------------------------------------------------------------


@dataclass(order=True)
class Job:
    due: float
    seq: int
    op: str = field(compare=False)
    case_id: int = field(default=0, compare=False)
    key: str = field(default="", compare=False)
    attempt: int = field(default=0, compare=False)


class Failure(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status} {body[:200]}")
        self.status = status


@dataclass
class Load:
    """Threads over keep-alive connections; a pacer emits reports and reads as Poisson arrivals."""

    plan: dict[str, Any]
    minutes: float
    max_cases: int
    run_id: str
    retry: bool = False  # retry after errors with the same idempotency key (the fault run)
    threads: int = 12
    reads_per_report: float = 3.0
    kpis_per_report: float = 1.0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    disruptions: int = 0
    acknowledged: dict[str, int] = field(default_factory=dict)  # idempotency key -> case id
    completed: int = 0  # cases handled
    _jobs: queue.PriorityQueue[Job] = field(default_factory=queue.PriorityQueue)
    _seq: Any = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        self.until = time.monotonic() + self.minutes * 60
        workers = [threading.Thread(target=self._work, daemon=True) for _ in range(self.threads)]
        for thread in workers:
            thread.start()
        self._pace()
        # Let the cases in flight finish their steps (bounded).
        grace = time.monotonic() + (180 if self.retry else 60)
        while time.monotonic() < grace and not self._jobs.empty():
            time.sleep(0.5)
        self.until = 0.0
        for thread in workers:
            thread.join(timeout=35)

    def _pace(self) -> None:
        rng = random.Random(7)
        rate = REPORTS_PER_S * (1 + self.reads_per_report + self.kpis_per_report)
        reports = 0
        while time.monotonic() < self.until and reports < self.max_cases:
            time.sleep(rng.expovariate(rate))
            pick = rng.random() * (1 + self.reads_per_report + self.kpis_per_report)
            if pick < 1:
                reports += 1
                self.put("intake", key=f"{self.run_id}-{reports}")
            elif pick < 1 + self.reads_per_report:
                self.put(rng.choice(["queue_to_accept", "queue_in_hand"]))
            else:
                self.put(rng.choice(["kpis_city", "kpis_town"]))

    def put(self, op: str, *, case_id: int = 0, key: str = "", attempt: int = 0, delay: float = 0) -> None:
        due = time.monotonic() + delay
        self._jobs.put(Job(due, next(self._seq), op, case_id, key, attempt))

    def _work(self) -> None:
        conn = self._connect()
        rng = random.Random(threading.get_ident())
        while self.until:
            try:
                job = self._jobs.get(timeout=0.5)
            except queue.Empty:
                continue
            wait = job.due - time.monotonic()
            if wait > 0:
                self._jobs.put(job)
                time.sleep(min(wait, 0.05))
                continue
            try:
                self._do(conn, job, rng)
            except (OSError, http.client.HTTPException, Failure) as exc:
                conn.close()
                conn = self._connect()
                self._failed(job, exc)

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)

    def _request(
        self, conn: http.client.HTTPConnection, method: str, path: str, token: str, body: Any = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        if response.status >= 300:
            raise Failure(response.status, raw.decode(errors="replace"))
        return response.status, json.loads(raw) if raw else None

    def _do(self, conn: http.client.HTTPConnection, job: Job, rng: random.Random) -> None:
        plan = self.plan
        started = time.perf_counter()
        if job.op == "intake":
            token, lon, lat = rng.choice(plan["workers"])
            body = {
                "channel": "grid_worker",
                "lon": lon + rng.uniform(-1e-5, 1e-5),
                "lat": lat + rng.uniform(-1e-5, 1e-5),
                "category": rng.choice(plan["categories"]),
                "description": "巡查发现路边有一堆生活垃圾，已有异味",
                "idempotency_key": job.key,
            }
            _, case = self._request(conn, "POST", "/api/v1/cases", token, body)
            with self._lock:
                self.acknowledged[job.key] = case["id"]
            self.put("accept", case_id=case["id"], delay=rng.uniform(0.5, 3))
        elif job.op in REACHED:
            path = f"/api/v1/cases/{job.case_id}/{job.op}"
            body = {"department_id": plan["department_id"]} if job.op == "dispatch" else {}
            body = {"result": "已清运完毕，现场整洁"} if job.op == "handle" else body
            self._request(conn, "POST", path, plan[AS[job.op]], None if job.op == "sign" else body)
            self._advance(job, rng)
        elif job.op.startswith("queue_"):
            who = "city" if job.op == "queue_to_accept" else "handler"
            self._request(conn, "GET", f"/api/v1/cases?queue={job.op[6:]}&limit=20", plan[who])
        else:
            # The dashboard's headline: the city's or a town's figures from the KPI rollups.
            node = plan["town_id"] if job.op == "kpis_town" else plan["city_id"]
            self._request(conn, "GET", f"/api/v1/kpis?node={node}", plan["city"])
        with self._lock:
            self.latencies.setdefault(job.op, []).append((time.perf_counter() - started) * 1000)

    def _advance(self, job: Job, rng: random.Random) -> None:
        if job.op in NEXT:
            self.put(NEXT[job.op], case_id=job.case_id, delay=rng.uniform(0.5, 3))
        else:
            with self._lock:
                self.completed += 1

    def _failed(self, job: Job, exc: Exception) -> None:
        if self.retry and job.attempt < 40 and self.until:
            if isinstance(exc, Failure) and exc.status < 500 and job.op in REACHED:
                # Applied before the connection broke? Then the step is done.
                if self._reached(job):
                    self._advance(job, random.Random())
                    return
            elif not isinstance(exc, Failure) or exc.status >= 500:
                with self._lock:
                    self.disruptions += 1
                self.put(job.op, case_id=job.case_id, key=job.key, attempt=job.attempt + 1, delay=1.0)
                return
        with self._lock:
            self.errors[job.op] = self.errors.get(job.op, 0) + 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{job.op}: {exc}")

    def _reached(self, job: Job) -> bool:
        conn = self._connect()
        try:
            _, case = self._request(conn, "GET", f"/api/v1/cases/{job.case_id}", self.plan["city"])
        except (OSError, http.client.HTTPException, Failure):
            return False
        finally:
            conn.close()
        status = case.get("status", "")
        return status in ORDER and ORDER.index(status) >= ORDER.index(REACHED[job.op])

    def summary(self) -> dict[str, Any]:
        def pct(values: list[float], q: float) -> float:
            ordered = sorted(values)
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        return {
            "operations": {
                op: {"count": len(v), "p50_ms": pct(v, 0.5), "p99_ms": pct(v, 0.99)}
                for op, v in sorted(self.latencies.items())
            },
            "requests": sum(len(v) for v in self.latencies.values()),
            "errors": sum(self.errors.values()),
            "errors_by_operation": self.errors,
            "error_samples": self.error_samples,
            "cases_reported": len(self.acknowledged),
            "cases_handled": self.completed,
        }


def count_run_cases(env: dict[str, str], run_id: str) -> int:
    code = (
        "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'zhiwang.settings'); "
        "django.setup(); from zhiwang.cases.models import Case; "
        f"print(Case.objects.filter(idempotency_key__startswith='{run_id}-').count())"
    )
    return int(run([str(VENV / "python"), "-c", code], env, capture=True).strip().splitlines()[-1])


def arguments(description: str, db: str, json_name: str, minutes: float) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--minutes", type=float, default=minutes)
    parser.add_argument("--max-cases", type=int, default=20_000, help="stop reporting after this many")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--cases", type=int, default=200_000, help="cases of history in the database")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--db", default=db)
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--json", dest="json_path", default=str(ROOT / "benchmarks/results" / json_name))
    return parser.parse_args()


def write(path: str, summary: dict[str, Any]) -> None:
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")


def main() -> None:
    args = arguments(__doc__ or "", "zhiwang_soak", "soak.json", 10)
    env = database_env(args.db)
    if not args.reuse:
        build(args.db, env, args.scale, args.cases)
    plan = prepare(env)
    server = start_server(env, args.workers)
    worker = start_worker(env)
    run_id = f"soak{int(time.time())}"
    load = Load(plan=plan, minutes=args.minutes, max_cases=args.max_cases, run_id=run_id)
    memory = MemorySampler(master=lambda: server.pid)
    try:
        print("==> warming up for 30 s (every worker loads its caches; not counted)", flush=True)
        Load(plan=plan, minutes=0.5, max_cases=100, run_id=f"warm{run_id}").run()
        print(f"==> soak: {args.minutes} min at {REPORTS_PER_S:.2f} reports/s ({RATE_NOTE})", flush=True)
        memory.start()
        started = time.monotonic()
        load.run()
        elapsed = time.monotonic() - started
        rss = memory.stop()
        worker_alive = worker.poll() is None
    finally:
        stop(worker)
        stop(server)
    result = load.summary()
    stored = count_run_cases(env, run_id)
    summary = {
        "minutes": args.minutes,
        "rate_derivation": RATE_NOTE,
        "target_reports_per_s": round(REPORTS_PER_S, 2),
        "achieved_reports_per_s": round(result["cases_reported"] / (args.minutes * 60), 2),
        "requests_per_s": round(result["requests"] / elapsed, 1),
        **result,
        "cases_stored": stored,
        "every_acknowledged_case_stored": stored == result["cases_reported"],
        "gunicorn_rss": rss,
        "background_worker_alive_after": worker_alive,
        "gunicorn_workers": args.workers,
        "history_cases": args.cases,
        "scale": args.scale,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    write(args.json_path, summary)


if __name__ == "__main__":
    main()
