"""The console map in chromium: from navigation to a drawn map of all 2,894 base grids of the
full-size demo city, coloured by their open cases.

Builds (or reuses with --reuse) a SQLite database with the full-size demo city
(`zhiwang generate-demo-city --scale 1.0`), serves it with gunicorn on loopback (one process, so the
simplified-geometry cache is shared by every run), signs in the demo's city commander, and opens
`/console/#<city>/grid` in Debian's chromium through Playwright, each run in a fresh browser context
(no HTTP cache). A run ends when the map marks itself drawn (two animation frames after Leaflet
has the polygons). The first run after the server starts finds the geometry cache cold.
Goal: < 2 s from navigation to the drawn map.

Run: .venv/bin/python benchmarks/console_map.py [--runs 7] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
PORT = 8766
CHROMIUM = os.environ.get("ZHIWANG_CHROMIUM", "/usr/bin/chromium")

SESSION = """
import django, os, json
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhiwang.settings")
django.setup()
from django.test import Client
from zhiwang.accounts.middleware import SESSION_KEY
from zhiwang.accounts.models import User
from zhiwang.grids.models import GridNode
client = Client()
client.force_login(User.objects.get(username="city"))
session = client.session
session[SESSION_KEY] = True
session.save()
city = GridNode.objects.get(level="city", layer="admin", valid_to__isnull=True)
grids = GridNode.objects.filter(level="grid", layer="admin", valid_to__isnull=True).count()
print(json.dumps({"session": session.session_key, "city": city.pk, "grids": grids}))
"""


def run(cmd: list[str], env: dict[str, str], capture: bool = False) -> str:
    result = subprocess.run(
        cmd, cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return result.stdout if capture else ""


def build(database: Path, env: dict[str, str]) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    print("==> migrating and building the full-size demo city", flush=True)
    started = time.perf_counter()
    run([str(VENV / "zhiwang"), "migrate", "-v", "0"], env)
    run([str(VENV / "zhiwang"), "generate-demo-city", "--scale", "1.0"], env)
    print(f"    built in {time.perf_counter() - started:.0f} s", flush=True)


def serve(env: dict[str, str]) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            str(VENV / "gunicorn"),
            "zhiwang.wsgi:application",
            "-w",
            "1",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/accounts/login/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def measure(browser: Any, session: str, city: int, level: str) -> dict[str, Any]:
    """One navigation in a fresh context; times in ms since navigation start."""
    context = browser.new_context(
        base_url=f"http://127.0.0.1:{PORT}", viewport={"width": 1366, "height": 768}, locale="zh-CN"
    )
    context.add_cookies([{"name": "sessionid", "value": session, "url": f"http://127.0.0.1:{PORT}"}])
    page = context.new_page()
    ready = f"{city}:{level}" if level else str(city)
    started = time.perf_counter()
    page.goto(f"/console/#{city}" + (f"/{level}" if level else ""))
    page.wait_for_selector(f'body[data-map-ready="{ready}"]', timeout=60_000)
    wall = (time.perf_counter() - started) * 1000
    timing = page.evaluate(
        """() => {
          const grids = performance.getEntriesByType("resource")
            .find(e => e.name.includes("children.geojson"));
          return {
            rendered: Number(document.body.dataset.mapRenderedMs),
            features: Number(document.body.dataset.mapFeatures),
            dom_content_loaded: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
            geojson_request: grids ? grids.responseEnd - grids.startTime : null,
            geojson_bytes: grids ? grids.encodedBodySize : null,
          };
        }"""
    )
    context.close()
    return {"wall_ms": round(wall), **{k: round(v) if v is not None else None for k, v in timing.items()}}


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rendered = [r["rendered"] for r in runs]
    return {
        "runs": len(runs),
        "rendered_p50_ms": round(statistics.median(rendered)),
        "rendered_max_ms": max(rendered),
        "wall_p50_ms": round(statistics.median(r["wall_ms"] for r in runs)),
        "geojson_request_p50_ms": round(statistics.median(r["geojson_request"] for r in runs)),
        "dom_content_loaded_p50_ms": round(statistics.median(r["dom_content_loaded"] for r in runs)),
        "features": runs[0]["features"],
        "geojson_bytes": runs[0]["geojson_bytes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="warm runs per view (default 7)")
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--database", default=str(ROOT / "var" / "bench-console-map.sqlite3"))
    parser.add_argument("--json", dest="json_path", default=str(ROOT / "benchmarks/results/console_map.json"))
    args = parser.parse_args()
    database = Path(args.database)
    database.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "ZHIWANG_LOG_LEVEL": "WARNING"}
    if not args.reuse or not database.exists():
        build(database, env)
    facts = json.loads(run([str(VENV / "python"), "-c", SESSION], env, capture=True).strip().splitlines()[-1])
    from playwright.sync_api import sync_playwright

    server = serve(env)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            cold = measure(browser, facts["session"], facts["city"], "grid")
            grids = [measure(browser, facts["session"], facts["city"], "grid") for _ in range(args.runs)]
            towns = [measure(browser, facts["session"], facts["city"], "") for _ in range(args.runs)]
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    version = subprocess.run(
        [CHROMIUM, "--version"], check=True, text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ).stdout
    result = {
        "goal_ms": 2000,
        "base_grids_in_city": facts["grids"],
        "all_base_grids_first_view_after_start": cold,
        "all_base_grids": summarise(grids),
        "towns_of_the_city": summarise(towns),
        "viewport": "1366x768",
        "chromium": version.strip(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "database": "SQLite",
    }
    print(json.dumps(result, indent=2))
    Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_path).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
