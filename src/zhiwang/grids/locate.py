"""Point → grid: which base grid and which overlay grids a point lies in, now or at a past time.

Indexes are built from the database once per process and rebuilt when the grid map changes
(any `GridChange` newer than the one the index was built at) or for another moment in history.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Max
from shapely.geometry import MultiPolygon, Polygon

from zhiwang.common.errors import ValidationFailed
from zhiwang.grids.coords import CoordSystem, to_wgs84, to_wgs84_arrays
from zhiwang.grids.geojson import grid_geometry
from zhiwang.grids.models import GridChange, GridNode, GridShape, Layer, Level
from zhiwang.grids.selectors import valid_at_q
from zhiwang.grids.spatial import GridIndex

_BASE_LEVELS = (Level.GRID,)
_lock = threading.Lock()
_cache: OrderedDict[tuple[str, int, str], GridIndex] = OrderedDict()
_CACHE_SIZE = 8


@dataclass(frozen=True)
class Location:
    lon: float  # WGS-84
    lat: float
    source_system: str
    source_lon: float
    source_lat: float
    grid_id: int | None
    overlay_ids: tuple[int, ...]
    overlay_codes: tuple[str, ...] = ()


# Another process's grid change is noticed within this many seconds; this process's own changes
# clear the cache on commit (see `grids.services`).
RECHECK_SECONDS = 5.0
_version: list[float] = [float("-inf"), 0]  # [checked at (monotonic), version]
_cities: dict[int, dict[str, int]] = {}


def _map_version() -> int:
    now = time.monotonic()
    with _lock:
        if now - _version[0] < RECHECK_SECONDS:
            return int(_version[1])
    latest = GridChange.objects.aggregate(latest=Max("id"))["latest"] or 0
    with _lock:
        _version[0], _version[1] = now, latest
    return int(latest)


def _build(kind: str, at: datetime | None) -> GridIndex:
    filters = (
        {"layer": Layer.ADMIN, "level__in": _BASE_LEVELS}
        if kind == "base"
        else {"layer__in": [layer for layer in Layer.values if layer != Layer.ADMIN]}
    )
    rows: Iterable[tuple[int, str, Any]]
    if at is None:
        rows = GridNode.objects.filter(valid_to__isnull=True, **filters).values_list("pk", "code", "geometry")
    else:
        rows = (
            GridShape.objects.filter(valid_at_q(at))
            .filter(valid_at_q(at, "node__"))
            .filter(**{f"node__{k}": v for k, v in filters.items()})
            .values_list("node_id", "node__code", "geometry")
        )
    ids: list[int] = []
    codes: list[str] = []
    geoms: list[Polygon | MultiPolygon] = []
    for pk, code, geometry in rows:
        ids.append(pk)
        codes.append(code)
        geoms.append(grid_geometry(geometry))
    return GridIndex(ids, codes, geoms)


def grid_index(kind: str = "base", at: datetime | None = None) -> GridIndex:
    """The index of current (or past) base grids or overlay grids, cached per map version."""
    key = (kind, _map_version(), at.isoformat() if at else "")
    with _lock:
        index = _cache.get(key)
        if index is not None:
            _cache.move_to_end(key)
            return index
    index = _build(kind, at)
    with _lock:
        _cache[key] = index
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def _cities_by_code() -> dict[str, int]:
    """The current top-level administrative grids (the cities this deployment serves) by code,
    cached per grid-map version."""
    version = _map_version()
    with _lock:
        cached = _cities.get(version)
    if cached is None:
        cached = dict(
            GridNode.objects.filter(layer=Layer.ADMIN, parent__isnull=True, valid_to__isnull=True)
            .order_by("code")
            .values_list("code", "pk")
        )
        with _lock:
            _cities.clear()
            _cities[version] = cached
    return cached


def city_ids() -> tuple[int, ...]:
    """The ids of the cities this deployment serves, in code order."""
    return tuple(_cities_by_code().values())


def home_city_id() -> int:
    """The city of requests that name none (a resident's tracking code, a report outside every grid):
    the only city, or the one `ZHIWANG_HOME_CITY` names by its code; 0 before any grid is imported."""
    code = getattr(settings, "ZHIWANG_HOME_CITY", "")
    if code:
        found = _cities_by_code().get(code)
        if found is None:
            raise ImproperlyConfigured(f"ZHIWANG_HOME_CITY names no current city: {code!r}.")
        return found
    cities = city_ids()
    if len(cities) > 1:
        raise ImproperlyConfigured("This deployment serves several cities: set ZHIWANG_HOME_CITY.")
    return cities[0] if cities else 0


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _cities.clear()
        _version[0], _version[1] = float("-inf"), 0


def locate(
    lon: float, lat: float, system: str = CoordSystem.WGS84, *, at: datetime | None = None
) -> Location:
    """Convert a phone's coordinate to WGS-84 and find its base grid and overlay grids."""
    try:
        wlon, wlat = to_wgs84(lon, lat, system)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="bad_coordinate") from exc
    grid_id = grid_index("base", at).lookup(wlon, wlat)
    overlay_index = grid_index("overlay", at)
    overlays = tuple(overlay_index.lookup_all(wlon, wlat))
    return Location(
        lon=wlon,
        lat=wlat,
        source_system=str(CoordSystem(system)),
        source_lon=lon,
        source_lat=lat,
        grid_id=grid_id,
        overlay_ids=overlays,
        overlay_codes=tuple(sorted(overlay_index.code_of(i) for i in overlays)),
    )


def locate_many(
    lons: np.ndarray, lats: np.ndarray, system: str = CoordSystem.WGS84, *, at: datetime | None = None
) -> np.ndarray:
    """Vectorised base-grid lookup for imports: grid ids, -1 where a point is in no grid."""
    try:
        wlons, wlats = to_wgs84_arrays(lons, lats, system)
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="bad_coordinate") from exc
    return grid_index("base", at).lookup_many(wlons, wlats)
