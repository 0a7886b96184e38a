"""Resident import on PostgreSQL: 1,000,000 generated residents (valid ID numbers), every row
validated (ID check digit and birth date, phone, room in scope, duplicates in the file and in the
database), ID and phone numbers encrypted (AES-GCM) and hashed (HMAC-SHA256), written with COPY,
all in one transaction. Beside it, the ceiling: PostgreSQL COPY of the same CSV into a plain table.
Goals: >= 25% of the COPY rate; peak memory of the importing process < 1 GB.

Run: .venv/bin/python benchmarks/registry_import.py [--rows 1000000]
         [--json benchmarks/results/registry_import.json]
Needs PostgreSQL on 127.0.0.1:5432 (scripts/ensure-postgres); (re)creates `zhiwang_registry_bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
DB = "zhiwang_registry_bench"
URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
ROOMS = 20_000
REGIONS = ("441900", "440106", "430102", "450103", "360102", "510104", "411302", "421002")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def env() -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "zhiwang.settings"}


def run(cmd: list[str]) -> str:
    return subprocess.run(cmd, cwd=ROOT, env=env(), check=True, text=True, stdout=subprocess.PIPE).stdout


def fresh_database() -> None:
    run(["scripts/ensure-postgres", "postgres"])
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    run([str(VENV / "zhiwang"), "migrate", "--verbosity", "0"])


def setup_city() -> None:
    """The test city's grids, an importing administrator of the city, and ROOMS rooms."""
    import django

    django.setup()
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.conftest import city_features

    from zhiwang.accounts.models import Role, RoleAssignment, User
    from zhiwang.common.origin import Origin
    from zhiwang.grids.importing import grid_import_geojson
    from zhiwang.grids.models import GridNode
    from zhiwang.registry.models import Address, Building, Room

    root = User.objects.create_superuser(username="root", password=None)
    grid_import_geojson(
        actor=root,
        data={"type": "FeatureCollection", "features": city_features()},
        origin=Origin.cli(),
        effective_at=datetime(2020, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    city = GridNode.objects.get(code="441900")
    admin = User.objects.create_user(username="importer")
    RoleAssignment.objects.create(user=admin, role=Role.ADMINISTRATOR, grid=city, starts_on="2020-01-01")
    grids = list(GridNode.objects.filter(level="grid").select_related("parent__parent"))
    rooms = []
    for g, grid in enumerate(grids):
        community, town = grid.parent, grid.parent.parent  # type: ignore[union-attr]
        address = Address.objects.create(
            code=f"{community.code}{g + 1:05d}",  # type: ignore[union-attr]
            town=town,
            community=community,
            road="测试路",
            door_number=f"{g + 1}号",
            full_text="测试",
            grid=grid,
            grid_path=grid.path,
        )
        building = Building.objects.create(
            code=f"{address.code}001", address=address, name="1栋", grid=grid, grid_path=grid.path
        )
        rooms += [
            Room(code=f"{building.code}{n:04d}", building=building, number=str(n), grid_path=grid.path)
            for n in range(1, ROOMS // len(grids) + 1)
        ]
    Room.objects.bulk_create(rooms, batch_size=2000)


def id_number(rng: random.Random, seq: int) -> str:
    born = f"{rng.randint(1940, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = f"{rng.choice(REGIONS)}{born}{seq % 1000:03d}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def generate(path: Path, rows: int, room_codes: list[str]) -> None:
    """Rows with unique ID numbers: the sequence digits and the birth date vary together."""
    rng = random.Random(20240601)
    seen: set[str] = set()
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    with path.open("w", encoding="utf-8") as out:
        out.write("房屋编码,姓名,身份证号,联系电话,人员类型,流入原因,办证类型,入住日期\n")
        written = 0
        while written < rows:
            number = id_number(rng, rng.randrange(1000))
            if number in seen:
                continue
            seen.add(number)
            migrant = rng.random() < 0.7
            out.write(
                f"{rng.choice(room_codes)},{rng.choice(surnames)}{rng.choice(given)}{rng.choice(given)},{number},"
                f"1{rng.choice('3578')}{rng.randrange(10**9):09d},{'流动' if migrant else '户籍'},"
                f"{'务工' if migrant else ''},{'居住证' if migrant else ''},2024-0{rng.randint(1, 9)}-15\n"
            )
            written += 1


def import_phase(path: Path, workers: int | None, defer_indexes: bool, profile: bool) -> dict[str, float]:
    """Runs in its own process, so its peak memory is the import's."""
    import cProfile
    import pstats
    import resource

    import django

    django.setup()
    from zhiwang.accounts.models import User
    from zhiwang.common.origin import Origin
    from zhiwang.registry.importing import import_persons

    user = User.objects.get(username="importer")
    checked_at = [0.0]  # when the first pass (check only) ended: `progress` counts from 0 again

    def progress(rows: int) -> None:
        if rows and not checked_at[0] and rows < seen[0]:
            checked_at[0] = time.perf_counter() - started
        seen[0] = rows

    seen = [0]
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    with path.open("rb") as stream:
        batch = import_persons(
            actor=user,
            stream=stream,
            filename=path.name,
            origin=Origin.cli(),
            progress=progress,
            workers=workers,
            defer_indexes=defer_indexes,
        )
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats("registry/importing/", 30)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": batch.rows_imported,
        "seconds": seconds,
        "check_seconds": checked_at[0],
        "peak_mb": peak_kb / 1024,
    }


def copy_ceiling(path: Path) -> dict[str, float]:
    import psycopg

    with psycopg.connect(URL.replace("postgres://", "postgresql://")) as conn:
        conn.execute(
            "CREATE UNLOGGED TABLE IF NOT EXISTS plain_residents (room_code text, name text, id_number text,"
            " phone text, kind text, inflow_reason text, permit_type text, moved_in_on text)"
        )
        conn.execute("TRUNCATE plain_residents")
        conn.execute("ALTER TABLE plain_residents SET LOGGED")
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY plain_residents FROM STDIN WITH (FORMAT csv, HEADER)") as copy,
        ):
            with path.open("rb") as stream:
                while block := stream.read(1 << 20):
                    copy.write(block)
        conn.commit()
        seconds = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM plain_residents").fetchone()[0]  # type: ignore[index]
    return {"rows": rows, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--workers", type=int, help="processes checking rows beside the importing one (default: cores - 2)"
    )
    parser.add_argument(
        "--no-defer-indexes",
        action="store_true",
        help="keep the secondary indexes during the load (as for a file into a populated table)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the import (on stderr)")
    parser.add_argument("--phase", choices=["setup", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    os.environ.update(env())
    if args.phase == "setup":
        setup_city()
        return
    if args.phase == "import":
        print(json.dumps(import_phase(args.file, args.workers, not args.no_defer_indexes, args.profile)))
        return

    fresh_database()
    python = str(VENV / "python")
    run([python, __file__, "--phase", "setup"])
    codes = run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-tAc", "SELECT code FROM registry_room"]
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "residents.csv"
        started = time.perf_counter()
        generate(path, args.rows, codes.split())
        print(
            f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s"
            f" ({path.stat().st_size >> 20} MiB)"
        )
        ceiling = copy_ceiling(path)
        print(f"COPY into a plain table: {ceiling['rows']:,} rows in {ceiling['seconds']:.1f} s")
        options = ["--workers", str(args.workers)] if args.workers is not None else []
        options += ["--no-defer-indexes"] if args.no_defer_indexes else []
        options += ["--profile"] if args.profile else []
        imported = json.loads(
            run([python, __file__, "--phase", "import", "--file", str(path), *options])
            .strip()
            .splitlines()[-1]
        )
        print(
            f"import: {imported['rows']:,} rows in {imported['seconds']:.1f} s"
            f" (checked in {imported['check_seconds']:.1f} s), peak {imported['peak_mb']:.0f} MiB"
        )
    copy_rate = ceiling["rows"] / ceiling["seconds"]
    import_rate = imported["rows"] / imported["seconds"]
    result = {
        "rows": args.rows,
        "copy_rows_per_s": round(copy_rate),
        "import_rows_per_s": round(import_rate),
        "import_share_of_copy": round(import_rate / copy_rate, 3),
        "import_seconds": round(imported["seconds"], 1),
        "check_pass_seconds": round(imported["check_seconds"], 1),
        "workers": args.workers if args.workers is not None else max(0, min(4, (os.cpu_count() or 1) - 2)),
        "secondary_indexes_deferred": not args.no_defer_indexes,
        "copy_seconds": round(ceiling["seconds"], 1),
        "peak_memory_mb": round(imported["peak_mb"]),
        "goals": {"share_of_copy": 0.25, "peak_memory_mb": 1024},
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
