"""What the demo city holds: Dongguan's real towns/streets and villages/communities (2023 statistical
codes, see data/README.md) and how many base grids each community gets. Pure: no Django."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from zhiwang.demo.geometry import Plan, apportion

DATA = Path(__file__).resolve().parent / "data" / "dongguan_divisions.csv"
FULL_GRIDS = 2894


@dataclass(frozen=True)
class Division:
    level: str
    code: str
    name: str
    parent_code: str


def load_divisions() -> list[Division]:
    with DATA.open(encoding="utf-8") as handle:
        return [Division(r["level"], r["code"], r["name"], r["parent_code"]) for r in csv.DictReader(handle)]


def plan_city(scale: float, seed: int) -> tuple[list[Plan], dict[str, str]]:
    """Which towns and communities to build and how many base grids each community gets.

    At scale 1.0 all 32 towns/streets with their villages/communities and 2,894 base grids. Below
    the scale at which every community still gets a grid, the first towns by code are kept whole.
    """
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    divisions = load_divisions()
    names = {d.code: d.name for d in divisions}
    towns = [d for d in divisions if d.level == "town"]
    communities: dict[str, list[Division]] = {t.code: [] for t in towns}
    for d in divisions:
        if d.level == "community":
            communities[d.parent_code].append(d)
    target = max(1, round(FULL_GRIDS * scale))
    chosen: list[Division] = []
    total_communities = 0
    for town in towns:
        if chosen and total_communities + len(communities[town.code]) > target:
            break
        chosen.append(town)
        total_communities += len(communities[town.code])
    rng = random.Random(seed)
    # Synthetic population weights: a community's area and grid count follow them.
    weights = {c.code: rng.lognormvariate(0, 0.5) for t in chosen for c in communities[t.code]}
    grids_total = max(target, total_communities)
    members = [c.code for t in chosen for c in communities[t.code]]
    counts = dict(zip(members, apportion(grids_total, [weights[m] for m in members]), strict=True))
    plans = [
        Plan(
            key=town.code,
            weight=float(len(communities[town.code])),
            children=tuple(
                Plan(key=c.code, weight=weights[c.code], grids=counts[c.code]) for c in communities[town.code]
            ),
        )
        for town in chosen
    ]
    return plans, names
