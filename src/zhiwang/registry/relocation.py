"""Keeping base data in the grids it lies in when the grid map changes.

Every registry row that belongs to a place stores its base grid and that grid's path, so that a
scoped read is a prefix match. When grids are split, merged, redrawn or imported anew
(`grids.signals.map_changed`), the rows with a point that lay in the grids changed (or in no grid)
are located again on the new map, in the same transaction: addresses, units and facilities by their
own points, and what hangs off an address follows it (its buildings, their rooms, the tenancies,
residents and declarations of those rooms). A row whose point now lies in no base grid keeps the
grid it had (nothing drops out of every worker's sight) and is counted. A unit whose enterprise grid
was retired gets the enterprise grid now lying over its point, or none. One audit row per change
tells what moved.

Addresses keep their code, town and community: the code is the address's stable name, and moving
a door plate to another community is a decision for the register, not a side effect of a new map.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Q, QuerySet
from django.utils import timezone

from zhiwang.audit.services import audit_record
from zhiwang.common.origin import Origin
from zhiwang.grids import locate
from zhiwang.grids.models import GridChange, GridNode, Layer
from zhiwang.registry.models import (
    Address,
    Building,
    Declaration,
    Facility,
    Person,
    Room,
    Tenancy,
    Unit,
)
from zhiwang.registry.permissions import Actor

UPDATE_ROWS = 5_000  # ids per UPDATE
READ_ROWS = 50_000  # rows located per block
TABLES: dict[type[Address] | type[Unit] | type[Facility], str] = {
    Address: "addresses",
    Unit: "units",
    Facility: "facilities",
}


@dataclass
class Relocation:
    moved: dict[str, int] = field(default_factory=dict)  # rows given another grid, by table
    unplaced: int = 0  # rows whose point now lies in no base grid (left where they were)
    enterprise_relinked: int = 0  # units whose retired enterprise grid was replaced (or cleared)

    def as_details(self) -> dict[str, Any]:
        return {
            "moved": self.moved,
            "unplaced": self.unplaced,
            "enterprise_relinked": self.enterprise_relinked,
        }


def relocate(*, grid_ids: Collection[int]) -> Relocation:
    """Locates again, on the current map, the rows that lay in these grids or in none."""
    result = Relocation()
    ids = list(grid_ids)
    paths: dict[int, str] = {}
    addresses = _relocate_points(Address, ids, result, paths)
    for model in (Unit, Facility):
        _relocate_points(model, ids, result, paths)
    for grid_id, address_ids in addresses.items():
        _follow(address_ids, grid_id, paths[grid_id], result)
    result.enterprise_relinked = _relink_enterprise_grids(ids)
    result.moved = {name: count for name, count in result.moved.items() if count}
    return result


def _relocate_points(
    model: type[Address] | type[Unit] | type[Facility],
    grid_ids: list[int],
    result: Relocation,
    paths: dict[int, str],
) -> dict[int, list[int]]:
    """Moves the model's rows whose point lies in another grid now; their ids by new grid. The rows
    are read in blocks of READ_ROWS by id, so a whole city's re-import holds one block at a time."""
    rows = (
        model.objects.filter(
            Q(grid_id__in=grid_ids) | Q(grid__isnull=True), lon__isnull=False, lat__isnull=False
        )
        .order_by("pk")
        .values_list("pk", "lon", "lat", "grid_id")
    )
    moved: dict[int, list[int]] = defaultdict(list)
    last = 0
    while block := list(rows.filter(pk__gt=last)[:READ_ROWS]):
        last = block[-1][0]
        pks, lons, lats, olds = zip(*block, strict=True)
        found = locate.locate_many(np.array(lons, dtype=float), np.array(lats, dtype=float))
        for pk, old, new in zip(pks, olds, found.tolist(), strict=True):
            if new < 0:
                result.unplaced += old is not None  # in a grid before, in none now
            elif new != old:
                moved[int(new)].append(pk)
    if not moved:
        result.moved[TABLES[model]] = 0
        return {}
    wanted = set(moved) - paths.keys()
    paths.update(GridNode.objects.filter(pk__in=wanted).values_list("pk", "path"))
    now = timezone.now()
    for grid_id, ids in moved.items():
        _update(model.objects.all(), ids, grid_id=grid_id, grid_path=paths[grid_id], updated_at=now)
    result.moved[TABLES[model]] = sum(len(ids) for ids in moved.values())
    return moved


def _follow(address_ids: list[int], grid_id: int, path: str, result: Relocation) -> None:
    """What hangs off these addresses follows them into the grid."""
    now = timezone.now()
    for start in range(0, len(address_ids), UPDATE_ROWS):
        block = address_ids[start : start + UPDATE_ROWS]
        in_rooms = Q(room__building__address_id__in=block)
        counts = {
            "buildings": Building.objects.filter(address_id__in=block).update(
                grid_id=grid_id, grid_path=path, updated_at=now
            ),
            "rooms": Room.objects.filter(building__address_id__in=block).update(
                grid_path=path, updated_at=now
            ),
            "tenancies": Tenancy.objects.filter(in_rooms).update(grid_path=path, updated_at=now),
            "persons": Person.objects.filter(in_rooms).update(
                grid_id=grid_id, grid_path=path, updated_at=now
            ),
            "declarations": Declaration.objects.filter(in_rooms).update(
                grid_id=grid_id, grid_path=path, updated_at=now
            ),
        }
        for name, count in counts.items():
            result.moved[name] = result.moved.get(name, 0) + count


def _relink_enterprise_grids(grid_ids: list[int]) -> int:
    """Units of a retired enterprise grid: the current enterprise grid over their point, or none."""
    retired = GridNode.objects.filter(pk__in=grid_ids, layer=Layer.ENTERPRISE, valid_to__isnull=False)
    units = list(Unit.objects.filter(enterprise_grid__in=retired))
    if not units:
        return 0
    overlays = {
        pk: (code, path)
        for pk, code, path in GridNode.objects.filter(
            layer=Layer.ENTERPRISE, valid_to__isnull=True
        ).values_list("pk", "code", "path")
    }
    for unit in units:
        over: Sequence[int] = (
            locate.locate(unit.lon, unit.lat).overlay_ids
            if unit.lon is not None and unit.lat is not None
            else ()
        )
        candidates = sorted((overlays[pk][0], pk) for pk in over if pk in overlays)
        unit.enterprise_grid_id = candidates[0][1] if candidates else None
        unit.enterprise_grid_path = overlays[candidates[0][1]][1] if candidates else ""
    Unit.objects.bulk_update(units, ["enterprise_grid", "enterprise_grid_path"], batch_size=UPDATE_ROWS)
    return len(units)


def _update(queryset: QuerySet[Any], ids: list[int], **values: Any) -> None:
    for start in range(0, len(ids), UPDATE_ROWS):
        queryset.filter(pk__in=ids[start : start + UPDATE_ROWS]).update(**values)


def on_map_changed(
    sender: type[GridChange],
    *,
    change: GridChange,
    sources: Sequence[GridNode],
    results: Sequence[GridNode],
    actor: Actor,
    origin: Origin,
    **kwargs: Any,
) -> None:
    """`grids.signals.map_changed`: relocate the rows of the grids changed, audit what moved."""
    result = relocate(grid_ids={node.pk for node in (*sources, *results)})
    if result.moved or result.unplaced or result.enterprise_relinked:
        audit_record(
            actor=actor,
            action="registry.relocate",
            origin=origin,
            obj=change,
            details={"change": change.kind, **result.as_details()},
        )
