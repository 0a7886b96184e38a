"""The building blocks of every change to the grid map: a node created, reshaped or retired with
its shape history, and the change recorded with its audit row."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from shapely.geometry.base import BaseGeometry

from zhiwang.audit.services import audit_record
from zhiwang.common.errors import ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate
from zhiwang.grids.geojson import (
    geometry_to_geojson,
)
from zhiwang.grids.models import (
    GridChange,
    GridNode,
    GridShape,
)
from zhiwang.grids.signals import map_changed
from zhiwang.grids.validation import Problem, geodesic_area_m2

Actor = AbstractBaseUser | AnonymousUser | None
DIGITS = re.compile(r"^\d+$")
OVERLAY_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def problems_error(problems: Sequence[Problem], summary: str) -> ValidationFailed:
    return ValidationFailed(
        f"{summary} {len(problems)} problem(s): " + " ".join(p.message for p in problems[:5]),
        code="invalid_geometry",
        details=[
            {"kind": p.kind, "features": list(p.features), "message": p.message, "detail": p.detail}
            for p in problems
        ],
    )


# --- shared helpers ---------------------------------------------------------------------------


def geometry_fields(geom: BaseGeometry) -> dict[str, Any]:
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    label = geom.point_on_surface()
    return {
        "geometry": geometry_to_geojson(geom),
        "area_m2": round(geodesic_area_m2(geom), 1),
        "min_lon": min_lon,
        "min_lat": min_lat,
        "max_lon": max_lon,
        "max_lat": max_lat,
        "label_lon": label.x,
        "label_lat": label.y,
    }


def shape_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: fields[k] for k in ("geometry", "area_m2", "min_lon", "min_lat", "max_lon", "max_lat")}


def create_node(
    *,
    layer: str,
    level: str,
    code: str,
    name: str,
    parent: GridNode | None,
    geom: BaseGeometry,
    at: datetime,
    properties: dict[str, Any] | None = None,
) -> GridNode:
    fields = geometry_fields(geom)
    node = GridNode(
        layer=layer,
        level=level,
        code=code,
        name=name,
        parent=parent,
        valid_from=at,
        depth=(parent.depth + 1) if parent else 0,
        properties=properties or {},
        **fields,
    )
    node.full_clean(exclude=["path"])
    node.save()
    node.path = f"{parent.path if parent else '/'}{node.pk}/"
    node.save(update_fields=["path"])
    GridShape.objects.create(node=node, valid_from=at, **shape_fields(fields))
    return node


def reshape_node(node: GridNode, geom: BaseGeometry, at: datetime) -> None:
    fields = geometry_fields(geom)
    GridShape.objects.filter(node=node, valid_to__isnull=True).update(valid_to=at)
    GridShape.objects.create(node=node, valid_from=at, **shape_fields(fields))
    for key, value in fields.items():
        setattr(node, key, value)
    node.save(update_fields=[*fields.keys(), "updated_at"])


def retire_node(node: GridNode, at: datetime) -> None:
    GridShape.objects.filter(node=node, valid_to__isnull=True).update(valid_to=at)
    node.valid_to = at
    node.save(update_fields=["valid_to", "updated_at"])


def lock_current(ids: Iterable[int]) -> list[GridNode]:
    return list(GridNode.objects.select_for_update().filter(pk__in=list(ids), valid_to__isnull=True))


def record_change(
    *,
    kind: str,
    at: datetime,
    actor: Actor,
    origin: Origin,
    sources: Sequence[GridNode],
    results: Sequence[GridNode],
    reason: str,
    scope_path: str,
    details: dict[str, Any] | None = None,
) -> GridChange:
    label = actor.get_username() if actor is not None and actor.is_authenticated else ""
    change = GridChange.objects.create(
        kind=kind, effective_at=at, actor_label=label, reason=reason, details=details or {}
    )
    change.sources.set(sources)
    change.results.set(results)
    locate.clear_cache()  # this connection sees the change at once
    transaction.on_commit(locate.clear_cache)  # and so does every other thread, after commit
    audit_record(
        actor=actor,
        action=f"grid.{kind}",
        origin=origin,
        obj=change,
        scope_path=scope_path,
        details={
            "sources": [n.code for n in sources],
            "results": [n.code for n in results],
            "reason": reason,
            **(details or {}),
        },
    )
    map_changed.send(
        sender=GridChange, change=change, sources=sources, results=results, actor=actor, origin=origin
    )
    return change


def effective(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValidationFailed("The effective time needs a time zone.", code="naive_datetime")
    return at
