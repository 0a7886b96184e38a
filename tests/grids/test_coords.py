"""Tests for zhiwang.grids.coords (WGS-84 / GCJ-02 / BD-09 conversions). No database needed."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from zhiwang.grids.coords import (
    CoordSystem,
    bd09_from_gcj02,
    bd09_from_wgs84,
    from_wgs84,
    gcj02_from_bd09,
    gcj02_from_wgs84,
    out_of_china,
    to_wgs84,
    to_wgs84_arrays,
    wgs84_from_bd09,
    wgs84_from_gcj02,
)

EARTH_RADIUS_M = 6_371_008.8
#: The requirement is < 1 cm; the implementation aims at (and achieves far better than) 1 mm.
MAX_ROUND_TRIP_ERROR_M = 0.001

# Lattice covering mainland China and its coasts (lon 73.5-135 E, lat 18-53.5 N).
CHINA_LONS = np.linspace(73.5, 135.0, 247)  # 0.25 deg step
CHINA_LATS = np.linspace(18.0, 53.5, 143)  # 0.25 deg step

# Published WGS-84 -> GCJ-02 reference vectors from the cross-language test suite of
# googollee/eviltransform (Shanghai, Shenzhen, Beijing), converted to (lon, lat).
REFERENCE_WGS_GCJ = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]

OUTSIDE_CHINA = [
    (139.6917, 35.6895),  # Tokyo
    (-0.1276, 51.5072),  # London
    (-74.0060, 40.7128),  # New York
    (151.2093, -33.8688),  # Sydney
    (0.0, 0.0),
]

DONGGUAN = (113.75, 23.02)


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres; works on floats and numpy arrays."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def china_lattice() -> list[tuple[float, float]]:
    return [(float(lon), float(lat)) for lon in CHINA_LONS for lat in CHINA_LATS]


# --- helpers sanity ------------------------------------------------------------


def test_haversine_helper_one_degree_of_latitude() -> None:
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195.08, abs=0.01)
    assert haversine_m(113.0, 23.0, 113.0, 23.0) == 0.0


# --- reference vectors ----------------------------------------------------------


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE_WGS_GCJ)
def test_gcj02_from_wgs84_matches_published_vectors(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    lon, lat = gcj02_from_wgs84(*wgs)
    assert lon == pytest.approx(gcj[0], abs=1e-9)
    assert lat == pytest.approx(gcj[1], abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE_WGS_GCJ)
def test_wgs84_from_gcj02_inverts_published_vectors(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    lon, lat = wgs84_from_gcj02(*gcj)
    assert lon == pytest.approx(wgs[0], abs=1e-9)
    assert lat == pytest.approx(wgs[1], abs=1e-9)
    assert haversine_m(lon, lat, *wgs) < MAX_ROUND_TRIP_ERROR_M


# --- China rectangle ------------------------------------------------------------


def test_out_of_china_rectangle() -> None:
    assert not out_of_china(116.39, 39.91)  # Beijing
    assert not out_of_china(*DONGGUAN)
    assert not out_of_china(87.62, 43.83)  # Urumqi
    assert out_of_china(139.6917, 35.6895)  # Tokyo
    assert out_of_china(-0.1276, 51.5072)  # London
    assert out_of_china(72.0, 30.0)  # just west of the rectangle
    assert out_of_china(137.9, 30.0)  # just east
    assert out_of_china(100.0, 0.8)  # just south
    assert out_of_china(100.0, 55.9)  # just north


@pytest.mark.parametrize("point", OUTSIDE_CHINA)
def test_gcj02_is_identity_outside_china(point: tuple[float, float]) -> None:
    assert gcj02_from_wgs84(*point) == point
    assert wgs84_from_gcj02(*point) == point
    assert to_wgs84(*point, CoordSystem.GCJ02) == point
    assert from_wgs84(*point, "gcj02") == point


@pytest.mark.parametrize("point", OUTSIDE_CHINA)
def test_bd09_outside_china_still_round_trips(point: tuple[float, float]) -> None:
    # BD-09's own perturbation is applied worldwide; only the GCJ-02 part is skipped.
    bd = bd09_from_wgs84(*point)
    assert bd == bd09_from_gcj02(*point)
    assert haversine_m(*wgs84_from_bd09(*bd), *point) < MAX_ROUND_TRIP_ERROR_M


# --- offset magnitudes ------------------------------------------------------------


def test_gcj02_offset_in_dongguan_is_a_few_hundred_metres() -> None:
    lon, lat = gcj02_from_wgs84(*DONGGUAN)
    offset = haversine_m(*DONGGUAN, lon, lat)
    assert 300.0 < offset < 800.0
    # In the Pearl River Delta the GCJ-02 shift is to the east and slightly south.
    assert lon > DONGGUAN[0]
    assert lat < DONGGUAN[1]


def test_gcj02_offset_is_bounded_over_china() -> None:
    offsets = [haversine_m(lon, lat, *gcj02_from_wgs84(lon, lat)) for lon, lat in china_lattice()[::7]]
    assert 10.0 < min(offsets)
    assert max(offsets) < 1_000.0


def test_bd09_offset_from_gcj02_is_plausible() -> None:
    gcj = gcj02_from_wgs84(*DONGGUAN)
    bd = bd09_from_gcj02(*gcj)
    # Dominated by the constant (+0.0065, +0.006) degree shift: roughly 0.9 km north-east.
    assert 500.0 < haversine_m(*gcj, *bd) < 1_200.0
    assert bd[0] > gcj[0]
    assert bd[1] > gcj[1]


# --- round trips over China ---------------------------------------------------------


def test_round_trip_wgs_gcj_wgs_over_china_lattice() -> None:
    max_err = 0.0
    for lon, lat in china_lattice():
        back = wgs84_from_gcj02(*gcj02_from_wgs84(lon, lat))
        max_err = max(max_err, float(haversine_m(lon, lat, *back)))
    assert max_err < MAX_ROUND_TRIP_ERROR_M


def test_round_trip_wgs_bd_wgs_over_china_lattice() -> None:
    max_err = 0.0
    for lon, lat in china_lattice():
        back = wgs84_from_bd09(*bd09_from_wgs84(lon, lat))
        max_err = max(max_err, float(haversine_m(lon, lat, *back)))
    assert max_err < MAX_ROUND_TRIP_ERROR_M


def test_round_trip_gcj_bd_gcj_over_china_lattice() -> None:
    max_err = 0.0
    for lon, lat in china_lattice()[::3]:
        back = gcj02_from_bd09(*bd09_from_gcj02(lon, lat))
        max_err = max(max_err, float(haversine_m(lon, lat, *back)))
    assert max_err < MAX_ROUND_TRIP_ERROR_M


def test_inverse_then_forward_reproduces_gcj02_input() -> None:
    # The other direction: treat lattice points as GCJ-02 / BD-09 observations.
    for lon, lat in china_lattice()[::5]:
        assert haversine_m(lon, lat, *gcj02_from_wgs84(*wgs84_from_gcj02(lon, lat))) < MAX_ROUND_TRIP_ERROR_M
        assert haversine_m(lon, lat, *bd09_from_wgs84(*wgs84_from_bd09(lon, lat))) < MAX_ROUND_TRIP_ERROR_M


@pytest.mark.parametrize("point", [(105.0, 35.0), (105.0, 23.0), (104.9999999, 30.0), (105.0000001, 30.0)])
def test_round_trip_at_offset_polynomial_origin(point: tuple[float, float]) -> None:
    # sqrt(|lon - 105|) has an unbounded derivative at lon = 105; the inverse must still converge.
    assert haversine_m(*point, *wgs84_from_gcj02(*gcj02_from_wgs84(*point))) < MAX_ROUND_TRIP_ERROR_M
    assert haversine_m(*point, *wgs84_from_bd09(*bd09_from_wgs84(*point))) < MAX_ROUND_TRIP_ERROR_M


# --- validated entry points ------------------------------------------------------------


def test_coord_system_values() -> None:
    assert [s.value for s in CoordSystem] == ["wgs84", "gcj02", "bd09"]
    assert CoordSystem("bd09") is CoordSystem.BD09
    assert isinstance(CoordSystem.GCJ02, str)
    assert str(CoordSystem.GCJ02) == "gcj02"


def test_to_and_from_wgs84_dispatch() -> None:
    lon, lat = DONGGUAN
    assert to_wgs84(lon, lat, "wgs84") == (lon, lat)
    assert from_wgs84(lon, lat, CoordSystem.WGS84) == (lon, lat)
    assert from_wgs84(lon, lat, "gcj02") == gcj02_from_wgs84(lon, lat)
    assert from_wgs84(lon, lat, CoordSystem.BD09) == bd09_from_wgs84(lon, lat)
    assert to_wgs84(lon, lat, CoordSystem.GCJ02) == wgs84_from_gcj02(lon, lat)
    assert to_wgs84(lon, lat, "bd09") == wgs84_from_bd09(lon, lat)
    # System names are matched case-insensitively, ignoring surrounding blanks.
    assert to_wgs84(lon, lat, " GCJ02 ") == wgs84_from_gcj02(lon, lat)


@pytest.mark.parametrize("system", list(CoordSystem))
def test_from_then_to_wgs84_round_trip(system: CoordSystem) -> None:
    lon, lat = DONGGUAN
    assert haversine_m(lon, lat, *to_wgs84(*from_wgs84(lon, lat, system), system)) < MAX_ROUND_TRIP_ERROR_M


@pytest.mark.parametrize(
    ("lon", "lat", "match"),
    [
        (math.nan, 23.0, "finite"),
        (113.0, math.nan, "finite"),
        (math.inf, 23.0, "finite"),
        (113.0, -math.inf, "finite"),
        (113.0, 95.0, "latitude"),
        (113.0, -90.5, "latitude"),
        (180.5, 23.0, "longitude"),
        (-181.0, 23.0, "longitude"),
    ],
)
def test_bad_coordinates_raise_value_error(lon: float, lat: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        to_wgs84(lon, lat, "gcj02")
    with pytest.raises(ValueError, match=match):
        from_wgs84(lon, lat, CoordSystem.BD09)
    with pytest.raises(ValueError, match="invalid coordinate at index 1"):
        to_wgs84_arrays(np.array([113.0, lon]), np.array([23.0, lat]), "gcj02")


def test_range_limits_are_inclusive() -> None:
    assert to_wgs84(180.0, 90.0, "gcj02") == (180.0, 90.0)
    assert to_wgs84(-180.0, -90.0, "wgs84") == (-180.0, -90.0)


@pytest.mark.parametrize("system", ["epsg:4326x", "", "wgs-84", "mars"])
def test_unknown_system_raises_value_error(system: str) -> None:
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(113.0, 23.0, system)
    with pytest.raises(ValueError, match="unknown coordinate system"):
        from_wgs84(113.0, 23.0, system)
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84_arrays(np.array([113.0]), np.array([23.0]), system)


def test_unknown_system_error_lists_valid_systems() -> None:
    with pytest.raises(ValueError, match="'wgs84', 'gcj02', 'bd09'"):
        to_wgs84(113.0, 23.0, "epsg:4326x")


# --- vectorised path ----------------------------------------------------------------------


@pytest.mark.parametrize("system", list(CoordSystem))
def test_vectorised_equals_scalar(system: CoordSystem) -> None:
    rng = np.random.default_rng(20240601)
    lons = np.concatenate([rng.uniform(73.5, 135.0, 2000), rng.uniform(-180.0, 180.0, 500)])
    lats = np.concatenate([rng.uniform(18.0, 53.5, 2000), rng.uniform(-90.0, 90.0, 500)])
    lons = np.append(lons, [p[0] for p in OUTSIDE_CHINA] + [105.0, 180.0, -180.0])
    lats = np.append(lats, [p[1] for p in OUTSIDE_CHINA] + [35.0, 90.0, -90.0])

    got_lons, got_lats = to_wgs84_arrays(lons, lats, system)
    expected = np.array(
        [to_wgs84(float(lon), float(lat), system) for lon, lat in zip(lons, lats, strict=True)]
    )
    assert got_lons.dtype == np.float64
    assert np.max(np.abs(got_lons - expected[:, 0])) < 1e-9
    assert np.max(np.abs(got_lats - expected[:, 1])) < 1e-9


def test_vectorised_preserves_shape_and_does_not_modify_input() -> None:
    lons = np.array([[113.75, 139.6917], [121.5, 116.4]])
    lats = np.array([[23.02, 35.6895], [31.2, 39.9]])
    lons_before, lats_before = lons.copy(), lats.copy()
    got_lons, got_lats = to_wgs84_arrays(lons, lats, "bd09")
    assert got_lons.shape == got_lats.shape == (2, 2)
    assert np.array_equal(lons, lons_before)
    assert np.array_equal(lats, lats_before)
    assert (float(got_lons[1, 1]), float(got_lats[1, 1])) == pytest.approx(
        wgs84_from_bd09(116.4, 39.9), abs=1e-9
    )


def test_vectorised_gcj02_leaves_outside_china_unchanged() -> None:
    lons = np.array([p[0] for p in OUTSIDE_CHINA])
    lats = np.array([p[1] for p in OUTSIDE_CHINA])
    got_lons, got_lats = to_wgs84_arrays(lons, lats, CoordSystem.GCJ02)
    assert np.array_equal(got_lons, lons)
    assert np.array_equal(got_lats, lats)


def test_vectorised_wgs84_is_identity_copy() -> None:
    lons, lats = np.array([113.75, 0.0]), np.array([23.02, 0.0])
    got_lons, got_lats = to_wgs84_arrays(lons, lats, "wgs84")
    assert np.array_equal(got_lons, lons)
    assert np.array_equal(got_lats, lats)
    assert got_lons is not lons


@pytest.mark.parametrize(
    ("system", "forward"),
    [(CoordSystem.GCJ02, gcj02_from_wgs84), (CoordSystem.BD09, bd09_from_wgs84)],
)
def test_vectorised_round_trip_over_china_lattice(
    system: CoordSystem, forward: Callable[[float, float], tuple[float, float]]
) -> None:
    points = china_lattice()
    wgs = np.array(points)
    observed = np.array([forward(lon, lat) for lon, lat in points])
    back_lons, back_lats = to_wgs84_arrays(observed[:, 0], observed[:, 1], system)
    assert float(np.max(haversine_m(wgs[:, 0], wgs[:, 1], back_lons, back_lats))) < MAX_ROUND_TRIP_ERROR_M


def test_vectorised_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="same shape"):
        to_wgs84_arrays(np.array([113.0, 114.0]), np.array([23.0]), "gcj02")


def test_vectorised_handles_empty_input() -> None:
    got_lons, got_lats = to_wgs84_arrays(np.array([]), np.array([]), "bd09")
    assert got_lons.shape == got_lats.shape == (0,)
