"""Grid geometry checks before import/redraw (zhiwang.grids.validation); no database."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from zhiwang.grids.validation import Problem, check_geometry, check_siblings, geodesic_area_m2

PARENT = "441900003001"
WEST = "441900003001001"
EAST = "441900003001002"
PARENT_BOX = box(113.0, 23.0, 113.02, 23.01)


def quadrangle_area_m2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Analytic area of a lon/lat quadrangle on the WGS-84 ellipsoid (authalic formula)."""
    a = 6378137.0
    f = 1 / 298.257223563
    e2 = f * (2 - f)
    e = math.sqrt(e2)

    def q(lat: float) -> float:
        s = math.sin(math.radians(lat))
        return (1 - e2) * (s / (1 - e2 * s * s) - math.log((1 - e * s) / (1 + e * s)) / (2 * e))

    return a * a * math.radians(lon1 - lon0) / 2 * (q(lat1) - q(lat0))


# -- geodesic_area_m2 ---------------------------------------------------------------


def test_geodesic_area_of_a_small_square_near_23_north() -> None:
    expected = quadrangle_area_m2(113.0, 23.0, 113.01, 23.01)  # about 1.135 km²
    assert 1_130_000 < expected < 1_140_000
    assert geodesic_area_m2(box(113.0, 23.0, 113.01, 23.01)) == pytest.approx(expected, rel=0.005)


def test_geodesic_area_ignores_orientation_subtracts_holes_and_skips_lines() -> None:
    outer = box(113.0, 23.0, 113.01, 23.01)
    clockwise = Polygon(list(outer.exterior.coords)[::-1])
    assert geodesic_area_m2(clockwise) == pytest.approx(geodesic_area_m2(outer), rel=1e-12)

    hole = box(113.002, 23.002, 113.004, 23.004)
    holed = outer.difference(hole)
    assert geodesic_area_m2(holed) == pytest.approx(
        quadrangle_area_m2(113.0, 23.0, 113.01, 23.01) - quadrangle_area_m2(113.002, 23.002, 113.004, 23.004),
        rel=1e-6,
    )
    # Same hole, ring stored the "wrong" way round: same answer.
    holed_ccw_hole = Polygon(outer.exterior.coords, [hole.exterior.coords])
    assert geodesic_area_m2(holed_ccw_hole) == pytest.approx(geodesic_area_m2(holed), rel=1e-12)

    shifted_clockwise = Polygon(list(box(113.02, 23.0, 113.03, 23.01).exterior.coords)[::-1])
    two = MultiPolygon([outer, shifted_clockwise])
    mixed = GeometryCollection([outer, LineString([(113.0, 23.0), (113.5, 23.5)]), Point(113.0, 23.0)])
    assert geodesic_area_m2(mixed) == pytest.approx(geodesic_area_m2(outer), rel=1e-12)
    assert geodesic_area_m2(two) == pytest.approx(2 * geodesic_area_m2(outer), rel=1e-12)
    assert geodesic_area_m2(LineString([(113.0, 23.0), (113.5, 23.5), (113.0, 23.5)])) == 0.0
    assert geodesic_area_m2(Polygon()) == 0.0
    assert geodesic_area_m2(None) == 0.0


# -- check_geometry -----------------------------------------------------------------


def test_bow_tie_is_invalid_with_its_key_and_the_crossing() -> None:
    bow_tie = Polygon([(113.0, 23.0), (113.01, 23.01), (113.01, 23.0), (113.0, 23.01)])
    problems = check_geometry(WEST, bow_tie)
    assert len(problems) == 1
    problem = problems[0]
    assert problem.kind == "invalid"
    assert problem.features == (WEST,)
    assert problem.message == (
        "Grid 441900003001001 is not a valid polygon: self-intersection at (113.0050, 23.0050)."
    )
    assert str(problem.detail["reason"]).startswith("Self-intersection[")
    assert problem.detail["location"] == pytest.approx([113.005, 23.005], abs=1e-12)


def test_valid_polygon_and_multipolygon_have_no_problems() -> None:
    assert check_geometry(WEST, box(113.0, 23.0, 113.01, 23.01)) == []
    parts = MultiPolygon([box(113.0, 23.0, 113.01, 23.01), box(113.02, 23.0, 113.03, 23.01)])
    assert check_geometry(WEST, parts) == []


def test_wrong_kinds_of_geometry() -> None:
    line = check_geometry("G", LineString([(113.0, 23.0), (113.01, 23.01)]))
    assert [(p.kind, p.features, p.message) for p in line] == [
        ("not_polygon", ("G",), "Grid G is a LineString; a Polygon or MultiPolygon is required.")
    ]
    missing = check_geometry("G", None)
    assert [(p.kind, p.message) for p in missing] == [
        ("not_polygon", "Grid G has no geometry; a Polygon or MultiPolygon is required.")
    ]
    assert [p.kind for p in check_geometry("G", "POLYGON ((0 0, 1 0, 1 1, 0 0))")] == ["not_polygon"]
    empty = check_geometry("G", Polygon())
    assert [(p.kind, p.features, p.message) for p in empty] == [
        ("empty", ("G",), "Grid G has an empty geometry.")
    ]
    assert [p.kind for p in check_geometry("G", MultiPolygon())] == ["empty"]


def test_coordinates_out_of_range() -> None:
    swapped = check_geometry("G", box(23.0, 113.0, 23.01, 113.01))
    assert [p.kind for p in swapped] == ["invalid"]
    assert swapped[0].message == (
        "Grid G has coordinates outside the longitude/latitude range "
        "(x 23 to 23.01, y 113 to 113.01); longitude and latitude look swapped."
    )
    assert swapped[0].detail == {"reason": "coordinates out of range", "bounds": [23.0, 113.0, 23.01, 113.01]}

    projected = check_geometry("G", box(12_600_000, 2_600_000, 12_601_000, 2_601_000))
    assert [p.kind for p in projected] == ["invalid"]
    assert "projected" in projected[0].message

    with np.errstate(invalid="ignore"):
        not_finite = shapely.polygons([[113.0, 23.0], [113.01, 23.0], [math.nan, 23.01], [113.0, 23.0]])
    assert [(p.kind, p.detail["reason"]) for p in check_geometry("G", not_finite)] == [
        ("invalid", "non-finite coordinates")
    ]


# -- check_siblings -----------------------------------------------------------------


def test_overlapping_siblings_are_named_with_the_area() -> None:
    west = box(113.0, 23.0, 113.011, 23.01)  # 0.001° too far east
    east = box(113.01, 23.0, 113.02, 23.01)
    problems = check_siblings([(WEST, west), (EAST, east)])
    assert len(problems) == 1
    problem = problems[0]
    assert problem.kind == "overlap"
    assert problem.features == (WEST, EAST)
    assert problem.message == (
        "Grids 441900003001001 and 441900003001002 overlap by 113,533 m² near (113.0105, 23.0050)."
    )
    assert problem.detail["area_m2"] == pytest.approx(
        quadrangle_area_m2(113.01, 23.0, 113.011, 23.01), rel=1e-6
    )
    assert problem.detail["location"] == pytest.approx([113.0105, 23.005], abs=1e-9)
    assert problem.detail["pieces"] == 1


def test_a_grid_inside_another_is_an_overlap() -> None:
    big = box(113.0, 23.0, 113.02, 23.01)
    small = box(113.005, 23.002, 113.006, 23.003)
    problems = check_siblings([("big", big), ("small", small)])
    assert [(p.kind, p.features) for p in problems] == [("overlap", ("big", "small"))]
    assert problems[0].detail["area_m2"] == pytest.approx(
        quadrangle_area_m2(113.005, 23.002, 113.006, 23.003), rel=1e-6
    )


def test_gap_in_the_parent_is_reported() -> None:
    # A 0.002° x 0.002° hole straddling the shared border: half missing from each side.
    west = box(113.0, 23.0, 113.01, 23.01).difference(box(113.009, 23.004, 113.01, 23.006))
    east = box(113.01, 23.0, 113.02, 23.01).difference(box(113.01, 23.004, 113.011, 23.006))
    problems = check_siblings([(WEST, west), (EAST, east)], (PARENT, PARENT_BOX))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.kind == "gap"
    assert problem.features == (PARENT, WEST, EAST)
    assert problem.message == (
        "Parent 441900003001 has a gap of 45,413 m² near (113.0100, 23.0050) that no grid covers "
        "(next to 441900003001001 and 441900003001002)."
    )
    assert problem.detail["area_m2"] == pytest.approx(
        quadrangle_area_m2(113.009, 23.004, 113.011, 23.006), rel=1e-6
    )
    assert problem.detail["adjacent"] == [WEST, EAST]
    assert problem.detail["parent"] == PARENT


def test_gaps_are_reported_one_per_piece_largest_first() -> None:
    west = box(113.0, 23.0, 113.01, 23.01).difference(box(113.001, 23.001, 113.002, 23.002))
    east = box(113.01, 23.0, 113.02, 23.01).difference(box(113.011, 23.001, 113.013, 23.002))
    problems = check_siblings([(WEST, west), (EAST, east)], (PARENT, PARENT_BOX))
    assert [(p.kind, p.features) for p in problems] == [("gap", (PARENT, EAST)), ("gap", (PARENT, WEST))]
    areas = [p.detail["area_m2"] for p in problems]
    assert areas == [
        pytest.approx(quadrangle_area_m2(113.011, 23.001, 113.013, 23.002), rel=1e-6),
        pytest.approx(quadrangle_area_m2(113.001, 23.001, 113.002, 23.002), rel=1e-6),
    ]


def test_child_poking_outside_the_parent() -> None:
    west = box(113.0, 23.0, 113.01, 23.01)
    east = box(113.01, 23.0, 113.021, 23.01)  # 0.001° beyond the parent's east edge
    problems = check_siblings([(WEST, west), (EAST, east)], (PARENT, PARENT_BOX))
    assert len(problems) == 1
    problem = problems[0]
    assert problem.kind == "outside_parent"
    assert problem.features == (EAST, PARENT)
    assert problem.message == (
        "Grid 441900003001002 extends 113,533 m² outside its parent 441900003001 near (113.0205, 23.0050)."
    )
    assert problem.detail["area_m2"] == pytest.approx(
        quadrangle_area_m2(113.02, 23.0, 113.021, 23.01), rel=1e-6
    )


def test_clean_partition_reports_nothing() -> None:
    lattice = [
        (
            f"{PARENT}{3 * row + col + 1:03d}",
            box(
                113.0 + col * 0.02 / 3,
                23.0 + row * 0.005,
                113.0 + (col + 1) * 0.02 / 3,
                23.0 + (row + 1) * 0.005,
            ),
        )
        for row in range(2)
        for col in range(3)
    ]
    # Straight from box(): neighbours share their edges exactly.
    assert check_siblings(lattice, (PARENT, PARENT_BOX)) == []
    assert check_siblings(lattice) == []


def test_irregular_partition_with_float_noise_reports_nothing() -> None:
    rng = np.random.default_rng(11)
    seeds = shapely.multipoints(
        np.column_stack([rng.uniform(113.0, 113.02, 60), rng.uniform(23.0, 23.01, 60)])
    )
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=PARENT_BOX))
    # Segmentizing each cell on its own puts slightly different vertices on the two sides of
    # every shared border: the float noise of real data.
    cells = shapely.segmentize(shapely.intersection(cells, PARENT_BOX), 0.0001)
    items = [(f"{PARENT}{i:03d}", cell) for i, cell in enumerate(cells, start=1)]
    assert check_siblings(items, (PARENT, PARENT_BOX)) == []


def test_noise_below_tolerance_reports_nothing_but_is_seen_below_it() -> None:
    east = box(113.01, 23.0, 113.02, 23.01)
    overlapping = box(113.0, 23.0, 113.01 + 1e-9, 23.01)  # 0.1 mm over a 1.1 km border: 0.11 m²
    assert check_siblings([(WEST, overlapping), (EAST, east)], (PARENT, PARENT_BOX)) == []
    strict = check_siblings([(WEST, overlapping), (EAST, east)], (PARENT, PARENT_BOX), tolerance_m2=0.01)
    assert [(p.kind, p.features) for p in strict] == [("overlap", (WEST, EAST))]
    assert strict[0].detail["area_m2"] == pytest.approx(0.1135, abs=0.001)

    short = box(113.0, 23.0, 113.01 - 1e-9, 23.01)  # a 0.1 mm slit instead
    assert check_siblings([(WEST, short), (EAST, east)], (PARENT, PARENT_BOX)) == []
    strict = check_siblings([(WEST, short), (EAST, east)], (PARENT, PARENT_BOX), tolerance_m2=0.01)
    assert [(p.kind, p.features) for p in strict] == [("gap", (PARENT, WEST, EAST))]

    poking = box(113.01, 23.0, 113.02 + 1e-9, 23.01)
    assert (
        check_siblings([(WEST, box(113.0, 23.0, 113.01, 23.01)), (EAST, poking)], (PARENT, PARENT_BOX)) == []
    )


def test_without_a_parent_only_overlaps_are_checked() -> None:
    far_apart = [(WEST, box(113.0, 23.0, 113.001, 23.001)), (EAST, box(113.5, 23.5, 113.501, 23.501))]
    assert check_siblings(far_apart) == []


def test_invalid_features_are_skipped_by_check_siblings() -> None:
    bow_tie = Polygon([(113.0, 23.0), (113.02, 23.01), (113.02, 23.0), (113.0, 23.01)])
    west = box(113.0, 23.0, 113.01, 23.01)
    items = [(WEST, west), (EAST, bow_tie), ("line", LineString([(113.0, 23.0), (113.02, 23.01)]))]
    # Only the valid West remains: no overlap with the bow-tie, and East's half is a gap.
    problems = check_siblings(items, (PARENT, PARENT_BOX))
    assert [(p.kind, p.features) for p in problems] == [("gap", (PARENT, WEST))]
    assert problems[0].detail["area_m2"] == pytest.approx(
        quadrangle_area_m2(113.01, 23.0, 113.02, 23.01), rel=1e-6
    )


def test_invalid_parent_means_only_overlaps_are_checked() -> None:
    bad_parent = Polygon([(113.0, 23.0), (113.02, 23.01), (113.02, 23.0), (113.0, 23.01)])
    west = box(113.0, 23.0, 113.011, 23.01)
    east = box(113.01, 23.0, 113.03, 23.01)
    problems = check_siblings([(WEST, west), (EAST, east)], (PARENT, bad_parent))
    assert [p.kind for p in problems] == ["overlap"]


def test_several_problems_come_in_a_fixed_order() -> None:
    west = box(113.0, 23.0, 113.011, 23.01)  # overlaps east
    east = box(113.01, 23.0, 113.021, 23.008)  # sticks out east, leaves a strip at the top
    problems = check_siblings([(WEST, west), (EAST, east)], (PARENT, PARENT_BOX))
    assert [(p.kind, p.features) for p in problems] == [
        ("overlap", (WEST, EAST)),
        ("outside_parent", (EAST, PARENT)),
        ("gap", (PARENT, WEST, EAST)),
    ]
    assert all(isinstance(p, Problem) and p.message.endswith(".") for p in problems)


def test_parent_geometry_is_not_modified() -> None:
    parent = box(113.0, 23.0, 113.02, 23.01)
    check_siblings([(WEST, box(113.0, 23.0, 113.01, 23.01))], (PARENT, parent))
    assert not shapely.is_prepared(parent)


def test_negative_tolerance_is_refused() -> None:
    with pytest.raises(ValueError, match="tolerance_m2"):
        check_siblings([], tolerance_m2=-1.0)
    with pytest.raises(ValueError, match="tolerance_m2"):
        check_siblings([], tolerance_m2=math.nan)
