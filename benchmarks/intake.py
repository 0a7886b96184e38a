"""Case intake through the HTTP API on PostgreSQL, served by gunicorn on loopback.

Each request is a real report: the phone's GCJ-02 coordinate converted, the base grid and overlay
grids looked up, the category checked, the dispatch deadline computed on the working calendar, the
case, its timeline entry and its audit row written. Beside it, the same server's empty endpoint
(`GET /api/v1/ping`) is the ceiling. Goal: intake at >= 40% of the ceiling, 32 concurrent clients.

Run: .venv/bin/python benchmarks/intake.py [--duration 30] [--connections 32] [--workers 4]
Needs PostgreSQL on 127.0.0.1:5432 (scripts/ensure-postgres) and wrk (Debian package; installed
here if missing). Builds a fresh database `zhiwang_bench` with the full-size demo city.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
DB = "zhiwang_bench"
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
PORT = 8765

LUA = r"""
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(id * 7919)
end
request = function()
  counter = counter + 1
  local lon = 113.60 + math.random() * 0.55
  local lat = 22.72 + math.random() * 0.36
  local body = string.format(
    '{"channel":"machine","lon":%.6f,"lat":%.6f,"system":"gcj02","category":"%s",' ..
    '"description":"视频平台识别：暴露垃圾","idempotency_key":"bench-%d-%d-%d"}',
    lon, lat, "CATEGORY", id, counter, RUN)
  return wrk.format("POST", "/api/v1/cases", {["Content-Type"]="application/json",
    ["Authorization"]="Bearer TOKEN"}, body)
end
"""


def run(cmd: list[str], env: dict[str, str] | None = None, capture: bool = False) -> str:
    result = subprocess.run(
        cmd, cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return result.stdout if capture else ""


def django_eval(code: str, env: dict[str, str]) -> str:
    setup = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'zhiwang.settings');"
    setup += "django.setup();"
    return run([str(VENV / "python"), "-c", setup + code], env, capture=True)


def parse_wrk(output: str) -> dict[str, float]:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "requests_per_s": rps,
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",  # type: ignore[dict-item]
        "p50_ms": latency("50"),
        "p90_ms": latency("90"),
        "p99_ms": latency("99"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--reuse", action="store_true", help="keep the database of the last run")
    parser.add_argument("--json", dest="json_path", default=str(ROOT / "benchmarks/results/intake.json"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        run(["apt-get", "install", "-y", "-qq", "wrk"])
    run(["scripts/ensure-postgres", "postgres"])
    env = {**os.environ, "DATABASE_URL": URL, "ZHIWANG_LOG_LEVEL": "WARNING"}
    if not args.reuse:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
        run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB])
        print("==> migrating and building the demo city", flush=True)
        run([str(VENV / "zhiwang"), "migrate", "-v", "0"], env)
        run([str(VENV / "zhiwang"), "generate-demo-city", "--scale", str(args.scale)], env)
    token = run([str(VENV / "zhiwang"), "create-token", "city", "intake-benchmark"], env, capture=True)
    key = token.strip().splitlines()[-1]
    category = django_eval(
        "from zhiwang.taxonomy.models import Category;"
        "print(Category.objects.filter(name='暴露垃圾').values_list('code', flat=True).first())",
        env,
    ).strip()
    server = subprocess.Popen(
        [
            str(VENV / "gunicorn"),
            "zhiwang.wsgi:application",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
            "--keep-alive",
            "30",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/ping", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        results: dict[str, object] = {}
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "intake.lua"
            wrk = ["wrk", "-t2", f"-c{args.connections}", "--latency"]
            for name, run_id, target, duration in (
                ("warmup", 1, "intake", 10),
                ("ceiling", 0, "ping", args.duration),
                ("intake", 2, "intake", args.duration),
            ):
                lua = LUA.replace("TOKEN", key).replace("CATEGORY", category).replace("RUN", str(run_id))
                script.write_text(lua)
                cmd = [*wrk, f"-d{duration}s"]
                if target == "intake":
                    cmd += ["-s", str(script), f"http://127.0.0.1:{PORT}"]
                else:
                    cmd += [f"http://127.0.0.1:{PORT}/api/v1/ping"]
                output = subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE).stdout
                print(f"--- {name}\n{output}", flush=True)
                if name != "warmup":
                    results[name] = parse_wrk(output)
        cases = django_eval(
            "from zhiwang.cases.models import Case;"
            "print(Case.objects.count(), Case.objects.filter(grid__isnull=False).count())",
            env,
        ).split()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    ceiling = results["ceiling"]["requests_per_s"]  # type: ignore[index]
    intake = results["intake"]["requests_per_s"]  # type: ignore[index]
    summary = {
        **results,
        "intake_share_of_ceiling": round(intake / ceiling, 3),
        "cases_in_database": int(cases[0]),
        "cases_in_a_grid": int(cases[1]),
        "connections": args.connections,
        "gunicorn_workers": args.workers,
        "duration_s": args.duration,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    print(json.dumps(summary, indent=2))
    Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_path).write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
