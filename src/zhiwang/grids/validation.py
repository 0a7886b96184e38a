"""Geometry checks to run before any grid import or redraw is written.

Everything here works on shapely geometries in WGS-84 (lon, lat) degrees and reports
:class:`Problem` records; nothing is raised for bad data, so a caller can show every
problem of an import at once. Pure shapely/numpy/pyproj, no Django.

* :func:`check_geometry` checks one feature on its own: it must be a non-empty Polygon or
  MultiPolygon, valid by OGC rules (the GEOS reason and location are reported, e.g. a
  self-intersection at a point), with finite coordinates inside lon [-180, 180] and
  lat [-90, 90].
* :func:`check_siblings` checks a set of sibling grids against each other and, when given,
  against their parent: overlaps between siblings, gaps (parts of the parent that no
  sibling covers) and siblings sticking out of the parent. Features that fail
  :func:`check_geometry` are skipped (they cannot be intersected reliably; report them
  with :func:`check_geometry`). An invalid parent is skipped the same way, so only
  overlaps are checked then.

Tolerance
---------
Neighbouring polygons from real surveys share borders only up to floating-point and
digitising noise: the "same" border drawn twice differs by micrometres to centimetres, so
the exact intersection of two neighbours is a string of slivers with a tiny area, and
their union leaves equally tiny slits. ``tolerance_m2`` (default 1 m²) is the area below
which such a piece is ignored. It applies to the total overlap of a pair of siblings, to
the total part of a sibling outside the parent, and to each connected gap piece
separately. Areas are geodesic (WGS-84 ellipsoid, :func:`geodesic_area_m2`), not
square degrees. A long border digitised with a systematic offset can exceed 1 m²
without being a real error; raise the tolerance for such sources rather than
"fixing" the geometry.

Each reported piece comes with a representative location (a point guaranteed to lie on
the piece, from ``point_on_surface`` of its largest part), to zoom the map to.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry, BaseMultipartGeometry

__all__ = [
    "EMPTY",
    "GAP",
    "INVALID",
    "NOT_POLYGON",
    "OUTSIDE_PARENT",
    "OVERLAP",
    "Problem",
    "check_geometry",
    "check_siblings",
    "geodesic_area_m2",
]

INVALID = "invalid"
NOT_POLYGON = "not_polygon"
OVERLAP = "overlap"
GAP = "gap"
OUTSIDE_PARENT = "outside_parent"
EMPTY = "empty"

_GEOD = Geod(ellps="WGS84")
_REASON_RE = re.compile(r"^(?P<text>[^\[]*)\[(?P<where>[^\]]*)\]\s*$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one or more features."""

    kind: str  # INVALID, NOT_POLYGON, OVERLAP, GAP, OUTSIDE_PARENT or EMPTY
    features: tuple[str, ...]  # identifiers (codes or names) of the features concerned
    message: str  # a complete English sentence naming the features
    detail: dict[str, object] = field(default_factory=dict)  # machine-readable facts


# -- area ---------------------------------------------------------------------------


def _polygons(geom: BaseGeometry) -> Iterator[Polygon]:
    """The non-empty polygons in ``geom``, looking inside multi-parts and collections."""
    if isinstance(geom, Polygon):
        if not geom.is_empty:
            yield geom
    elif isinstance(geom, BaseMultipartGeometry):
        for part in geom.geoms:
            yield from _polygons(part)


def geodesic_area_m2(geom: BaseGeometry | None) -> float:
    """Area in m² on the WGS-84 ellipsoid of the polygonal part of ``geom`` (lon/lat degrees).

    Points and lines (which appear in intersection results) count as zero; ``None`` and
    empty geometries are 0. Each ring is measured on its own and taken by absolute value
    (shell minus holes), so the result does not depend on ring orientation.
    """
    if geom is None or geom.is_empty:
        return 0.0
    total = 0.0
    for poly in _polygons(geom):
        shell, _ = _GEOD.geometry_area_perimeter(poly.exterior)
        holes = sum(abs(_GEOD.geometry_area_perimeter(ring)[0]) for ring in poly.interiors)
        total += abs(shell) - holes
    return max(total, 0.0)


# -- single feature -------------------------------------------------------------------


def _fmt_area(area_m2: float) -> str:
    if area_m2 >= 100:
        return f"{area_m2:,.0f}"
    if area_m2 >= 1:
        return f"{area_m2:,.1f}"
    return f"{area_m2:.2f}"


def _fmt_point(location: Sequence[float]) -> str:
    return f"({location[0]:.4f}, {location[1]:.4f})"


def _parse_reason(reason: str) -> tuple[str, list[float] | None]:
    """Split GEOS's ``"Self-intersection[113.75 23.02]"`` into text and location."""
    match = _REASON_RE.match(reason)
    if match is None:
        return reason.strip(), None
    try:
        where = [float(v) for v in match["where"].split()]
    except ValueError:
        return match["text"].strip(), None
    if len(where) < 2:
        return match["text"].strip(), None
    return match["text"].strip(), where[:2]


def check_geometry(key: str, geom: object) -> list[Problem]:
    """Problems of one feature on its own; an empty list means it is usable.

    Reports, in this order and stopping at the first that makes the others meaningless:
    not a Polygon/MultiPolygon (``not_polygon``), empty (``empty``), non-finite or
    out-of-range coordinates (``invalid``), then OGC invalidity with the GEOS reason
    (``invalid``). Coordinates out of range and invalidity can both be reported.
    """
    if not isinstance(geom, BaseGeometry):
        what = "no geometry" if geom is None else f"a {type(geom).__name__}, not a geometry"
        return [
            Problem(
                NOT_POLYGON,
                (key,),
                f"Grid {key} has {what}; a Polygon or MultiPolygon is required.",
                {"geom_type": None if geom is None else type(geom).__name__},
            )
        ]
    if not isinstance(geom, Polygon | MultiPolygon):
        return [
            Problem(
                NOT_POLYGON,
                (key,),
                f"Grid {key} is a {geom.geom_type}; a Polygon or MultiPolygon is required.",
                {"geom_type": geom.geom_type},
            )
        ]
    if geom.is_empty:
        return [Problem(EMPTY, (key,), f"Grid {key} has an empty geometry.", {"geom_type": geom.geom_type})]

    problems: list[Problem] = []
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        return [
            Problem(
                INVALID,
                (key,),
                f"Grid {key} has coordinates that are not finite numbers (NaN or infinity).",
                {"reason": "non-finite coordinates"},
            )
        ]
    minx, miny = (float(v) for v in coords.min(axis=0))
    maxx, maxy = (float(v) for v in coords.max(axis=0))
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        if max(abs(minx), abs(maxx)) <= 90 and max(abs(miny), abs(maxy)) <= 180:
            hint = "longitude and latitude look swapped"
        else:
            hint = "they look projected (metres?) rather than WGS-84 degrees"
        problems.append(
            Problem(
                INVALID,
                (key,),
                f"Grid {key} has coordinates outside the longitude/latitude range "
                f"(x {minx:.10g} to {maxx:.10g}, y {miny:.10g} to {maxy:.10g}); {hint}.",
                {"reason": "coordinates out of range", "bounds": [minx, miny, maxx, maxy]},
            )
        )

    reason = shapely.is_valid_reason(geom)
    if reason is not None and reason != "Valid Geometry":
        text, location = _parse_reason(reason)
        where = f" at {_fmt_point(location)}" if location is not None else ""
        detail: dict[str, object] = {"reason": reason}
        if location is not None:
            detail["location"] = location
        problems.append(
            Problem(
                INVALID,
                (key,),
                f"Grid {key} is not a valid polygon: {text.lower()}{where}.",
                detail,
            )
        )
    return problems


# -- siblings and parent --------------------------------------------------------------


def _location(piece: BaseGeometry) -> list[float]:
    """A point on the largest polygon of ``piece`` (rounded to ~1 cm), for maps and messages."""
    polys = list(_polygons(piece))
    target = max(polys, key=lambda p: p.area) if polys else piece
    point = target.point_on_surface()
    return [round(point.x, 7), round(point.y, 7)]


def _join(keys: Sequence[str]) -> str:
    if len(keys) <= 2:
        return " and ".join(keys)
    return ", ".join(keys[:-1]) + " and " + keys[-1]


def check_siblings(
    items: Sequence[tuple[str, BaseGeometry]],
    parent: tuple[str, BaseGeometry] | None = None,
    *,
    tolerance_m2: float = 1.0,
) -> list[Problem]:
    """Overlaps between siblings, and with a parent also gaps and parts outside it.

    ``items`` are ``(key, geometry)`` pairs. Returned in this order: overlaps (by the
    position of the pair in ``items``), siblings outside the parent (in ``items`` order),
    gaps (largest first). Pieces of at most ``tolerance_m2`` m² are ignored (see the
    module docstring).
    """
    if not (math.isfinite(tolerance_m2) and tolerance_m2 >= 0):
        raise ValueError(f"tolerance_m2 must be a finite number >= 0, got {tolerance_m2!r}")
    usable = [(key, geom) for key, geom in items if not check_geometry(key, geom)]
    keys = [key for key, _ in usable]
    geoms = np.empty(len(usable), dtype=object)
    geoms[:] = [geom for _, geom in usable]
    tree = shapely.STRtree(geoms)

    problems = _overlaps(keys, geoms, tree, tolerance_m2)
    if parent is not None and not check_geometry(*parent):
        parent_key = parent[0]
        # A private copy, so preparing it does not touch the caller's object.
        parent_geom = shapely.from_wkb(shapely.to_wkb(parent[1]))
        shapely.prepare(parent_geom)
        problems += _outside(keys, geoms, parent_key, parent_geom, tolerance_m2)
        problems += _gaps(keys, geoms, tree, parent_key, parent_geom, tolerance_m2)
    return problems


def _overlaps(
    keys: Sequence[str], geoms: npt.NDArray[np.object_], tree: shapely.STRtree, tolerance_m2: float
) -> list[Problem]:
    if len(keys) < 2:
        return []
    first, second = tree.query(geoms, predicate="intersects")
    keep = first < second
    first, second = first[keep], second[keep]
    order = np.lexsort((second, first))
    first, second = first[order], second[order]
    # Neighbours that only touch share no interior: skip the costly intersection for them.
    interiors_meet = shapely.relate_pattern(geoms[first], geoms[second], "T********")
    first, second = first[interiors_meet], second[interiors_meet]
    pieces = shapely.intersection(geoms[first], geoms[second])

    problems = []
    for a, b, piece in zip(first.tolist(), second.tolist(), pieces, strict=True):
        area = geodesic_area_m2(piece)
        if area <= tolerance_m2:
            continue
        location = _location(piece)
        problems.append(
            Problem(
                OVERLAP,
                (keys[a], keys[b]),
                f"Grids {keys[a]} and {keys[b]} overlap by {_fmt_area(area)} m² near {_fmt_point(location)}.",
                {
                    "area_m2": round(area, 3),
                    "location": location,
                    "pieces": sum(1 for _ in _polygons(piece)),
                },
            )
        )
    return problems


def _outside(
    keys: Sequence[str],
    geoms: npt.NDArray[np.object_],
    parent_key: str,
    parent_geom: BaseGeometry,
    tolerance_m2: float,
) -> list[Problem]:
    if not keys:
        return []
    candidates = np.flatnonzero(~shapely.covers(parent_geom, geoms))  # prepared parent first
    pieces = shapely.difference(geoms[candidates], parent_geom)
    problems = []
    for i, piece in zip(candidates.tolist(), pieces, strict=True):
        area = geodesic_area_m2(piece)
        if area <= tolerance_m2:
            continue
        location = _location(piece)
        problems.append(
            Problem(
                OUTSIDE_PARENT,
                (keys[i], parent_key),
                f"Grid {keys[i]} extends {_fmt_area(area)} m² outside its parent {parent_key} "
                f"near {_fmt_point(location)}.",
                {"area_m2": round(area, 3), "location": location, "parent": parent_key},
            )
        )
    return problems


def _gaps(
    keys: Sequence[str],
    geoms: npt.NDArray[np.object_],
    tree: shapely.STRtree,
    parent_key: str,
    parent_geom: BaseGeometry,
    tolerance_m2: float,
) -> list[Problem]:
    covered = shapely.union_all(geoms) if len(keys) else None
    uncovered = parent_geom if covered is None else shapely.difference(parent_geom, covered)
    found: list[tuple[float, list[float], list[str]]] = []
    for piece in _polygons(uncovered):
        area = geodesic_area_m2(piece)
        if area <= tolerance_m2:
            continue
        next_to = tree.query(piece, predicate="intersects").tolist()
        found.append((area, _location(piece), sorted(keys[i] for i in next_to)))
    found.sort(key=lambda f: (-f[0], f[1]))

    problems = []
    for area, location, adjacent in found:
        beside = f" (next to {_join(adjacent)})" if adjacent else ""
        problems.append(
            Problem(
                GAP,
                (parent_key, *adjacent),
                f"Parent {parent_key} has a gap of {_fmt_area(area)} m² near {_fmt_point(location)} "
                f"that no grid covers{beside}.",
                {"area_m2": round(area, 3), "location": location, "parent": parent_key, "adjacent": adjacent},
            )
        )
    return problems
