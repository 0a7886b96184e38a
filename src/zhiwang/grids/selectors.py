"""Reads of the grid registry, always within the reader's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from shapely import simplify

from zhiwang.accounts.permissions import check_can_read_path, require_staff_role
from zhiwang.common.errors import NotFound
from zhiwang.grids.geojson import geometry_from_geojson, geometry_to_geojson
from zhiwang.grids.models import GridNode, GridShape

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
