"""Console pages of the grid registry: the map of the tree and the staffing gaps."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page

from zhiwang.accounts.selectors import grids_without_worker
from zhiwang.cases.models import Status
from zhiwang.common.errors import ApplicationError, ValidationFailed
from zhiwang.dashboard.selectors import OpenCounts, open_case_counts, open_case_pins, open_case_points
from zhiwang.grids import selectors
from zhiwang.grids.geojson import MAX_DISPLAY_ZOOM, MIN_DISPLAY_ZOOM
from zhiwang.grids.models import GridNode, Level

# The zoom a level's map opens at when the browser does not say (a city fills a 1366×768 screen at 10).
DEFAULT_ZOOM = {"city": 10, "town": 12, "community": 14, "grid": 16, "subgrid": 17}
PIN_LIMIT = 300
HEAT_LIMIT = 5000


def _refusal(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return render(request, "grids/refused.html", {"message": exc.message}, status=exc.status)


def _bbox(node: GridNode) -> list[float]:
    return [round(v, 6) for v in (node.min_lon, node.min_lat, node.max_lon, node.max_lat)]


def map_config() -> dict[str, Any]:
    """What map.js needs besides the data: tiles (none is fine), endpoints and its words."""
    return {
        "tileUrl": settings.ZHIWANG_TILE_URL,
        "tileAttribution": settings.ZHIWANG_TILE_ATTRIBUTION,
        "childrenUrl": reverse("grids:children_geojson", args=[0]),
        "casesUrl": reverse("grids:cases_json", args=[0]),
        "pinLimit": PIN_LIMIT,
        "labels": {
            "children": _("sub-areas"),
            "area": _("km²"),
            "empty": _("No sub-areas below this grid."),
            "failed": _("Could not load the map data. Try again."),
            "nextLevel": _("The next level down"),
            "tiles": _("Base map"),
            "pins": _("Open cases"),
            "heat": _("Heat map of open cases"),
            "legend": _("Open cases"),
            "clear": _("No open case"),
            "openOnly": _("%(range)s open, none overdue"),
            "overdue": _("%(range)s overdue"),
            "overduePin": _("Overdue"),
            "open": _("open"),
            "overdueShort": _("overdue"),
            "summary": _("%(open)s open cases, %(overdue)s overdue"),
            "capped": _("Pins show the %(shown)s most recent of %(total)s open cases."),
            "more": _("%(count)s more on the map"),
            "reported": _("Reported at"),
        },
    }


@login_required
def map_view(request: HttpRequest) -> HttpResponse:
    try:
        roots = selectors.grid_roots(actor=request.user)
    except ApplicationError as exc:
        return _refusal(request, exc)
    context = {
        "roots": roots,
        "roots_data": [{"id": n.pk, "name": n.name, "code": n.code, "bbox": _bbox(n)} for n in roots],
        "map_config": map_config(),
    }
    return render(request, "grids/map.html", context)


def _json_error(exc: ApplicationError) -> JsonResponse:
    messages = {
        "bad_zoom": _("The zoom level must be a whole number."),
        "bad_level": _("This map cannot show that level."),
        "not_found": _("There is no such grid in your area."),
    }
    message = messages.get(exc.code, exc.message)
    return JsonResponse({"error": {"code": exc.code, "message": message}}, status=exc.status)


def _zoom(value: str | None, node: GridNode) -> int:
    if not value:
        return DEFAULT_ZOOM.get(node.level, 12)
    try:
        zoom = int(value)
    except ValueError:
        raise ValidationFailed("The zoom level must be a whole number.", code="bad_zoom") from None
    return min(max(zoom, MIN_DISPLAY_ZOOM), MAX_DISPLAY_ZOOM)


@gzip_page  # a city's base grids: 1.25 MB of GeoJSON, 145 KB compressed
@login_required
def children_geojson(request: HttpRequest, grid_id: int) -> HttpResponse:
    """The grids below a node (its children, or every grid of `?level=`), simplified for `?zoom=`,
    each with its open and overdue cases; the node's outline and place in the tree."""
    try:
        node = selectors.grid_map_node(actor=request.user, grid_id=grid_id)
        zoom = _zoom(request.GET.get("zoom"), node)
        layer = selectors.grid_map_layer(
            actor=request.user, node=node, level=request.GET.get("level", ""), zoom=zoom
        )
        counts = open_case_counts(
            actor=request.user, node_path=node.path, paths=layer.paths, now=timezone.now()
        )
    except ApplicationError as exc:
        return _json_error(exc)
    extra = {}
    for path in layer.paths:
        found = counts.by_path.get(path, OpenCounts())
        extra[path] = {"open": found.open, "overdue": found.overdue}
    return JsonResponse(
        {
            "type": "FeatureCollection",
            "features": selectors.grid_map_features(layer, extra),
            "node": {
                "id": node.pk,
                "code": node.code,
                "name": node.name,
                "level": node.level,
                "kind": node.kind_label,
                "geometry": layer.outline,
                "bbox": _bbox(node),
            },
            "breadcrumbs": selectors.grid_breadcrumbs(node),
            "level": layer.level,
            "levels": [
                {"value": level, "label": str(Level(level).label)}
                for level in selectors.grid_display_levels(node)
            ],
            "zoom": zoom,
            "cases": {"open": counts.total.open, "overdue": counts.total.overdue},
        },
        json_dumps_params={"ensure_ascii": False},
    )


@login_required
def cases_json(request: HttpRequest, grid_id: int) -> HttpResponse:
    """Pins for the most recent open cases under a node (capped) and points for the heat layer."""
    now = timezone.now()
    try:
        node = selectors.grid_map_node(actor=request.user, grid_id=grid_id)
        pins = open_case_pins(actor=request.user, node_path=node.path, limit=PIN_LIMIT + 1, now=now)
        points = open_case_points(actor=request.user, node_path=node.path, limit=HEAT_LIMIT)
    except ApplicationError as exc:
        return _json_error(exc)
    return JsonResponse(
        {
            "pins": [
                {
                    "id": pin.id,
                    "number": pin.number,
                    "lat": pin.lat,
                    "lon": pin.lon,
                    "status": str(Status(pin.status).label),
                    "category": pin.category,
                    "address": pin.address,
                    "reported": timezone.localtime(pin.reported_at).strftime("%Y-%m-%d %H:%M"),
                    "overdue": pin.overdue,
                }
                for pin in pins[:PIN_LIMIT]
            ],
            "capped": len(pins) > PIN_LIMIT,
            "limit": PIN_LIMIT,
            "heat": [[round(lat, 6), round(lon, 6)] for lat, lon in points],
            "heatCapped": len(points) >= HEAT_LIMIT,
        }
    )


@login_required
def unstaffed_view(request: HttpRequest) -> HttpResponse:
    try:
        grids = grids_without_worker(actor=request.user)
    except ApplicationError as exc:
        return _refusal(request, exc)
    page = Paginator(grids, 50).get_page(request.GET.get("page"))
    return render(request, "grids/unstaffed.html", {"page": page, "total": page.paginator.count})
