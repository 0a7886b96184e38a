"""Split, merge and redraw: each checks the actor's right, validates the resulting map first, writes
in one transaction with its audit row, and writes nothing at all when anything is wrong. Imports
are in `grids.importing`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from django.db import transaction
from shapely.geometry.base import BaseGeometry

from zhiwang.accounts.permissions import check_admin_of
from zhiwang.common.errors import ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.changes import (
    DIGITS,
    OVERLAY_CODE,
    Actor,
    create_node,
    effective,
    lock_current,
    problems_error,
    record_change,
    reshape_node,
    retire_node,
)
from zhiwang.grids.geojson import (
    geometry_from_geojson,
)
from zhiwang.grids.models import (
    CODE_LENGTH,
    ChangeKind,
    GridNode,
    Layer,
)
from zhiwang.grids.validation import Problem, check_geometry, check_siblings


@dataclass(frozen=True)
class NewGrid:
    code: str
    name: str
    geometry: dict[str, Any]


def _parse_geometry(key: str, data: dict[str, Any]) -> tuple[BaseGeometry | None, list[Problem]]:
    try:
        geom = geometry_from_geojson(data)
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
        return None, [Problem("format", (key,), f"Grid {key} has an unreadable geometry: {exc}.", {})]
    return geom, check_geometry(key, geom)


def _check_new_code(
    parent: GridNode | None, level: str, layer: str, code: str, taken: set[str]
) -> list[Problem]:
    if layer == Layer.ADMIN:
        if not DIGITS.match(code) or len(code) != CODE_LENGTH.get(level, 0):
            return [
                Problem(
                    "code", (code,), f"Grid {code}: a {level} code has {CODE_LENGTH.get(level)} digits.", {}
                )
            ]
        if parent is not None and not code.startswith(parent.code):
            return [
                Problem("code", (code,), f"Grid {code} must start with its parent's code {parent.code}.", {})
            ]
    elif not OVERLAY_CODE.match(code):
        return [Problem("code", (code,), f"Overlay grid {code}: 1–32 letters, digits, '-' or '_'.", {})]
    if code in taken:
        return [Problem("duplicate", (code,), f"Code {code} is already in use.", {})]
    return []


def _taken_codes(layer: str, codes: Iterable[str], freed: Iterable[str]) -> set[str]:
    in_use = set(
        GridNode.objects.filter(layer=layer, code__in=list(codes), valid_to__isnull=True).values_list(
            "code", flat=True
        )
    )
    return in_use - set(freed)


def grid_split(
    *,
    actor: Actor,
    grid_id: int,
    parts: Sequence[NewGrid],
    origin: Origin,
    effective_at: datetime | None = None,
    reason: str = "",
) -> list[GridNode]:
    """Retire a grid and create the grids that tile it. Its history stays with the old grid."""
    at = effective(effective_at)
    with transaction.atomic():
        locked = lock_current([grid_id])
        if not locked:
            raise ValidationFailed("That grid does not exist or is no longer current.", code="not_current")
        grid = locked[0]
        check_admin_of(actor, grid.path)
        if len(parts) < 2:
            raise ValidationFailed("A split needs at least two parts.", code="too_few_parts")
        if GridNode.objects.filter(parent=grid, valid_to__isnull=True).exists():
            raise ValidationFailed(
                f"Grid {grid.code} has sub-grids; split or move them first.", code="has_children"
            )
        problems: list[Problem] = []
        geoms: list[tuple[str, BaseGeometry]] = []
        taken = _taken_codes(grid.layer, [p.code for p in parts], freed=[grid.code])
        seen: set[str] = set()
        for part in parts:
            problems += _check_new_code(grid.parent, grid.level, grid.layer, part.code, taken | seen)
            seen.add(part.code)
            geom, geom_problems = _parse_geometry(part.code, part.geometry)
            problems += geom_problems
            if geom is not None and not geom_problems:
                geoms.append((part.code, geom))
        if not problems:
            problems += check_siblings(geoms, (grid.code, geometry_from_geojson(grid.geometry)))
        if problems:
            raise problems_error(problems, f"The split of {grid.code} was refused:")
        retire_node(grid, at)
        created = [
            create_node(
                layer=grid.layer,
                level=grid.level,
                code=p.code,
                name=p.name,
                parent=grid.parent,
                geom=g,
                at=at,
            )
            for p, (_, g) in zip(parts, geoms, strict=True)
        ]
        record_change(
            kind=ChangeKind.SPLIT,
            at=at,
            actor=actor,
            origin=origin,
            sources=[grid],
            results=created,
            reason=reason,
            scope_path=grid.path,
        )
    return created


def grid_merge(
    *,
    actor: Actor,
    grid_ids: Sequence[int],
    code: str,
    name: str,
    origin: Origin,
    effective_at: datetime | None = None,
    reason: str = "",
) -> GridNode:
    """Retire sibling grids and create one grid covering their union."""
    at = effective(effective_at)
    with transaction.atomic():
        grids = lock_current(grid_ids)
        if len(set(grid_ids)) < 2 or len(grids) != len(set(grid_ids)):
            raise ValidationFailed("A merge needs two or more current grids.", code="too_few_parts")
        first = grids[0]
        for grid in grids:
            check_admin_of(actor, grid.path)
        if any(
            g.parent_id != first.parent_id or g.level != first.level or g.layer != first.layer for g in grids
        ):
            raise ValidationFailed("Only sibling grids of one level can be merged.", code="not_siblings")
        if GridNode.objects.filter(parent__in=grids, valid_to__isnull=True).exists():
            raise ValidationFailed("Merged grids must not have sub-grids.", code="has_children")
        taken = _taken_codes(first.layer, [code], freed=[g.code for g in grids])
        problems = _check_new_code(first.parent, first.level, first.layer, code, taken)
        if problems:
            raise problems_error(problems, "The merge was refused:")
        union = shapely.union_all([geometry_from_geojson(g.geometry) for g in grids])
        union = shapely.make_valid(shapely.set_precision(union, 1e-9)) if not union.is_valid else union
        for grid in grids:
            retire_node(grid, at)
        merged = create_node(
            layer=first.layer, level=first.level, code=code, name=name, parent=first.parent, geom=union, at=at
        )
        record_change(
            kind=ChangeKind.MERGE,
            at=at,
            actor=actor,
            origin=origin,
            sources=grids,
            results=[merged],
            reason=reason,
            scope_path=merged.path,
        )
    return merged


def grid_redraw(
    *,
    actor: Actor,
    geometries: dict[int, dict[str, Any]],
    origin: Origin,
    effective_at: datetime | None = None,
    reason: str = "",
) -> list[GridNode]:
    """Give sibling grids new polygons (a border moved). Their old polygons stay as history."""
    at = effective(effective_at)
    with transaction.atomic():
        grids = lock_current(geometries.keys())
        if not grids or len(grids) != len(geometries):
            raise ValidationFailed("Every redrawn grid must exist and be current.", code="not_current")
        for grid in grids:
            check_admin_of(actor, grid.path)
        parent_ids = {g.parent_id for g in grids}
        if len(parent_ids) != 1 or len({g.layer for g in grids}) != 1:
            raise ValidationFailed("A redraw changes sibling grids of one parent.", code="not_siblings")
        problems: list[Problem] = []
        new_geoms: dict[int, BaseGeometry] = {}
        for grid in grids:
            geom, geom_problems = _parse_geometry(grid.code, geometries[grid.pk])
            problems += geom_problems
            if geom is not None and not geom_problems:
                new_geoms[grid.pk] = geom
        first = grids[0]
        if not problems and first.layer == Layer.ADMIN:
            siblings = GridNode.objects.filter(
                parent_id=first.parent_id, layer=Layer.ADMIN, valid_to__isnull=True
            )
            items = [(s.code, new_geoms.get(s.pk) or geometry_from_geojson(s.geometry)) for s in siblings]
            parent = first.parent
            problems += check_siblings(
                items, (parent.code, geometry_from_geojson(parent.geometry)) if parent else None
            )
            for grid in grids:
                children = GridNode.objects.filter(parent=grid, valid_to__isnull=True)
                child_items = [(c.code, geometry_from_geojson(c.geometry)) for c in children]
                if child_items:
                    problems += check_siblings(child_items, (grid.code, new_geoms[grid.pk]))
        if problems:
            raise problems_error(problems, "The redraw was refused:")
        for grid in grids:
            reshape_node(grid, new_geoms[grid.pk], at)
        record_change(
            kind=ChangeKind.REDRAW,
            at=at,
            actor=actor,
            origin=origin,
            sources=grids,
            results=grids,
            reason=reason,
            scope_path=min((g.path for g in grids), key=len),
        )
    return grids
