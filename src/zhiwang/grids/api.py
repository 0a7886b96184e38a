"""REST endpoints of the grid registry. Thin: parse, call a service or selector, shape the answer."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Body, Router
from ninja.pagination import paginate

from zhiwang.accounts.permissions import require_staff_role
from zhiwang.common.origin import origin_from_request
from zhiwang.common.pagination import Pages
from zhiwang.grids import importing, selectors, services
from zhiwang.grids import locate as locating
from zhiwang.grids.models import GridNode
from zhiwang.grids.schemas import (
    GridDetailOut,
    GridOut,
    HistoryOut,
    ImportOut,
    LocateIn,
    LocateOut,
    MergeIn,
    RedrawIn,
    SplitIn,
)

router = Router()


@router.get("", response=list[GridOut])
@paginate(Pages)
def list_grids(
    request: HttpRequest,
    level: str | None = None,
    layer: str | None = None,
    parent: int | None = None,
    within: int | None = None,
    q: str | None = None,
    at: datetime | None = None,
) -> Any:
    return selectors.grid_list(
        actor=request.user, level=level, layer=layer, parent_id=parent, within_id=within, search=q, at=at
    )


@router.get("/export", response=dict[str, Any], summary="Export grids as GeoJSON")
def export_grids(
    request: HttpRequest, root: int | None = None, at: datetime | None = None, overlays: bool = True
) -> dict[str, Any]:
    return selectors.grid_export(actor=request.user, root_id=root, at=at, include_overlays=overlays)


@router.post("/import", response=ImportOut, summary="Import grids from GeoJSON, all or nothing")
def import_grids(
    request: HttpRequest,
    data: Body[dict[str, Any]],
    effective_at: datetime | None = None,
    reason: str = "",
) -> importing.ImportResult:
    return importing.grid_import_geojson(
        actor=request.user,
        data=data,
        origin=origin_from_request(request),
        effective_at=effective_at,
        reason=reason,
    )


@router.post("/locate", response=LocateOut, summary="Which grids a point lies in")
def locate_point(request: HttpRequest, payload: LocateIn) -> dict[str, Any]:
    require_staff_role(request.user)
    found = locating.locate(payload.lon, payload.lat, payload.system, at=payload.at)
    ids = [i for i in (found.grid_id, *found.overlay_ids) if i is not None]
    nodes = {n.pk: n for n in GridNode.objects.filter(pk__in=ids)}
    grid = nodes.get(found.grid_id) if found.grid_id else None
    ancestors = {n.level: n for n in selectors.grid_ancestors(grid)} if grid else {}
    return {
        "lon": found.lon,
        "lat": found.lat,
        "source_system": found.source_system,
        "source_lon": found.source_lon,
        "source_lat": found.source_lat,
        "grid": grid,
        "community": ancestors.get("community"),
        "town": ancestors.get("town"),
        "overlays": [nodes[i] for i in found.overlay_ids if i in nodes],
    }


@router.post("/merge", response=GridOut)
def merge_grids(request: HttpRequest, payload: MergeIn) -> GridNode:
    return services.grid_merge(
        actor=request.user,
        grid_ids=payload.grid_ids,
        code=payload.code,
        name=payload.name,
        origin=origin_from_request(request),
        effective_at=payload.effective_at,
        reason=payload.reason,
    )


@router.post("/redraw", response=list[GridOut])
def redraw_grids(request: HttpRequest, payload: RedrawIn) -> list[GridNode]:
    return services.grid_redraw(
        actor=request.user,
        geometries={item.grid_id: item.geometry for item in payload.grids},
        origin=origin_from_request(request),
        effective_at=payload.effective_at,
        reason=payload.reason,
    )


@router.get("/{int:grid_id}", response=GridDetailOut)
def get_grid(request: HttpRequest, grid_id: int) -> dict[str, Any]:
    node = selectors.grid_get(actor=request.user, grid_id=grid_id)
    node.ancestors = selectors.grid_ancestors(node)  # type: ignore[attr-defined]  # read by the schema
    return node  # type: ignore[return-value]  # the schema reads attributes


@router.get("/{int:grid_id}/children", response=list[GridOut])
def grid_children(request: HttpRequest, grid_id: int, at: datetime | None = None) -> Any:
    selectors.grid_get(actor=request.user, grid_id=grid_id)
    return selectors.grid_list(actor=request.user, parent_id=grid_id, at=at)


@router.get("/{int:grid_id}/history", response=HistoryOut)
def grid_history(request: HttpRequest, grid_id: int) -> dict[str, Any]:
    history = selectors.grid_history(actor=request.user, grid_id=grid_id)
    return {"grid": history["node"], "shapes": history["shapes"], "changes": history["changes"]}


@router.post("/{int:grid_id}/split", response=list[GridOut])
def split_grid(request: HttpRequest, grid_id: int, payload: SplitIn) -> list[GridNode]:
    return services.grid_split(
        actor=request.user,
        grid_id=grid_id,
        parts=[services.NewGrid(code=p.code, name=p.name, geometry=p.geometry) for p in payload.parts],
        origin=origin_from_request(request),
        effective_at=payload.effective_at,
        reason=payload.reason,
    )
