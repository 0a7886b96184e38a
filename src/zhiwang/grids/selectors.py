"""Reads of the grid registry, always within the reader's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import Max, Q, QuerySet, TextField
from django.db.models.functions import Cast
from shapely import simplify

from zhiwang.accounts.permissions import check_can_read_path, require_staff_role
from zhiwang.common.errors import NotFound, ValidationFailed
from zhiwang.grids.geojson import (
    display_geometries,
    display_tolerance,
    geometry_from_geojson,
    geometry_to_geojson,
)
from zhiwang.grids.models import ADMIN_LEVELS, GridChange, GridNode, GridShape, Layer, Level

Actor = AbstractBaseUser | AnonymousUser | None


def valid_at_q(at: datetime | None, prefix: str = "") -> Q:
    if at is None:
        return Q(**{f"{prefix}valid_to__isnull": True})
    return Q(**{f"{prefix}valid_from__lte": at}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gt": at})
    )


def grid_list(
    *,
    actor: Actor,
    at: datetime | None = None,
    level: str | None = None,
    layer: str | None = None,
    parent_id: int | None = None,
    within_id: int | None = None,
    search: str | None = None,
) -> QuerySet[GridNode]:
    """Grids the actor may read, current (or valid at `at`), filtered."""
    scope = require_staff_role(actor)
    qs = GridNode.objects.filter(scope.grid_q("path")).filter(valid_at_q(at))
    if level:
        qs = qs.filter(level=level)
    if layer:
        qs = qs.filter(layer=layer)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    if within_id is not None:
        root = grid_get(actor=actor, grid_id=within_id)
        qs = qs.filter(path__startswith=root.path)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__startswith=search))
    return qs.select_related("parent").order_by("layer", "code")


def grid_get(*, actor: Actor, grid_id: int) -> GridNode:
    """Load one grid (current or past) if the actor may read it; 404 otherwise."""
    node = GridNode.objects.select_related("parent").filter(pk=grid_id).first()
    if node is None:
        raise NotFound("No such grid.")
    check_can_read_path(actor, node.path)
    return node


def grid_ancestors(node: GridNode) -> list[GridNode]:
    ids = node.ancestor_ids()
    by_id = {n.pk: n for n in GridNode.objects.filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


def grid_history(*, actor: Actor, grid_id: int) -> dict[str, Any]:
    node = grid_get(actor=actor, grid_id=grid_id)
    shapes = list(GridShape.objects.filter(node=node).order_by("valid_from"))
    changes = list(
        node.changes_from.prefetch_related("sources", "results").all()
        | node.changes_to.prefetch_related("sources", "results").all()
    )
    return {
        "node": node,
        "shapes": shapes,
        "changes": sorted(set(changes), key=lambda c: (c.effective_at, c.pk)),
    }


def grid_export(
    *, actor: Actor, root_id: int | None = None, at: datetime | None = None, include_overlays: bool = True
) -> dict[str, Any]:
    """The subtree under `root_id` (or the actor's whole scope) as a GeoJSON FeatureCollection."""
    scope = require_staff_role(actor)
    if at is None:
        nodes = GridNode.objects.filter(scope.grid_q("path")).filter(valid_to__isnull=True)
    else:
        nodes = GridNode.objects.filter(scope.grid_q("path")).filter(valid_at_q(at))
    if root_id is not None:
        root = grid_get(actor=actor, grid_id=root_id)
        nodes = nodes.filter(path__startswith=root.path)
    if not include_overlays:
        nodes = nodes.filter(layer="admin")
    nodes = nodes.select_related("parent").order_by("depth", "layer", "code")
    geometry_at: dict[int, Any] = {}
    if at is not None:
        for shape in GridShape.objects.filter(node__in=nodes).filter(valid_at_q(at)):
            geometry_at[shape.node_id] = shape.geometry
    features = []
    for node in nodes:
        features.append(
            {
                "type": "Feature",
                "id": node.code if node.layer == "admin" else f"{node.layer}:{node.code}",
                "geometry": geometry_at.get(node.pk, node.geometry),
                "properties": {
                    **node.properties,
                    "code": node.code,
                    "name": node.name,
                    "level": node.level,
                    "layer": node.layer,
                    "parent_code": node.parent.code if node.parent else None,
                    "valid_from": node.valid_from.isoformat(),
                    "area_m2": node.area_m2,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def grid_roots(*, actor: Actor) -> list[GridNode]:
    """The top nodes of the actor's scope: where their map and tree start."""
    scope = require_staff_role(actor)
    nodes = GridNode.objects.filter(valid_to__isnull=True, layer="admin")
    if scope.is_superuser:
        return list(nodes.filter(depth=0).order_by("code"))
    return list(nodes.filter(path__in=scope.paths()).order_by("depth", "code"))


def grid_children_geojson(*, actor: Actor, grid_id: int, tolerance: float = 0.0) -> dict[str, Any]:
    """The current administrative children of a grid as GeoJSON, simplified for display."""
    parent = grid_get(actor=actor, grid_id=grid_id)
    children = grid_list(actor=actor, parent_id=parent.pk, layer="admin")
    features = []
    for node in children:
        geometry = node.geometry
        if tolerance > 0:
            geometry = geometry_to_geojson(
                simplify(geometry_from_geojson(geometry), tolerance, preserve_topology=True)
            )
        features.append(
            {
                "type": "Feature",
                "id": node.pk,
                "geometry": geometry,
                "properties": {
                    "id": node.pk,
                    "code": node.code,
                    "name": node.name,
                    "level": node.level,
                    "kind": node.kind_label,
                    "area_km2": round(node.area_m2 / 1e6, 3),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- the console map's layers ------------------------------------------------------------------

# Simplified layers live this long at most; any change to the grid map makes a new key at once.
MAP_LAYER_SECONDS = 3600
_LAYER_FIELDS = ("pk", "code", "name", "level", "layer", "depth", "path", "area_m2")
_BBOX_FIELDS = ("min_lon", "min_lat", "max_lon", "max_lat")


@dataclass(frozen=True)
class GridMapLayer:
    """The polygons the map draws for one node at one zoom: its outline and the grids below it."""

    level: str  # the level shown, or "" for the node's direct children
    tolerance: float
    outline: dict[str, Any]
    features: tuple[dict[str, Any], ...]  # GeoJSON features whose id is the grid's id
    paths: tuple[str, ...]  # the features' materialised paths, in the same order


def grid_map_version() -> int:
    """The grid map's version: the latest `GridChange` (every import, split, merge, redraw, retirement
    and rename records one), as `grids.locate` uses it for its point index."""
    latest: int | None = GridChange.objects.aggregate(latest=Max("id"))["latest"]
    return latest or 0


def grid_display_levels(node: GridNode) -> list[str]:
    """The administrative levels the map can show below `node`, down to the base grids."""
    if node.layer != Layer.ADMIN or node.level not in ADMIN_LEVELS:
        return []
    below = list(ADMIN_LEVELS[ADMIN_LEVELS.index(node.level) + 1 :])
    return [level for level in below if level != Level.SUBGRID] or below


def grid_map_node(*, actor: Actor, grid_id: int) -> GridNode:
    """A grid the actor may read, without its polygon (the map reads polygons through its cache)."""
    node = GridNode.objects.defer("geometry", "properties").filter(pk=grid_id).first()
    if node is None:
        raise NotFound("No such grid.")
    check_can_read_path(actor, node.path)
    return node


def grid_breadcrumbs(node: GridNode) -> list[dict[str, Any]]:
    """The node and every node above it, root first, as id and name."""
    ids = node.ancestor_ids()
    names = dict(GridNode.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [{"id": i, "name": names[i]} for i in ids if i in names] + [{"id": node.pk, "name": node.name}]


def grid_map_layer(*, actor: Actor, node: GridNode, level: str = "", zoom: int) -> GridMapLayer:
    """The outline of `node` (read with `grid_map_node`) and its children, or every grid of `level`
    below it, simplified for `zoom`. Cached per node, level, tolerance and grid-map version.

    Whoever may read a node may read everything below it (a scope is a set of subtrees), so the
    cached layer is the same for every reader.
    """
    check_can_read_path(actor, node.path)
    if level and level not in grid_display_levels(node):
        raise ValidationFailed(
            f"A map of {node.level} {node.code} cannot show {level} grids.", code="bad_level"
        )
    tolerance = display_tolerance(zoom)
    key = f"zhiwang:grid-map:{node.pk}:{level or 'children'}:{tolerance:.3e}:{grid_map_version()}"
    layer: GridMapLayer | None = cache.get(key)
    if layer is None:
        layer = _build_map_layer(node, level, tolerance)
        cache.set(key, layer, MAP_LAYER_SECONDS)
    return layer


def _build_map_layer(node: GridNode, level: str, tolerance: float) -> GridMapLayer:
    below = GridNode.objects.filter(valid_to__isnull=True, layer=Layer.ADMIN)
    if level:
        below = below.filter(level=level, path__startswith=node.path)
    else:
        below = below.filter(parent_id=node.pk)
    rows = list(
        below.annotate(shape=Cast("geometry", TextField()))
        .order_by("code")
        .values_list(*_LAYER_FIELDS, *_BBOX_FIELDS, "shape")
    )
    outline_text = GridNode.objects.filter(pk=node.pk).annotate(shape=Cast("geometry", TextField()))
    geometries = display_geometries(
        [*outline_text.values_list("shape", flat=True), *(row[-1] for row in rows)], tolerance
    )
    features = tuple(_map_feature(row, geometry) for row, geometry in zip(rows, geometries[1:], strict=True))
    return GridMapLayer(
        level=level,
        tolerance=tolerance,
        outline=geometries[0],
        features=features,
        paths=tuple(row[_LAYER_FIELDS.index("path")] for row in rows),
    )


def _map_feature(row: tuple[Any, ...], geometry: dict[str, Any]) -> dict[str, Any]:
    pk, code, name, level, layer, _depth, _path, area_m2, *bbox, _shape = row
    return {
        "type": "Feature",
        "id": pk,
        "geometry": geometry,
        "properties": {
            "id": pk,
            "code": code,
            "name": name,
            "level": level,
            "layer": layer,
            "area_km2": round(area_m2 / 1e6, 3),
            "bbox": [round(value, 5) for value in bbox],
        },
    }


def grid_map_features(
    layer: GridMapLayer, extra: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The layer's features for one response: each grid's kind in the reader's language, and the
    properties `extra` holds for its path."""
    extra = extra or {}
    probe = GridNode()  # one instance reused: building thousands of model instances is slow
    features = []
    for feature, path in zip(layer.features, layer.paths, strict=True):
        props = dict(feature["properties"])
        probe.code, probe.level, probe.layer = props["code"], props["level"], props.pop("layer")
        features.append({**feature, "properties": {**props, "kind": probe.kind_label, **extra.get(path, {})}})
    return features
