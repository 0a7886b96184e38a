"""Console pages of the grid registry: the map of the tree and the staffing gaps."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from zhiwang.accounts.selectors import grids_without_worker
from zhiwang.common.errors import ApplicationError
from zhiwang.grids import selectors

# Simplification tolerance (degrees) for the polygons drawn for each level's children.
DISPLAY_TOLERANCE = {"city": 0.0008, "town": 0.0003, "community": 0.00005}


def _refusal(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "grids/refused.html", {"message": exc.message}, status=exc.status)


@login_required
def map_view(request: HttpRequest) -> HttpResponse:
    try:
        roots = selectors.grid_roots(actor=request.user)
    except ApplicationError as exc:
        return _refusal(request, exc)
    context = {
        "roots": roots,
        "roots_data": [{"id": n.pk, "name": n.name, "code": n.code} for n in roots],
        "tile_url": settings.ZHIWANG_TILE_URL,
        "tile_attribution": settings.ZHIWANG_TILE_ATTRIBUTION,
    }
    return render(request, "grids/map.html", context)


@login_required
def children_geojson(request: HttpRequest, grid_id: int) -> HttpResponse:
    try:
        node = selectors.grid_get(actor=request.user, grid_id=grid_id)
        data = selectors.grid_children_geojson(
            actor=request.user, grid_id=grid_id, tolerance=DISPLAY_TOLERANCE.get(node.level, 0.0)
        )
    except ApplicationError as exc:
        return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=exc.status)
    ancestors = selectors.grid_ancestors(node)
    data["node"] = {
        "id": node.pk,
        "code": node.code,
        "name": node.name,
        "level": node.level,
        "kind": node.kind_label,
        "geometry": node.geometry,
    }
    data["breadcrumbs"] = [{"id": n.pk, "name": n.name} for n in [*ancestors, node]]
    return JsonResponse(data)


@login_required
def unstaffed_view(request: HttpRequest) -> HttpResponse:
    try:
        grids = grids_without_worker(actor=request.user)
    except ApplicationError as exc:
        return _refusal(request, exc)
    page = Paginator(grids, 50).get_page(request.GET.get("page"))
    return render(request, "grids/unstaffed.html", {"page": page, "total": page.paginator.count})
