"""City KPIs over millions of cases on PostgreSQL, beside the same aggregation as a DuckDB scan.

Builds (or reuses with --reuse) a PostgreSQL database `zhiwang_kpi` holding the full-size demo city
and N synthetic cases over 2.5 years (default 4,500,000, Dongguan's 2018–2020 volume) loaded with
COPY by the demo's bulk loader (`zhiwang.demo.bulk`, as `zhiwang generate-city` does): a seasonal
mix (more in the 龙舟水 rainy season, May–June), outcomes near the published 95%
handling rate, some late, parked, reworked and rated. Then times `zhiwang.cases.kpis.compute` for the
whole city as a city commander sees it, and the same figures as one SQL scan in DuckDB over the
same rows. Goal: p95 < 200 ms, not slower than DuckDB. The figures come from the KPI rollups, counted
once after the COPY load (`rollups.rebuild`, as `zhiwang rebuild-kpis` does) and checked against one
direct count over the cases.

Run: .venv/bin/pip install -e '.[bench]' && .venv/bin/python benchmarks/kpis.py [--cases 4500000]
Deadlines here are approximated in wall-clock time (limit × 24/7.5); intake and the workflow compute
them on the working calendar.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
DB = "zhiwang_kpi"
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
UNTIL = date(2026, 1, 1)  # the 2.5 years of cases end here (from 2023-06-30), whatever the day of the run

DUCK_SQL = """
SELECT
  count(*) AS reported,
  count(*) FILTER (WHERE status = 'rejected') AS rejected,
  count(*) FILTER (WHERE accepted_at IS NOT NULL) AS accepted,
  count(*) FILTER (WHERE self_handled) AS self_handled,
  count(*) FILTER (WHERE dispatched_at IS NOT NULL) AS dispatched,
  count(*) FILTER (WHERE dispatched_at IS NOT NULL
                   AND dispatched_at <= dispatch_due_at) AS dispatched_on_time,
  count(*) FILTER (WHERE handled_at IS NOT NULL) AS handled,
  count(*) FILTER (WHERE handled_at IS NOT NULL
                   AND (due_at IS NULL OR handled_at <= due_at)) AS handled_on_time,
  count(*) FILTER (WHERE handled_at IS NULL AND due_at < $now AND paused_since IS NULL
                   AND status NOT IN ('rejected', 'merged', 'closed', 'parked')) AS overdue_unhandled,
  count(*) FILTER (WHERE status = 'closed') AS closed,
  count(*) FILTER (WHERE status = 'closed' AND (due_at IS NULL OR handled_at <= due_at)) AS closed_on_time,
  count(*) FILTER (WHERE handled_at IS NOT NULL AND due_at IS NOT NULL
                   AND handled_at > due_at) AS handled_late,
  count(*) FILTER (WHERE rework_count > 0) AS reworked,
  count(*) FILTER (WHERE status = 'parked') AS parked,
  count(*) FILTER (WHERE rating IS NOT NULL) AS rated,
  count(*) FILTER (WHERE rating >= 3) AS satisfied,
  avg(rating) AS mean_rating,
  median(epoch(handled_at - dispatched_at) / 3600) FILTER (WHERE handled_at IS NOT NULL
                                                         AND dispatched_at IS NOT NULL) AS median_hours
FROM cases WHERE grid_path LIKE $prefix
"""

EXPORT_COLUMNS = (
    "id, status, accepted_at, self_handled, dispatched_at, dispatch_due_at, handled_at, due_at, "
    "paused_since, rework_count, rating, grid_path, reported_at"
)


def psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAc", sql],
        check=True,
        text=True,
        stdout=subprocess.PIPE,
    ).stdout.strip()


def setup_django() -> None:
    os.environ["DATABASE_URL"] = URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhiwang.settings")
    import django

    django.setup()


def generate(count: int, seed: int) -> None:
    """Load `count` synthetic cases with the demo's bulk loader (COPY on PostgreSQL, with progress)."""
    from zhiwang.demo import bulk

    bulk.load_cases(count=count, seed=seed, until=UNTIL, progress=lambda m: print(f"  {m}", flush=True))


def time_django(runs: int) -> dict[str, Any]:
    """p50/p95 of the city's all-time figures and of a town's month with partial days at both edges,
    both from the rollups; then one direct count over the cases, which must give the same figures."""
    from django.utils import timezone

    from zhiwang.accounts.models import User
    from zhiwang.cases import kpis, selectors
    from zhiwang.grids.models import GridNode

    commander = User.objects.get(username="city")
    city = GridNode.objects.get(level="city", valid_to__isnull=True)
    town = GridNode.objects.filter(parent=city, valid_to__isnull=True).order_by("code").first()
    now = timezone.now()
    month = (datetime(2025, 5, 3, 10, 30, tzinfo=UTC), datetime(2025, 6, 2, 16, 45, tzinfo=UTC))
    questions = {
        "city_all_time": {"node": city},
        "town_month_partial_days": {"node": town, "since": month[0], "until": month[1]},
    }
    out: dict[str, Any] = {}
    for name, question in questions.items():
        timings = []
        for _ in range(runs):
            t0 = time.perf_counter()
            kpis.report(actor=commander, now=now, **question)
            timings.append((time.perf_counter() - t0) * 1000)
        out[name] = {"p50": round(statistics.median(timings), 1), "p95": round(p95(timings), 1)}
    fast = kpis.report(actor=commander, node=city, now=now).as_dict()
    t0 = time.perf_counter()
    direct = kpis.compute(selectors.case_cohort(actor=commander, within_path=city.path), now=now).as_dict()
    out["direct_count_s"] = round(time.perf_counter() - t0, 1)
    out["rollups_equal_direct_count"] = fast == direct
    out["figures"] = fast
    return out


def time_duckdb(runs: int, prefix: str) -> tuple[list[float], float]:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "cases.csv"
        with csv_path.open("wb") as handle:
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                    "-d",
                    DB,
                    "-c",
                    f"COPY (SELECT {EXPORT_COLUMNS} FROM cases_case) TO STDOUT WITH CSV HEADER",
                ],
                check=True,
                stdout=handle,
            )
        con = duckdb.connect()
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE cases AS SELECT * FROM read_csv_auto('{csv_path}')")
        load_s = time.perf_counter() - t0
    timings = []
    for _ in range(runs):
        t0 = time.perf_counter()
        con.execute(DUCK_SQL, {"now": datetime.now(UTC), "prefix": prefix + "%"}).fetchall()
        timings.append((time.perf_counter() - t0) * 1000)
    return timings, load_s


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=4_500_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--json", dest="json_path", default=str(ROOT / "benchmarks/results/kpis.json"))
    args = parser.parse_args()
    subprocess.run([str(ROOT / "scripts/ensure-postgres"), "postgres"], check=True)
    env = {**os.environ, "DATABASE_URL": URL, "ZHIWANG_LOG_LEVEL": "WARNING"}
    if not args.reuse:
        psql(f"DROP DATABASE IF EXISTS {DB}")
        psql(f"CREATE DATABASE {DB}")
    print("==> migrating" + ("" if args.reuse else " and building the demo city"), flush=True)
    subprocess.run([str(VENV / "zhiwang"), "migrate", "-v", "0"], env=env, check=True)  # a reused one too
    if not args.reuse:
        subprocess.run([str(VENV / "zhiwang"), "generate-demo-city", "--scale", "1.0"], env=env, check=True)
    setup_django()
    from zhiwang.cases.models import Case
    from zhiwang.grids.models import GridNode

    if not args.reuse:
        print(f"==> loading {args.cases:,} cases with COPY", flush=True)
        t0 = time.perf_counter()
        generate(args.cases, args.seed)
        print(f"    {time.perf_counter() - t0:.0f} s", flush=True)
    from zhiwang.cases import rollups

    total = Case.objects.count()
    print("==> counting the KPI rollups from the cases", flush=True)
    t0 = time.perf_counter()
    rollups.rebuild()
    rebuild_s = time.perf_counter() - t0
    city_path = GridNode.objects.get(level="city", valid_to__isnull=True).path
    print(f"==> KPIs over {total:,} cases, {args.runs} runs each", flush=True)
    django = time_django(args.runs)
    figures = django.pop("figures")
    duck_ms, duck_load_s = time_duckdb(args.runs, city_path)
    summary = {
        "cases": total,
        "postgresql_kpis_ms": django,
        "rollup_rebuild_s": round(rebuild_s, 1),
        "duckdb_scan_ms": {"p50": round(statistics.median(duck_ms), 1), "p95": round(p95(duck_ms), 1)},
        "duckdb_load_s": round(duck_load_s, 1),
        "handling_rate": figures.get("handling_rate"),
        "closure_rate": figures.get("closure_rate"),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "postgresql": psql("SHOW server_version", DB),
    }
    print(json.dumps(summary, indent=2))
    Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_path).write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
