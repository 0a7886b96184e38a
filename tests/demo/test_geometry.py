"""Synthetic nested geometry: outline, exact Voronoi / power partitions, tiling-preserving roughening."""

from __future__ import annotations

import csv
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from zhiwang.demo.geometry import (
    DEFAULT_AMPLITUDE_DEG,
    DEFAULT_SPACING_DEG,
    Cell,
    Plan,
    apportion,
    build_tree,
    city_outline,
    displacement,
    iter_cells,
    partition,
    roughen,
    roughen_tree,
)
from zhiwang.grids.numbering import grid_code, reading_order

GEOD = Geod(ellps="WGS84")
TOLERANCE_M2 = 1.0
CSV_PATH = (
    Path(__file__).resolve().parents[2] / "src" / "zhiwang" / "demo" / "data" / "dongguan_divisions.csv"
)

# A comb: five teeth joined at the bottom, very far from convex.
COMB = Polygon(
    [
        (113.60, 22.80), (113.70, 22.80), (113.70, 22.90), (113.69, 22.90), (113.69, 22.81),
        (113.675, 22.81), (113.675, 22.90), (113.665, 22.90), (113.665, 22.81), (113.65, 22.81),
        (113.65, 22.90), (113.64, 22.90), (113.64, 22.81), (113.61, 22.81), (113.61, 22.90),
        (113.60, 22.90),
    ]
)  # fmt: skip


def area_m2(geom: BaseGeometry) -> float:
    """Geodesic area (WGS-84) of the polygonal parts of ``geom``.

    Edges are straight in lon/lat, not geodesics; over a few km the two differ by hundreds of m²,
    so each part is densified to ≤ 1e-4° (~10 m) edges first, where the difference is negligible.
    """
    total = 0.0
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon) and not part.is_empty:
            dense = shapely.orient_polygons(shapely.segmentize(part, 1e-4))
            total += GEOD.geometry_area_perimeter(dense)[0]
    return total


def assert_tiles(parent: Polygon, children: Sequence[Polygon], tolerance: float = TOLERANCE_M2) -> None:
    """Children are valid polygons, overlap pairwise by < tolerance, and cover the parent up to it."""
    for child in children:
        assert isinstance(child, Polygon) and child.is_valid and not child.is_empty
    geoms = np.asarray(children, dtype=object)
    first, second = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    for i, j in zip(first.tolist(), second.tolist(), strict=True):
        if i < j:
            overlap = area_m2(shapely.intersection(children[i], children[j]))
            assert overlap < tolerance, (i, j, overlap)
    union = shapely.union_all(geoms)
    outside = area_m2(shapely.difference(union, parent))
    gaps = area_m2(shapely.difference(parent, union))
    assert outside < tolerance, outside
    assert gaps < tolerance, gaps


def vertices(polygon: Polygon) -> int:
    return len(shapely.get_coordinates(polygon))


def wkb(polygons: Sequence[Polygon]) -> list[bytes]:
    return [shapely.to_wkb(p) for p in polygons]


# -- outline --------------------------------------------------------------------------------------


def test_city_outline() -> None:
    outline = city_outline()
    assert isinstance(outline, Polygon) and outline.is_valid
    assert outline.exterior.is_ccw
    minx, miny, maxx, maxy = outline.bounds
    assert 113.52 <= minx < 113.53 and 114.25 < maxx <= 114.26
    assert 22.66 <= miny < 22.67 and 23.14 < maxy <= 23.15
    assert vertices(outline) >= 30
    # Irregular, not a rectangle: well below its envelope.
    assert outline.area < 0.8 * outline.envelope.area
    assert 2_300e6 < area_m2(outline) < 3_000e6
    assert outline.equals_exact(city_outline(), 0.0)


# -- partition ------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 7, 32])
@pytest.mark.parametrize("weighted", [False, True])
def test_partition_tiles_the_city(n: int, weighted: bool) -> None:
    outline = city_outline()
    weights = list(np.random.default_rng(n).uniform(1.0, 6.0, n)) if weighted else None
    cells = partition(outline, n, np.random.default_rng(11), weights)
    assert len(cells) == n
    assert_tiles(outline, cells)


def test_partition_follows_weights() -> None:
    outline = city_outline()
    weights = [1.0, 2.0, 4.0, 8.0, 3.0, 1.5, 6.0, 2.5, 1.0, 5.0]
    cells = partition(outline, len(weights), np.random.default_rng(3), weights)
    areas = np.array([area_m2(c) for c in cells])
    share = areas / areas.sum()
    target = np.array(weights) / sum(weights)
    # Fitted on planar (cos-lat scaled) areas; the ellipsoid changes the ratios by well under 1 %.
    assert np.abs(share / target - 1.0).max() < 0.02


def test_partition_without_weights_gives_similar_sizes() -> None:
    cells = partition(city_outline(), 24, np.random.default_rng(5))
    areas = np.array([area_m2(c) for c in cells])
    assert areas.min() > 0.5 * areas.mean()
    assert areas.max() < 1.6 * areas.mean()


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13, 30])
@pytest.mark.parametrize("weighted", [False, True])
def test_partition_of_a_non_convex_polygon(n: int, weighted: bool) -> None:
    # Cells clipped by the comb fall apart into several teeth: strays are merged into neighbours.
    for seed in range(3):
        weights = list(np.random.default_rng(seed).uniform(1.0, 5.0, n)) if weighted else None
        cells = partition(COMB, n, np.random.default_rng(seed), weights)
        assert len(cells) == n
        assert_tiles(COMB, cells)


def test_partition_of_a_small_community_sized_polygon() -> None:
    community = shapely.Polygon([(113.75, 22.95), (113.77, 22.951), (113.768, 22.967), (113.752, 22.964)])
    cells = partition(community, 6, np.random.default_rng(1))
    assert len(cells) == 6
    assert_tiles(community, cells)


def test_partition_into_one_cell_is_the_polygon() -> None:
    outline = city_outline()
    assert partition(outline, 1, np.random.default_rng(0)) == [outline]
    assert partition(outline, 1, np.random.default_rng(0), [3.0]) == [outline]


def test_partition_is_deterministic() -> None:
    outline = city_outline()
    for weights in (None, [1.0, 3.0, 2.0, 5.0, 1.0, 2.0]):
        first = partition(outline, 6, np.random.default_rng(42), weights)
        again = partition(outline, 6, np.random.default_rng(42), weights)
        other = partition(outline, 6, np.random.default_rng(43), weights)
        assert wkb(first) == wkb(again)
        assert wkb(first) != wkb(other)


def test_partition_rejects_bad_arguments() -> None:
    outline = city_outline()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        partition(outline, 0, rng)
    with pytest.raises(ValueError):
        partition(outline, 3, rng, [1.0, 2.0])
    with pytest.raises(ValueError):
        partition(outline, 2, rng, [1.0, 0.0])
    with pytest.raises(ValueError):
        partition(outline, 2, rng, [1.0, math.nan])
    with pytest.raises(ValueError):
        partition(Polygon(), 2, rng)
    bowtie = Polygon([(113.6, 22.8), (113.7, 22.9), (113.7, 22.8), (113.6, 22.9)])
    with pytest.raises(ValueError):
        partition(bowtie, 2, rng)


# -- roughen --------------------------------------------------------------------------------------


TREE_PLANS = [
    Plan(f"44190010{t}", weight=1.0 + t, children=tuple(Plan(f"44190010{t}20{c}", grids=3) for c in range(3)))
    for t in range(4)
]


@cache
def raw_tree() -> Cell:
    """City → 4 towns (weights 1:2:3:4) → 3 communities → 3 grids, unroughened."""
    return build_tree(TREE_PLANS, seed=7, rough=False)


@cache
def rough_tree() -> Cell:
    """:func:`raw_tree` roughened (grid keys still numbered on the raw polygons)."""
    return roughen_tree(
        raw_tree(), spacing_deg=DEFAULT_SPACING_DEG, amplitude_deg=DEFAULT_AMPLITUDE_DEG, seed=7
    )


@cache
def built_tree() -> Cell:
    """The same plans through :func:`build_tree` with roughening: grids numbered on final polygons."""
    return build_tree(TREE_PLANS, seed=7)


def test_raw_tree_tiles_at_every_level() -> None:
    for _, _, cell in iter_cells(raw_tree()):
        if cell.children:
            assert_tiles(cell.polygon, [c.polygon for c in cell.children])


def test_roughened_tree_tiles_at_every_level() -> None:
    parents = 0
    for _, _, cell in iter_cells(rough_tree()):
        if cell.children:
            parents += 1
            assert_tiles(cell.polygon, [c.polygon for c in cell.children])
    assert parents == 1 + 4 + 12


def test_roughen_raises_vertex_counts_and_moves_borders() -> None:
    raw = [c for _, _, c in iter_cells(raw_tree())]
    rough = [c for _, _, c in iter_cells(rough_tree())]
    assert [c.key for c in raw] == [c.key for c in rough]
    for before, after in zip(raw, rough, strict=True):
        assert vertices(after.polygon) > 5 * vertices(before.polygon)
        assert after.polygon.is_valid
        # Displaced by at most the amplitude (the Hausdorff distance bounds the border shift).
        assert 0 < before.polygon.hausdorff_distance(after.polygon) <= DEFAULT_AMPLITUDE_DEG * (1 + 1e-9)
        assert area_m2(after.polygon) == pytest.approx(area_m2(before.polygon), rel=0.02)


def test_roughen_levels_separately_keeps_the_tiling() -> None:
    # T-junctions: a town's border does not have the vertices where its communities meet it, yet
    # the piecewise-linear map keeps them on the roughened border.  Roughen each level on its own.
    tree = raw_tree()

    def rough(polygons: list[Polygon]) -> list[Polygon]:
        return roughen(polygons, spacing_deg=DEFAULT_SPACING_DEG, amplitude_deg=DEFAULT_AMPLITUDE_DEG, seed=7)

    city = rough([tree.polygon])[0]
    towns = rough([t.polygon for t in tree.children])
    communities = rough([c.polygon for t in tree.children for c in t.children])
    assert_tiles(city, towns)
    for k, town in enumerate(towns):
        assert_tiles(town, communities[3 * k : 3 * k + 3])
    # Same result as the one-call roughening, up to float rounding.
    joint = rough_tree()
    for mine, theirs in zip(towns, (t.polygon for t in joint.children), strict=True):
        assert np.abs(shapely.get_coordinates(mine) - shapely.get_coordinates(theirs)).max() < 1e-12


def test_shared_borders_are_bit_identical() -> None:
    town = rough_tree().children[0]
    a, b = max(
        ((x, y) for x in town.children for y in town.children if x.key < y.key),
        key=lambda pair: shapely.intersection(pair[0].polygon.boundary, pair[1].polygon.boundary).length,
    )
    shared = shapely.intersection(a.polygon.boundary, b.polygon.boundary)
    assert shared.length > 0.001  # neighbours whose borders coincide exactly
    coords_a = {tuple(xy) for xy in shapely.get_coordinates(a.polygon)}
    coords_b = {tuple(xy) for xy in shapely.get_coordinates(b.polygon)}
    # The shared border is made of the same vertices in both polygons.
    assert len(coords_a & coords_b) > 20
    assert shapely.area(shapely.intersection(a.polygon, b.polygon)) < 1e-15


def test_roughen_is_deterministic_and_seeded() -> None:
    polygons = [c.polygon for c in raw_tree().children]
    kwargs = {"spacing_deg": DEFAULT_SPACING_DEG, "amplitude_deg": DEFAULT_AMPLITUDE_DEG}
    first = roughen(polygons, seed=1, **kwargs)
    assert wkb(first) == wkb(roughen(polygons, seed=1, **kwargs))
    assert wkb(first) != wkb(roughen(polygons, seed=2, **kwargs))


def test_roughen_with_zero_amplitude_only_densifies() -> None:
    polygons = [c.polygon for c in raw_tree().children]
    dense = roughen(polygons, spacing_deg=DEFAULT_SPACING_DEG, amplitude_deg=0.0, seed=1)
    for before, after in zip(polygons, dense, strict=True):
        assert vertices(after) > 10 * vertices(before)
        assert after.area == pytest.approx(before.area, rel=1e-12)
        assert shapely.symmetric_difference(after, before).area < 1e-15
        # Every edge is at most one lattice diagonal long.
        xy = shapely.get_coordinates(after.exterior)
        assert np.hypot(*np.diff(xy, axis=0).T).max() <= math.sqrt(2) * DEFAULT_SPACING_DEG * (1 + 1e-9)


def test_roughen_keeps_holes() -> None:
    outer = Polygon(
        [(113.70, 22.90), (113.80, 22.90), (113.80, 23.00), (113.70, 23.00)],
        [[(113.74, 22.94), (113.76, 22.94), (113.76, 22.96), (113.74, 22.96)]],
    )
    hole = Polygon(outer.interiors[0])
    rough_outer, rough_hole = roughen([outer, hole], spacing_deg=0.0003, amplitude_deg=0.0006, seed=3)
    assert len(rough_outer.interiors) == 1
    assert rough_outer.is_valid and rough_hole.is_valid
    assert_tiles(Polygon(rough_outer.exterior), [rough_outer, rough_hole])


def test_roughen_rejects_bad_arguments() -> None:
    square = Polygon([(113.7, 22.9), (113.8, 22.9), (113.8, 23.0), (113.7, 23.0)])
    with pytest.raises(ValueError):
        roughen([square], spacing_deg=0.0, amplitude_deg=0.0006, seed=1)
    with pytest.raises(ValueError):
        roughen([square], spacing_deg=0.0003, amplitude_deg=-1e-4, seed=1)
    with pytest.raises(ValueError, match="too large"):
        roughen([square], spacing_deg=0.0003, amplitude_deg=0.01, seed=1)
    with pytest.raises(ValueError):
        roughen([Polygon()], spacing_deg=0.0003, amplitude_deg=0.0006, seed=1)
    assert roughen([], spacing_deg=0.0003, amplitude_deg=0.0006, seed=1) == []


def test_displacement_is_bounded_and_continuous() -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform((113.5, 22.6), (114.3, 23.2), size=(20_000, 2))
    moved = displacement(points, spacing_deg=DEFAULT_SPACING_DEG, amplitude_deg=DEFAULT_AMPLITUDE_DEG, seed=9)
    assert moved.shape == points.shape
    assert np.hypot(*moved.T).max() <= DEFAULT_AMPLITUDE_DEG
    assert np.hypot(*moved.T).mean() > 0.1 * DEFAULT_AMPLITUDE_DEG
    # One-to-one: nearby points move by less than their distance (slope < 1).
    near = points + rng.normal(scale=DEFAULT_SPACING_DEG, size=points.shape)
    moved_near = displacement(
        near, spacing_deg=DEFAULT_SPACING_DEG, amplitude_deg=DEFAULT_AMPLITUDE_DEG, seed=9
    )
    ratio = np.hypot(*(moved_near - moved).T) / np.hypot(*(near - points).T)
    assert ratio.max() < 1.0


# -- build_tree -----------------------------------------------------------------------------------


def test_build_tree_keys_and_reading_order() -> None:
    tree = built_tree()
    keys = [c.key for _, _, c in iter_cells(tree)]
    assert len(keys) == len(set(keys)) == 1 + 4 + 12 + 36
    assert tree.key == "441900"
    for town in tree.children:
        for community in town.children:
            assert [g.key for g in community.children] == [grid_code(community.key, s) for s in (1, 2, 3)]
            points = shapely.get_coordinates(
                shapely.point_on_surface([g.polygon for g in community.children])
            )
            assert reading_order([(float(x), float(y)) for x, y in points]) == [0, 1, 2]


def test_build_tree_is_deterministic() -> None:
    plans = [
        Plan("441900101", children=(Plan("441900101200", grids=4), Plan("441900101201", weight=2, grids=2)))
    ]
    plans.append(Plan("441900102", children=(Plan("441900102200", grids=3),)))
    first = [(c.key, shapely.to_wkb(c.polygon)) for _, _, c in iter_cells(build_tree(plans, seed=5))]
    again = [(c.key, shapely.to_wkb(c.polygon)) for _, _, c in iter_cells(build_tree(plans, seed=5))]
    other = [(c.key, shapely.to_wkb(c.polygon)) for _, _, c in iter_cells(build_tree(plans, seed=6))]
    assert first == again
    assert [k for k, _ in first] == [k for k, _ in other]
    assert first != other


def test_iter_cells_is_pre_order_with_parents() -> None:
    tree = raw_tree()
    walked = list(iter_cells(tree))
    assert walked[0] == (0, None, tree)
    assert walked[1] == (1, tree, tree.children[0])
    assert walked[2] == (2, tree.children[0], tree.children[0].children[0])
    assert [d for d, _, _ in walked].count(3) == 36


def test_apportion() -> None:
    assert apportion(10, [1, 1, 1, 1, 1]) == [2, 2, 2, 2, 2]
    assert apportion(10, [1, 2, 3, 4]) == [1, 2, 3, 4]
    assert apportion(7, [1, 1, 1]) == [3, 2, 2]  # ties go to the earlier index
    assert apportion(3, [100, 1, 1]) == [1, 1, 1]  # the minimum wins
    assert apportion(20, [50, 1, 1]) == [18, 1, 1]  # raised to the minimum, the rest proportional
    assert apportion(12, [6, 3, 2, 1], minimum=2) == [5, 3, 2, 2]
    assert apportion(0, [1, 2], minimum=0) == [0, 0]
    assert apportion(2894, [1.0] * 605) == [5] * 474 + [4] * 131
    assert sum(apportion(2894, list(np.random.default_rng(1).lognormal(0, 0.5, 605)))) == 2894
    with pytest.raises(ValueError):
        apportion(2, [1, 1, 1])
    with pytest.raises(ValueError):
        apportion(5, [])
    with pytest.raises(ValueError):
        apportion(5, [1, -1])


# -- full scale -----------------------------------------------------------------------------------


def full_scale_plans() -> list[Plan]:
    """32 towns/streets, 605 villages/communities from the fixture, 2,894 base grids."""
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    communities: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["level"] == "community":
            communities[row["parent_code"]].append(row["code"])
    towns = [row["code"] for row in rows if row["level"] == "town"]
    members = [c for t in towns for c in communities[t]]
    weights = list(np.random.default_rng(2026).lognormal(0.0, 0.5, len(members)))
    grids = dict(zip(members, apportion(2894, weights), strict=True))
    return [
        Plan(
            t,
            weight=float(len(communities[t])),
            children=tuple(Plan(c, grids=grids[c]) for c in communities[t]),
        )
        for t in towns
    ]


def test_full_scale_city() -> None:
    plans = full_scale_plans()
    started = time.perf_counter()
    tree = build_tree(plans, seed=2026)
    elapsed = time.perf_counter() - started
    assert elapsed < 60  # typically ~5 s; generous for slow CI machines

    levels: dict[int, list[Cell]] = defaultdict(list)
    for depth, _, cell in iter_cells(tree):
        levels[depth].append(cell)
    assert [len(levels[d]) for d in range(4)] == [1, 32, 605, 2894]
    keys = [c.key for d in range(4) for c in levels[d]]
    assert len(set(keys)) == len(keys)
    assert all(len(c.key) == 15 and c.key.startswith("441900") for c in levels[3])
    polygons = np.asarray([c.polygon for d in range(4) for c in levels[d]], dtype=object)
    assert shapely.is_valid(polygons).all()
    assert all(isinstance(p, Polygon) for p in polygons)

    grid_vertices = np.array([vertices(c.polygon) for c in levels[3]])
    assert grid_vertices.min() >= 60
    assert 200 <= np.median(grid_vertices) <= 500

    # Towns tile the city; one town's communities and grids tile it (the whole map is ~10 s more).
    assert_tiles(tree.polygon, [t.polygon for t in tree.children])
    town = tree.children[0]
    assert_tiles(town.polygon, [c.polygon for c in town.children])
    for community in town.children:
        assert_tiles(community.polygon, [g.polygon for g in community.children])
