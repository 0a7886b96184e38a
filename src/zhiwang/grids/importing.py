"""GeoJSON import into the grid registry: every code and polygon checked, the map under every
touched parent validated, then everything written in one transaction, or nothing at all."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from django.db import transaction
from shapely.geometry.base import BaseGeometry

from zhiwang.accounts.permissions import check_admin_of, require_staff_role
from zhiwang.common.origin import Origin
from zhiwang.grids.changes import (
    DIGITS,
    OVERLAY_CODE,
    Actor,
    create_node,
    effective,
    problems_error,
    record_change,
    reshape_node,
)
from zhiwang.grids.geojson import (
    FeatureIn,
    geometry_from_geojson,
    parse_feature_collection,
)
from zhiwang.grids.models import (
    ADMIN_LEVELS,
    CODE_LENGTH,
    ChangeKind,
    GridNode,
    Layer,
    Level,
)
from zhiwang.grids.validation import Problem, check_geometry, check_siblings


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    change_id: int | None


def check_codes(feature: FeatureIn) -> tuple[str | None, list[Problem]]:
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
    at = effective(effective_at)
    require_staff_role(actor)
    features, problems = parse_feature_collection(data)
    levels: dict[int, str] = {}
    for feature in features:
        level, code_problems = check_codes(feature)
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
                    reshape_node(node, feature.geometry, feature.valid_from or at)
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
            nodes[key] = create_node(
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
            change = record_change(
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
