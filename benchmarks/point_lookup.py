"""Point → grid lookup over the full-size demo city (2,894 base grids, realistic vertex counts).

Goals: >= 1,000,000 points/s on the batch path, < 1 ms p99 for a single lookup.
Run: .venv/bin/python benchmarks/point_lookup.py [--points 5000000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import shapely

from zhiwang.demo.geometry import build_tree, iter_cells
from zhiwang.demo.plan import plan_city
from zhiwang.grids.spatial import GridIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=5_000_000)
    parser.add_argument("--singles", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args()

    started = time.perf_counter()
    plans, _ = plan_city(1.0, args.seed)
    tree = build_tree(plans, seed=args.seed)
    grids = [(cell.key, cell.polygon) for depth, _, cell in iter_cells(tree) if depth == 3]
    generated = time.perf_counter() - started
    vertices = [len(shapely.get_coordinates(poly)) for _, poly in grids]

    started = time.perf_counter()
    index = GridIndex(list(range(len(grids))), [code for code, _ in grids], [poly for _, poly in grids])
    built = time.perf_counter() - started

    rng = np.random.default_rng(args.seed)
    min_lon, min_lat, max_lon, max_lat = shapely.total_bounds([poly for _, poly in grids])
    lons = rng.uniform(min_lon, max_lon, args.points)
    lats = rng.uniform(min_lat, max_lat, args.points)
    index.lookup_many(lons[:10_000], lats[:10_000])  # warm up
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        found = index.lookup_many(lons, lats)
        runs.append(time.perf_counter() - t0)
    batch_rate = args.points / min(runs)
    inside = float(np.mean(found >= 0))

    latencies = np.empty(args.singles)
    for i in range(args.singles):
        t0 = time.perf_counter_ns()
        index.lookup(float(lons[i]), float(lats[i]))
        latencies[i] = time.perf_counter_ns() - t0

    def single(i: int) -> int:
        grid = index.lookup(float(lons[i]), float(lats[i]))
        return -1 if grid is None else grid

    agree = all(single(i) == found[i] for i in range(0, args.singles, 10))

    result = {
        "grids": len(grids),
        "vertices_total": int(sum(vertices)),
        "vertices_median": float(np.median(vertices)),
        "vertices_p95": float(np.percentile(vertices, 95)),
        "geometry_generation_s": round(generated, 2),
        "index_build_s": round(built, 3),
        "batch_points": args.points,
        "batch_points_per_s": round(batch_rate),
        "share_of_points_in_a_grid": round(inside, 3),
        "single_p50_us": round(float(np.percentile(latencies, 50)) / 1000, 1),
        "single_p99_us": round(float(np.percentile(latencies, 99)) / 1000, 1),
        "single_max_us": round(float(latencies.max()) / 1000, 1),
        "single_equals_batch": agree,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "shapely": shapely.__version__,
    }
    print(json.dumps(result, indent=2))
    if args.json_path:
        with open(args.json_path, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
