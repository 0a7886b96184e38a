"""Run every benchmark in this folder in turn and summarise them.

Each benchmark writes its JSON to benchmarks/results/; this collects them into
benchmarks/results/summary.json and rewrites the summary table at the top of docs/performance.md
(between the `summary:start` and `summary:end` marker comments): each figure beside the ceiling
measured in the same run and its goal.

Run: .venv/bin/python benchmarks/run_all.py            # everything, about two hours on 2 cores
     .venv/bin/python benchmarks/run_all.py --only soak,faults
     .venv/bin/python benchmarks/run_all.py --summary-only   # rebuild the table from the JSON files
A benchmark that fails is reported and the others still run; the table keeps its last figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- summary:start -->", "<!-- summary:end -->"

# name -> arguments (besides --json), in the order they run; faults last (it restarts PostgreSQL).
BENCHMARKS: dict[str, list[str]] = {
    "point_lookup": ["--points", "5000000", "--singles", "100000"],
    "intake": ["--duration", "30"],
    "kpis": ["--cases", "4500000"],
    "console_map": ["--runs", "7"],
    "registry_import": ["--rows", "1000000"],
    "soak": ["--minutes", "10"],
    "faults": ["--minutes", "4"],
}
QUICK: dict[str, list[str]] = {
    "point_lookup": ["--points", "500000", "--singles", "20000"],
    "intake": ["--duration", "10"],
    "kpis": ["--cases", "300000", "--runs", "10"],
    "console_map": ["--runs", "3"],
    "registry_import": ["--rows", "100000"],
    "soak": ["--minutes", "2", "--cases", "50000"],
    "faults": ["--minutes", "2", "--cases", "50000"],
}

Row = tuple[str, str, str, str, str]  # measure, result, ceiling, goal, met


def run_benchmark(name: str, extra: list[str]) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *extra, "--json", str(path)]
    print(f"==> {name}: {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    code = subprocess.run(cmd, cwd=ROOT, check=False).returncode
    return {"exit_code": code, "seconds": round(time.monotonic() - started)}


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _yes(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def rows_intake(r: dict[str, Any]) -> list[Row]:
    share = r["intake"]["requests_per_s"] / r["ceiling"]["requests_per_s"]
    return [
        (
            "intake `POST /api/v1/cases`, req/s",
            f"{r['intake']['requests_per_s']:,.0f} ({share:.1%})",
            f"{r['ceiling']['requests_per_s']:,.0f} (`/api/v1/ping`)",
            "≥ 40% of the ceiling",
            _yes(share >= 0.4),
        )
    ]


def rows_kpis(r: dict[str, Any]) -> list[Row]:
    city = r["postgresql_kpis_ms"]["city_all_time"]["p95"]
    town = r["postgresql_kpis_ms"]["town_month_partial_days"]["p95"]
    duck = r["duckdb_scan_ms"]["p95"]
    equal = r["postgresql_kpis_ms"].get("rollups_equal_direct_count")
    return [
        (
            f"city KPIs over {r['cases']:,} cases, p95",
            f"{city:,.0f} ms",
            f"{duck:,.0f} ms (DuckDB scan)",
            "< 200 ms, ≤ DuckDB",
            _yes(city < 200 and city <= duck),
        ),
        ("a town's month with partial days, p95", f"{town:,.0f} ms", "", "< 200 ms", _yes(town < 200)),
        ("KPI rollups equal a direct count", "yes" if equal else "no", "", "equal", _yes(bool(equal))),
    ]


def rows_registry(r: dict[str, Any]) -> list[Row]:
    share = r["import_rows_per_s"] / r["copy_rows_per_s"]
    memory = r.get("peak_memory_mb")
    rows: list[Row] = [
        (
            f"registry import of {r['rows']:,} residents, rows/s",
            f"{r['import_rows_per_s']:,} ({share:.1%})",
            f"{r['copy_rows_per_s']:,} (plain COPY)",
            "≥ 25% of COPY",
            _yes(share >= 0.25),
        )
    ]
    if memory is not None:
        rows.append(("registry import, peak memory", f"{memory:,} MiB", "", "< 1 GB", _yes(memory < 1024)))
    return rows


def rows_point(r: dict[str, Any]) -> list[Row]:
    return [
        (
            f"point → grid, batch of {r['batch_points']:,}",
            f"{r['batch_points_per_s'] / 1e6:.1f} M points/s",
            "",
            "≥ 1 M points/s",
            _yes(r["batch_points_per_s"] >= 1_000_000),
        ),
        (
            "point → grid, single lookup p99",
            f"{r['single_p99_us']:.0f} µs",
            "",
            "< 1 ms",
            _yes(r["single_p99_us"] < 1000),
        ),
    ]


def rows_console(r: dict[str, Any]) -> list[Row]:
    cold = r["all_base_grids_first_view_after_start"]["rendered"]
    warm = r["all_base_grids"]["rendered_p50_ms"]
    goal = r.get("goal_ms", 2000)
    return [
        ("console map, all base grids, cold", f"{cold / 1000:.2f} s", "", "< 2 s", _yes(cold < goal)),
        ("console map, all base grids, warm p50", f"{warm / 1000:.2f} s", "", "< 2 s", _yes(warm < goal)),
    ]


def rows_soak(r: dict[str, Any]) -> list[Row]:
    ops = r["operations"]
    worst = max(ops.items(), key=lambda item: item[1]["p99_ms"])
    rss = r.get("gunicorn_rss", {})
    return [
        (
            f"soak, {r['minutes']:g} min: reports/s",
            f"{r['achieved_reports_per_s']:.2f} ({r['requests_per_s']:.0f} req/s in all)",
            "",
            f"≥ {r['target_reports_per_s']:.2f} (5× Dongguan's busiest hour)",
            _yes(r["achieved_reports_per_s"] >= 0.9 * r["target_reports_per_s"]),
        ),
        (f"soak: errors in {r['requests']:,} requests", str(r["errors"]), "", "0", _yes(r["errors"] == 0)),
        (
            "soak: intake p50 / p99; slowest p99",
            f"{ops['intake']['p50_ms']:.0f} / {ops['intake']['p99_ms']:.0f} ms; "
            f"{worst[0]} {worst[1]['p99_ms']:.0f} ms",
            "",
            "",
            "",
        ),
        (
            "soak: gunicorn RSS, first → last minute",
            f"{rss.get('first_minute_mb', 0):.0f} → {rss.get('last_minute_mb', 0):.0f} MiB",
            "",
            "flat (±10%)",
            _yes(bool(rss.get("flat"))),
        ),
    ]


def rows_faults(r: dict[str, Any]) -> list[Row]:
    checks = r["checks"]
    done = ", ".join(f["fault"] + (" (skipped)" if "skipped" in f else "") for f in r["faults"])
    return [
        (
            f"faults ({done}): acknowledged reports kept",
            f"{checks['acknowledged'] - checks['acknowledged_missing_or_other_id']:,} of "
            f"{checks['acknowledged']:,}, none twice",
            "",
            "all, once each",
            _yes(
                checks["acknowledged_missing_or_other_id"] == 0 and checks["keys_stored_more_than_once"] == 0
            ),
        ),
        (
            "faults: timelines and KPI rollups consistent",
            "yes" if r["passed"] else "no",
            "",
            "consistent",
            _yes(bool(r["passed"])),
        ),
    ]


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "intake": rows_intake,
    "kpis": rows_kpis,
    "registry_import": rows_registry,
    "point_lookup": rows_point,
    "console_map": rows_console,
    "soak": rows_soak,
    "faults": rows_faults,
}


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| measure | result | ceiling in the same run | goal | |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, rows in ROWS.items():
        if name not in results:
            lines.append(f"| {name} | not run yet | | | |")
            continue
        try:
            lines.extend(f"| {' | '.join(row)} |" for row in rows(results[name]))
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            lines.append(f"| {name} | result file unreadable ({exc!r}) | | | |")
    return "\n".join(lines)


def rewrite_doc(text: str, summary: str) -> str:
    block = (
        f"{START}\n## Summary\n\nWritten by `benchmarks/run_all.py` from benchmarks/results/*.json; "
        "details in the sections below.\n`scripts/benchmark` runs every benchmark from a clean clone (it "
        "installs what they need first);\n`scripts/benchmark --quick` runs them at smaller sizes.\n\n"
        f"{summary}\n{END}"
    )
    if START in text and END in text:
        head, rest = text.split(START, 1)
        return head + block + rest.split(END, 1)[1]
    # First time: after the opening paragraph.
    title, _, body = text.partition("\n\n")
    intro, _, rest = body.partition("\n\n")
    return f"{title}\n\n{intro}\n\n{block}\n\n{rest}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--only", help="comma-separated names (default: all)")
    parser.add_argument("--skip", default="", help="comma-separated names not to run")
    parser.add_argument("--quick", action="store_true", help="smaller arguments: minutes, not hours")
    parser.add_argument("--summary-only", action="store_true", help="run nothing; rebuild the summary")
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    runs: dict[str, Any] = {}
    if not args.summary_only:
        for name in chosen:
            if name not in args.skip.split(","):
                runs[name] = run_benchmark(name, (QUICK if args.quick else BENCHMARKS)[name])
    results = {name: data for name in BENCHMARKS if (data := load(name)) is not None}
    summary = {"runs": runs, "results": results}
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    DOC.write_text(rewrite_doc(DOC.read_text(encoding="utf-8"), table(results)), encoding="utf-8")
    print(table(results))
    failed = [name for name, run in runs.items() if run["exit_code"] != 0]
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
