"""Every write to the grid registry: import, split, merge, redraw. Each checks the actor's right,
validates the resulting map first, writes in one transaction with its audit row, and writes
nothing at all when anything is wrong."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from shapely.geometry.base import BaseGeometry

from zhiwang.accounts.permissions import check_admin_of, require_staff_role
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate
from zhiwang.grids.geojson import (
    FeatureIn,
    geometry_from_geojson,
    geometry_to_geojson,
    parse_feature_collection,
)
from zhiwang.grids.models import (
    ADMIN_LEVELS,
    CODE_LENGTH,
    ChangeKind,
    GridChange,
    GridNode,
    GridShape,
    Layer,
    Level,
)
from zhiwang.grids.validation import Problem, check_geometry, check_siblings, geodesic_area_m2

Actor = AbstractBaseUser | AnonymousUser | None
DIGITS = re.compile(r"^\d+$")
OVERLAY_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    change_id: int | None


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


def _geometry_fields(geom: BaseGeometry) -> dict[str, Any]:
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


def _shape_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: fields[k] for k in ("geometry", "area_m2", "min_lon", "min_lat", "max_lon", "max_lat")}


def _create_node(
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
    fields = _geometry_fields(geom)
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
    GridShape.objects.create(node=node, valid_from=at, **_shape_fields(fields))
    return node


def _reshape_node(node: GridNode, geom: BaseGeometry, at: datetime) -> None:
    fields = _geometry_fields(geom)
    GridShape.objects.filter(node=node, valid_to__isnull=True).update(valid_to=at)
    GridShape.objects.create(node=node, valid_from=at, **_shape_fields(fields))
    for key, value in fields.items():
        setattr(node, key, value)
    node.save(update_fields=[*fields.keys(), "updated_at"])


def _retire_node(node: GridNode, at: datetime) -> None:
    GridShape.objects.filter(node=node, valid_to__isnull=True).update(valid_to=at)
    node.valid_to = at
    node.save(update_fields=["valid_to", "updated_at"])


def _lock_current(ids: Iterable[int]) -> list[GridNode]:
    return list(GridNode.objects.select_for_update().filter(pk__in=list(ids), valid_to__isnull=True))


def _record_change(
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
    return change


def _effective(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    if timezone.is_naive(at):
        raise ValidationFailed("The effective time needs a time zone.", code="naive_datetime")
    return at


# --- import -----------------------------------------------------------------------------------


def _check_codes(feature: FeatureIn) -> tuple[str | None, list[Problem]]:
    """Work out the feature's level and check its code against the national scheme."""
    key = feature.key
    if feature.layer not in Layer.values:
        return None, [Problem("layer", (key,), f"Feature {key} has an unknown layer {feature.layer!r}.", {})]
    if feature.layer != Layer.ADMIN:
        if not OVERLAY_CODE.match(feature.code):
            return None, [
                Problem(
                    "code", (key,), f"Overlay grid {key}: a code is 1–32 letters, digits, '-' or '_'.", {}
                )
            ]
        if not feature.parent_code:
            return None, [
                Problem("parent", (key,), f"Overlay grid {key} needs a parent_code (its owning area).", {})
            ]
        return Level.OVERLAY, []
    if not DIGITS.match(feature.code):
        return None, [Problem("code", (key,), f"Grid {key}: an administrative code has digits only.", {})]
    by_length = {length: level for level, length in CODE_LENGTH.items()}
    level = by_length.get(len(feature.code))
    if level is None:
        return None, [
            Problem(
                "code",
                (key,),
                f"Grid {key}: a code has 6, 9, 12, 15 or 18 digits, not {len(feature.code)}.",
                {},
            )
        ]
    if feature.level and feature.level != level:
        return None, [
            Problem(
                "code",
                (key,),
                f"Grid {key}: a {len(feature.code)}-digit code is a {level}, not a {feature.level}.",
                {},
            )
        ]
    if level == Level.TOWN and not (1 <= int(feature.code[6:9]) <= 199):
        return None, [
            Problem("code", (key,), f"Town {key}: township codes run 001–099 (streets), 100–199 (towns).", {})
        ]
    if level in (Level.GRID, Level.SUBGRID) and int(feature.code[-3:]) == 0:
        return None, [Problem("code", (key,), f"Grid {key}: a grid sequence runs 001–999.", {})]
    expected_parent = feature.code[:-3] if level != Level.CITY else None
    if feature.parent_code and feature.parent_code != expected_parent:
        return None, [
            Problem(
                "parent",
                (key,),
                f"Grid {key}: its parent is {expected_parent} by the code scheme, not {feature.parent_code}.",
                {},
            )
        ]
    return level, []


def grid_import_geojson(
    *,
    actor: Actor,
    data: Any,
    origin: Origin,
    effective_at: datetime | None = None,
    reason: str = "",
) -> ImportResult:
    """Create or update grids from a GeoJSON FeatureCollection, all or nothing.

    Existing current grids with the same layer and code are updated: a new polygon is a redraw
    (the old one is kept as history), a new name a rename. New codes create grids under the
    parent given by the code scheme (administrative) or `parent_code` (overlays).
    """
    at = _effective(effective_at)
    require_staff_role(actor)
    features, problems = parse_feature_collection(data)
    levels: dict[int, str] = {}
    for feature in features:
        level, code_problems = _check_codes(feature)
        problems += code_problems
        problems += check_geometry(feature.key, feature.geometry)
        if level is not None:
            levels[feature.index] = level
    if problems:
        raise problems_error(problems, "The file was refused:")

    by_key = {(f.layer, f.code): f for f in features}
    wanted = {f.code for f in features} | {f.parent_code or f.code[:-3] for f in features}
    existing = {
        (n.layer, n.code): n for n in GridNode.objects.filter(valid_to__isnull=True, code__in=sorted(wanted))
    }

    def parent_key(feature: FeatureIn) -> tuple[str, str] | None:
        if feature.layer != Layer.ADMIN:
            return (Layer.ADMIN, feature.parent_code or "")
        return None if levels[feature.index] == Level.CITY else (Layer.ADMIN, feature.code[:-3])

    # Every parent must exist, in the file or the database; the actor must administer it.
    checked_paths: set[str] = set()
    for feature in features:
        pkey = parent_key(feature)
        if pkey is None:
            current = existing.get((feature.layer, feature.code))
            if current is not None:
                check_admin_of(actor, current.path)
            elif not getattr(actor, "is_superuser", False):
                problems.append(
                    Problem(
                        "permission", (feature.key,), f"Only a superuser may add a city ({feature.key}).", {}
                    )
                )
            continue
        if pkey in by_key:
            continue
        parent = existing.get(pkey)
        if parent is None:
            problems.append(
                Problem(
                    "parent", (feature.key,), f"Grid {feature.key}: its parent {pkey[1]} does not exist.", {}
                )
            )
        elif parent.path not in checked_paths:
            check_admin_of(actor, parent.path)
            checked_paths.add(parent.path)
    if problems:
        raise problems_error(problems, "The file was refused:")

    # The map after the import must still be a clean partition under every touched parent.
    groups: dict[tuple[str, str], list[FeatureIn]] = defaultdict(list)
    for feature in features:
        pkey = parent_key(feature)
        if pkey is not None and feature.layer == Layer.ADMIN:
            groups[pkey].append(feature)
    for feature in features:
        node = existing.get((feature.layer, feature.code))
        if node is not None and feature.layer == Layer.ADMIN:
            groups.setdefault((Layer.ADMIN, feature.code), [])
    for pkey, members in groups.items():
        parent_feature = by_key.get(pkey)
        parent_node = existing.get(pkey)
        if parent_feature is not None:
            parent_geom: BaseGeometry | None = parent_feature.geometry
        elif parent_node is not None:
            parent_geom = geometry_from_geojson(parent_node.geometry)
        else:
            continue
        items: list[tuple[str, BaseGeometry]] = [(f.code, f.geometry) for f in members]
        if parent_node is not None:
            in_file = {f.code for f in members}
            for child in GridNode.objects.filter(
                parent=parent_node, layer=Layer.ADMIN, valid_to__isnull=True
            ):
                if child.code not in in_file:
                    items.append((child.code, geometry_from_geojson(child.geometry)))
        if not items:
            continue
        # Siblings must tile their parent: no overlaps, no gaps, nothing outside it.
        problems += check_siblings(items, (pkey[1], parent_geom) if parent_geom is not None else None)
    if problems:
        raise problems_error(problems, "The file was refused:")

    created: list[GridNode] = []
    updated: list[GridNode] = []
    unchanged: list[str] = []
    with transaction.atomic():
        nodes: dict[tuple[str, str], GridNode] = {}
        ordered = sorted(
            features,
            key=lambda f: (
                f.layer != Layer.ADMIN,
                ADMIN_LEVELS.index(levels[f.index]) if levels[f.index] in ADMIN_LEVELS else 9,
            ),
        )
        for feature in ordered:
            key = (feature.layer, feature.code)
            node = existing.get(key)
            if node is not None:
                node = GridNode.objects.select_for_update().get(pk=node.pk)
                changed = False
                if not shapely.equals_exact(
                    geometry_from_geojson(node.geometry), feature.geometry, tolerance=1e-9
                ):
                    _reshape_node(node, feature.geometry, feature.valid_from or at)
                    changed = True
                if node.name != feature.name:
                    node.name = feature.name
                    node.save(update_fields=["name", "updated_at"])
                    changed = True
                if changed:
                    updated.append(node)
                else:
                    unchanged.append(node.code)
                nodes[key] = node
                continue
            pkey = parent_key(feature)
            parent = None if pkey is None else (nodes.get(pkey) or existing.get(pkey))
            nodes[key] = _create_node(
                layer=feature.layer,
                level=levels[feature.index],
                code=feature.code,
                name=feature.name,
                parent=parent,
                geom=feature.geometry,
                at=feature.valid_from or at,
                properties=feature.properties,
            )
            created.append(nodes[key])
        change = None
        if created or updated:
            top = min((n.path for n in [*created, *updated]), key=len)
            change = _record_change(
                kind=ChangeKind.IMPORT,
                at=at,
                actor=actor,
                origin=origin,
                sources=updated,
                results=[*created, *updated],
                reason=reason,
                scope_path=top,
                details={"created": len(created), "updated": len(updated)},
            )
    return ImportResult(
        created=[n.code for n in created],
        updated=[n.code for n in updated],
        unchanged=unchanged,
        change_id=change.pk if change else None,
    )


# --- split, merge, redraw ---------------------------------------------------------------------


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
    at = _effective(effective_at)
    with transaction.atomic():
        locked = _lock_current([grid_id])
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
        _retire_node(grid, at)
        created = [
            _create_node(
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
        _record_change(
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
    at = _effective(effective_at)
    with transaction.atomic():
        grids = _lock_current(grid_ids)
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
            _retire_node(grid, at)
        merged = _create_node(
            layer=first.layer, level=first.level, code=code, name=name, parent=first.parent, geom=union, at=at
        )
        _record_change(
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
    at = _effective(effective_at)
    with transaction.atomic():
        grids = _lock_current(geometries.keys())
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
            _reshape_node(grid, new_geoms[grid.pk], at)
        _record_change(
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
