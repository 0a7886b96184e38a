"""What makes the app installable: the web app manifest, its icons, and the service worker with the
files it precaches."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from tests.field.world import Crew
from zhiwang.accounts.models import User
from zhiwang.field import views


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    assert content[12:16] == b"IHDR"
    width, height = struct.unpack(">II", content[16:24])
    return width, height


def precached(body: str) -> list[str]:
    match = re.search(r"^const PRECACHE = (.*);$", body, re.M)
    assert match is not None
    return list(json.loads(match.group(1)))


def test_the_manifest_describes_an_installable_app(db: None) -> None:
    # Browsers fetch the manifest without the session cookie: it is public and holds nothing personal.
    answer = Client().get("/field/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/manifest+json"
    manifest = json.loads(answer.content)
    assert manifest["name"] == "智网·网格员"
    assert manifest["short_name"] == "网格员"
    assert manifest["start_url"] == "/field/"
    assert manifest["scope"] == "/field/"
    assert manifest["id"] == "/field/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#c8102e"
    assert manifest["background_color"]
    assert {(i["sizes"], i["type"]) for i in manifest["icons"]} == {
        ("192x192", "image/png"),
        ("512x512", "image/png"),
    }
    assert {i["purpose"] for i in manifest["icons"]} == {"any", "maskable"}


@pytest.mark.parametrize("size", [192, 512])
def test_the_icons_are_served_pngs_of_their_declared_size(db: None, size: int) -> None:
    manifest = json.loads(Client().get("/field/manifest.webmanifest").content)
    src = next(i["src"] for i in manifest["icons"] if i["sizes"] == f"{size}x{size}")
    answer = Client().get(src)
    assert answer.status_code == 200
    assert png_size(b"".join(answer.streaming_content)) == (size, size)  # type: ignore[attr-defined]


def test_the_service_worker_is_javascript_scoped_to_the_app(db: None) -> None:
    answer = Client().get("/field/sw.js")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/javascript; charset=utf-8"
    assert answer["Service-Worker-Allowed"] == "/field/"
    # Browsers look for a new version on every visit.
    assert "no-cache" in answer["Cache-Control"]
    body = answer.content.decode()
    assert re.search(r'^const VERSION = "[0-9a-f]{16}";$', body, re.M)
    assert 'const SHELL = "/field/";' in body
    # API calls are left to the network: the worker never answers them.
    assert "/api/" not in precached(body)


def test_the_service_worker_precaches_the_shell_leaflet_and_the_app_files(db: None) -> None:
    files = precached(Client().get("/field/sw.js").content.decode())
    for url in (
        "/field/",
        "/field/manifest.webmanifest",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/field/app.js",
        "/static/field/queue.js",
        "/static/field/app.css",
        "/static/field/icon-192.png",
    ):
        assert url in files


def test_every_precached_file_is_served(crew: Crew, api_client: Callable[[User | None], Client]) -> None:
    # One missing file would make the service worker's installation fail.
    client = api_client(crew.worker)
    for url in precached(client.get("/field/sw.js").content.decode()):
        answer = client.get(url)
        assert answer.status_code == 200, url


def test_the_cache_version_follows_the_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = views.cache_version()
    assert views.cache_version() == before
    changed = tmp_path / "app.js"
    find = finders.find
    real = find("field/app.js")
    assert isinstance(real, str)
    changed.write_bytes(Path(real).read_bytes() + b"\n// changed\n")
    monkeypatch.setattr(finders, "find", lambda path: str(changed) if path == "field/app.js" else find(path))
    views.cached_version.cache_clear()
    try:
        assert views.cache_version() != before
    finally:
        views.cached_version.cache_clear()
