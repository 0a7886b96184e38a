"""Point → grid lookup (zhiwang.grids.spatial); pure geometry, no database."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from zhiwang.grids.spatial import GridIndex

# 2 x 2 squares with edges at exactly representable floats, so that "on the border" is
# exact. Numbered from the north-west like national grid codes:
#
#   23.25  +---------+---------+
#          | NW  001 | NE  002 |
#   23.125 +---------+---------+
#          | SW  003 | SE  004 |
#   23.0   +---------+---------+
#        113.0    113.125    113.25
#
# The ids deliberately run against the code order, and the grids are passed in neither
# order, so only the code can explain which grid wins a tie.
XS = (113.0, 113.125, 113.25)
YS = (23.0, 23.125, 23.25)
SQUARES = {
    # id: (code, geometry)
    40: ("441900003001001", box(XS[0], YS[1], XS[1], YS[2])),  # NW
    30: ("441900003001002", box(XS[1], YS[1], XS[2], YS[2])),  # NE
    20: ("441900003001003", box(XS[0], YS[0], XS[1], YS[1])),  # SW
    10: ("441900003001004", box(XS[1], YS[0], XS[2], YS[1])),  # SE
}
NW, NE, SW, SE = 40, 30, 20, 10


def squares_index() -> GridIndex:
    order = [20, 40, 10, 30]
    return GridIndex(order, [SQUARES[i][0] for i in order], [SQUARES[i][1] for i in order])


def expected_square(lon: float, lat: float) -> int:
    """Independent answer for SQUARES: closed boxes, smallest code wins."""
    covering = [
        (code, grid_id)
        for grid_id, (code, geom) in SQUARES.items()
        if geom.bounds[0] <= lon <= geom.bounds[2] and geom.bounds[1] <= lat <= geom.bounds[3]
    ]
    return min(covering)[1] if covering else -1


def test_interior_points_get_their_square() -> None:
    index = squares_index()
    assert len(index) == 4
    assert index.lookup(113.06, 23.2) == NW
    assert index.lookup(113.2, 23.2) == NE
    assert index.lookup(113.06, 23.06) == SW
    assert index.lookup(113.2, 23.06) == SE


def test_shared_border_goes_to_the_smallest_code() -> None:
    index = squares_index()
    assert index.lookup(113.125, 23.2) == NW  # NW | NE
    assert index.lookup_all(113.125, 23.2) == [NW, NE]
    assert index.lookup(113.125, 23.06) == SW  # SW | SE
    assert index.lookup_all(113.125, 23.06) == [SW, SE]
    assert index.lookup(113.2, 23.125) == NE  # NE over SE
    assert index.lookup(113.06, 23.125) == NW  # NW over SW


def test_corner_shared_by_all_four_goes_to_the_smallest_code() -> None:
    index = squares_index()
    assert index.lookup(113.125, 23.125) == NW
    assert index.lookup_all(113.125, 23.125) == [NW, NE, SW, SE]
    assert index.lookup_many(np.array([113.125]), np.array([23.125])).tolist() == [NW]


def test_outer_boundary_belongs_to_the_only_grid_there() -> None:
    index = squares_index()
    assert index.lookup(113.0, 23.06) == SW  # west edge
    assert index.lookup(113.25, 23.2) == NE  # east edge
    assert index.lookup(113.2, 23.0) == SE  # south edge
    assert index.lookup(113.25, 23.25) == NE  # outer corner
    assert index.lookup(113.0, 23.0) == SW
    assert index.lookup_all(113.0, 23.06) == [SW]


def test_outside_is_none_and_minus_one() -> None:
    index = squares_index()
    outside = [(112.99, 23.1), (113.26, 23.1), (113.1, 22.99), (113.1, 23.2500001), (0.0, 0.0)]
    for lon, lat in outside:
        assert index.lookup(lon, lat) is None
        assert index.lookup_all(lon, lat) == []
    lons = np.array([p[0] for p in outside])
    lats = np.array([p[1] for p in outside])
    assert index.lookup_many(lons, lats).tolist() == [-1] * len(outside)


def test_non_finite_coordinates_have_no_grid() -> None:
    index = squares_index()
    assert index.lookup(math.nan, 23.1) is None
    assert index.lookup(113.1, math.inf) is None
    assert index.lookup_all(math.nan, math.nan) == []
    lons = np.array([math.nan, 113.1, -math.inf, 1e300, 113.1])
    lats = np.array([23.1, math.nan, 23.1, 23.1, 23.1])
    assert index.lookup_many(lons, lats).tolist() == [-1, -1, -1, -1, SW]


def test_lookup_many_matches_lookup_and_the_rule_including_borders() -> None:
    index = squares_index()
    rng = np.random.default_rng(20240601)
    n = 4000
    random_lons = rng.uniform(112.95, 113.3, n)
    random_lats = rng.uniform(22.95, 23.3, n)
    # Points exactly on the grid lines (vertical, horizontal) and on their crossings.
    line_lons = np.concatenate([rng.choice(XS, n), rng.uniform(112.95, 113.3, n), rng.choice(XS, n)])
    line_lats = np.concatenate([rng.uniform(22.95, 23.3, n), rng.choice(YS, n), rng.choice(YS, n)])
    lons = np.concatenate([random_lons, line_lons])
    lats = np.concatenate([random_lats, line_lats])

    many = index.lookup_many(lons, lats)
    assert many.dtype == np.int64
    assert many.shape == lons.shape
    single = [index.lookup(x, y) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)]
    assert many.tolist() == [-1 if s is None else s for s in single]
    assert many.tolist() == [expected_square(x, y) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)]
    # Every square and "no grid" actually occur, including ties on the lines.
    assert set(many.tolist()) == {NW, NE, SW, SE, -1}


def test_lookup_many_keeps_the_input_shape() -> None:
    index = squares_index()
    lons = np.array([[113.06, 113.2], [113.125, 200.0]])
    lats = np.array([[23.2, 23.06], [23.125, 23.1]])
    assert index.lookup_many(lons, lats).tolist() == [[NW, SE], [NW, -1]]
    assert index.lookup_many([113.06], [23.06]).tolist() == [SW]
    assert index.lookup_many(np.empty(0), np.empty(0)).tolist() == []
    with pytest.raises(ValueError, match="shape"):
        index.lookup_many(np.zeros(3), np.zeros(2))


def test_lookup_many_matches_lookup_on_an_irregular_tessellation() -> None:
    rng = np.random.default_rng(7)
    frame = box(113.6, 22.9, 113.8, 23.05)
    seeds = shapely.multipoints(
        np.column_stack([rng.uniform(113.6, 113.8, 150), rng.uniform(22.9, 23.05, 150)])
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    cells = shapely.segmentize(shapely.intersection(cells, frame), 0.002)
    ids = list(range(500, 500 + len(cells)))
    codes = [f"441900{n:09d}" for n in rng.permutation(len(cells))]
    index = GridIndex(ids, codes, list(cells))

    vertices = shapely.get_coordinates(cells)  # on borders shared by 2-3 cells
    lons = np.concatenate([vertices[:, 0], rng.uniform(113.59, 113.81, 6000)])
    lats = np.concatenate([vertices[:, 1], rng.uniform(22.89, 23.06, 6000)])
    many = index.lookup_many(lons, lats)
    single = [index.lookup(x, y) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)]
    assert many.tolist() == [-1 if s is None else s for s in single]

    # Against brute force over every cell, and the smallest code among all covering cells.
    code_of = dict(zip(ids, codes, strict=True))
    for x, y, got in zip(lons[::7].tolist(), lats[::7].tolist(), many[::7].tolist(), strict=True):
        covering = [ids[i] for i in np.flatnonzero(shapely.intersects_xy(cells, x, y))]
        assert got == (min(covering, key=code_of.__getitem__) if covering else -1)
    assert int((many == -1).sum()) > 0
    assert index._raster is not None  # the fast path was exercised, not only the fallback


def test_multipolygon_grid() -> None:
    islands = MultiPolygon([box(113.0, 23.0, 113.01, 23.01), box(113.02, 23.0, 113.03, 23.01)])
    neighbour = box(113.03, 23.0, 113.04, 23.01)
    index = GridIndex([1, 2], ["441900003002001", "441900003002002"], [islands, neighbour])
    assert index.lookup(113.005, 23.005) == 1
    assert index.lookup(113.025, 23.005) == 1
    assert index.lookup(113.015, 23.005) is None  # between the two parts
    assert index.lookup(113.035, 23.005) == 2
    assert index.lookup(113.03, 23.005) == 1  # shared border, smaller code
    assert index.lookup(113.01, 23.005) == 1  # outer edge of the first part
    lons = np.array([113.005, 113.025, 113.015, 113.035, 113.03, 113.01])
    lats = np.full(6, 23.005)
    assert index.lookup_many(lons, lats).tolist() == [1, 1, -1, 2, 1, 1]


def test_lookup_all_on_overlapping_overlays() -> None:
    school_zone = Polygon([(113.0, 23.0), (113.02, 23.0), (113.02, 23.02), (113.0, 23.02)])
    flood_zone = box(113.01, 23.01, 113.03, 23.03)
    market = box(113.012, 23.012, 113.014, 23.014)  # inside both
    ring = box(112.99, 22.99, 113.05, 23.05).difference(box(113.0, 23.0, 113.03, 23.03))
    assert isinstance(ring, Polygon)
    index = GridIndex(
        [7, 8, 9, 6],
        ["overlay-b", "overlay-a", "overlay-c", "overlay-d"],
        [school_zone, flood_zone, market, ring],
    )
    assert index.lookup_all(113.013, 23.013) == [8, 7, 9]
    assert index.lookup(113.013, 23.013) == 8
    assert index.lookup_all(113.005, 23.005) == [7]
    assert index.lookup_all(113.025, 23.025) == [8]
    assert index.lookup_all(113.02, 23.02) == [8, 7]  # corner of one, inside the other
    assert index.lookup_all(113.03, 23.03) == [8, 6]  # the ring's hole boundary is its boundary
    assert index.lookup_all(113.04, 23.04) == [6]
    assert index.lookup_all(113.04, 23.06) == []
    lons = np.array([113.013, 113.005, 113.025, 113.02, 113.03, 113.04, 113.04, 113.015])
    lats = np.array([23.013, 23.005, 23.025, 23.02, 23.03, 23.04, 23.06, 23.015])
    assert index.lookup_many(lons, lats).tolist() == [8, 7, 8, 8, 8, 6, -1, 8]


def test_enclave_in_a_hole() -> None:
    outer = box(113.0, 23.0, 113.03, 23.03).difference(box(113.01, 23.01, 113.02, 23.02))
    assert isinstance(outer, Polygon)
    enclave = box(113.01, 23.01, 113.02, 23.02)
    index = GridIndex([1, 2], ["441900003003002", "441900003003001"], [outer, enclave])
    assert index.lookup(113.015, 23.015) == 2
    assert index.lookup(113.005, 23.015) == 1
    assert index.lookup(113.01, 23.015) == 2  # hole boundary: shared, smaller code
    lons = np.array([113.015, 113.005, 113.01, 113.025])
    assert index.lookup_many(lons, np.full(4, 23.015)).tolist() == [2, 1, 2, 1]


def test_equal_codes_fall_back_to_the_smaller_id() -> None:
    index = GridIndex([5, 3], ["X", "X"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    assert index.lookup(1.0, 0.5) == 3
    assert index.lookup_all(1.0, 0.5) == [3, 5]
    assert index.lookup_many(np.array([1.0]), np.array([0.5])).tolist() == [3]


def test_invalid_geometry_still_answers_consistently() -> None:
    bow_tie = Polygon([(113.0, 23.0), (113.01, 23.01), (113.01, 23.0), (113.0, 23.01)])
    index = GridIndex([1, 2], ["a", "b"], [bow_tie, box(113.01, 23.0, 113.02, 23.01)])
    rng = np.random.default_rng(3)
    lons = rng.uniform(112.99, 113.03, 3000)
    lats = rng.uniform(22.99, 23.02, 3000)
    single = [index.lookup(x, y) for x, y in zip(lons.tolist(), lats.tolist(), strict=True)]
    assert index.lookup_many(lons, lats).tolist() == [-1 if s is None else s for s in single]


def test_empty_index() -> None:
    index = GridIndex([], [], [])
    assert len(index) == 0
    assert index.lookup(113.0, 23.0) is None
    assert index.lookup_all(113.0, 23.0) == []
    assert index.lookup_many(np.array([113.0]), np.array([23.0])).tolist() == [-1]


def test_constructor_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="length"):
        GridIndex([1, 2], ["a"], [box(0, 0, 1, 1)])
    with pytest.raises(ValueError, match="unique"):
        GridIndex([1, 1], ["a", "b"], [box(0, 0, 1, 1), box(1, 0, 2, 1)])
    with pytest.raises(TypeError, match="LineString"):
        GridIndex([1], ["a"], [LineString([(0, 0), (1, 1)])])  # type: ignore[list-item]
