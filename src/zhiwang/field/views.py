"""The grid worker app: its shell page, its web app manifest and its service worker.

The shell carries no data of the worker: it is cached by the service worker and the same for every
worker; everything personal comes from the REST API (`/api/v1/me`, `/api/v1/cases`, …) at run time.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from zhiwang.cases.models import CasePhoto, Status, Urgency
from zhiwang.common.errors import ApplicationError
from zhiwang.field.labels import error_messages, labels
from zhiwang.field.permissions import require_grid_worker

# The product's name on the phone's home screen, the same in every language.
APP_NAME = "智网·网格员"
SHORT_NAME = "网格员"
THEME_COLOUR = "#c8102e"
BACKGROUND_COLOUR = "#f5f7fa"
ICONS = {192: "field/icon-192.png", 512: "field/icon-512.png"}
STYLES = ("vendor/leaflet/leaflet.css", "field/app.css")
SCRIPTS = (
    "vendor/leaflet/leaflet.js",
    "field/api.js",
    "field/queue.js",
    "field/ui.js",
    "field/photo.js",
    "field/report.js",
    "field/tasks.js",
    "field/outbox.js",
    "field/gridmap.js",
    "field/app.js",
)
SHELL_TEMPLATE = "field/shell.html"
PHOTO_MAX_SIDE = 1600
PHOTO_QUALITY = 0.82
TASK_LIMIT = 100
# Where the maps open before the worker's grids are drawn: Dongguan.
MAP_CENTER = (23.02, 113.75)
MAP_ZOOM = 11


def language_tag() -> str:
    """The active language as the browser names it (dates, the manifest's `lang`)."""
    language = get_language() or settings.LANGUAGE_CODE
    return "zh-CN" if language.startswith("zh") else language


def shell_config() -> dict[str, Any]:
    """URLs and wording for the app's scripts; the same for every worker, so the shell can be cached."""
    return {
        "locale": language_tag(),
        "urls": {
            "me": reverse("api:me"),
            "cases": reverse("api:report_case"),
            "categories": reverse("api:list_categories") + "?tree=true",
            "grids": reverse("api:api-root") + "grids/",
            "login": reverse(settings.LOGIN_URL) + "?next=" + reverse("field:shell"),
            "sw": reverse("field:service_worker"),
            "scope": reverse("field:shell"),
        },
        "map": {
            "tileUrl": settings.ZHIWANG_TILE_URL,
            "tileAttribution": settings.ZHIWANG_TILE_ATTRIBUTION,
            "center": MAP_CENTER,
            "zoom": MAP_ZOOM,
        },
        "photo": {"maxSide": PHOTO_MAX_SIDE, "quality": PHOTO_QUALITY},
        "taskLimit": TASK_LIMIT,
        "statuses": {value: str(label) for value, label in Status.choices},
        "stages": {value: str(label) for value, label in CasePhoto.Stage.choices},
        "labels": labels(),
        "errors": error_messages(),
    }


@login_required
@ensure_csrf_cookie
@require_GET
def shell(request: HttpRequest) -> HttpResponse:
    try:
        require_grid_worker(request.user)
    except ApplicationError as exc:
        return render(request, "field/refused.html", {"app_name": APP_NAME}, status=exc.status)
    context = {
        "app_name": APP_NAME,
        "theme_colour": THEME_COLOUR,
        "styles": STYLES,
        "scripts": SCRIPTS,
        "urgencies": Urgency.choices,
        "config": shell_config(),
    }
    response = render(request, SHELL_TEMPLATE, context)
    patch_cache_control(response, private=True, no_cache=True)
    return response


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    """The web app manifest. Public: browsers fetch it without the session cookie."""
    scope = reverse("field:shell")
    data = {
        "id": scope,
        "name": APP_NAME,
        "short_name": SHORT_NAME,
        "lang": language_tag(),
        "start_url": scope,
        "scope": scope,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": static(path), "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
            for size, path in ICONS.items()
            for purpose in ("any", "maskable")
        ],
    }
    response = JsonResponse(
        data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
    )
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker, from a view so that it lives at /field/sw.js and controls /field/."""
    scope = reverse("field:shell")
    precache = [scope, reverse("field:manifest"), *(static(p) for p in (*STYLES, *SCRIPTS, *ICONS.values()))]
    body = render_to_string(
        "field/sw.js",
        {
            "scope": scope,
            "version": json.dumps(cache_version()),
            "shell": json.dumps(scope),
            "precache": json.dumps(precache),
        },
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = scope
    patch_cache_control(response, no_cache=True, max_age=0)
    return response


def cache_version() -> str:
    """Changes whenever the shell template or a precached file changes, so phones fetch them again."""
    if settings.DEBUG:
        cached_version.cache_clear()
    return cached_version()


@lru_cache(maxsize=1)
def cached_version() -> str:
    digest = hashlib.sha256()
    sources = [str(Path(__file__).parent / "templates" / SHELL_TEMPLATE)]
    sources += [str(finders.find(p) or "") for p in (*STYLES, *SCRIPTS, *ICONS.values())]
    for source in sources:
        path = Path(source)
        digest.update(source.encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
