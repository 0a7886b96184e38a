"""The case fixtures (a small city, categories, departments, staff and a controlled clock), a
clean rate-limit cache, and a resident's way through the portal's forms."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.cases.conftest import POINT, categories, place  # noqa: F401  (fixtures used here)
from zhiwang.portal import abuse
from zhiwang.taxonomy import selectors as taxonomy_cache

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PHONE = "13812345678"
GLOSSARY = Path(__file__).resolve().parents[2] / "scripts/glossary/portal.json"


@pytest.fixture(autouse=True)
def _clean_limits_and_instant_forms(settings: Any) -> Iterator[None]:
    """Every test starts with unused limits; forms may be sent at once (one test checks the wait)."""
    cache.clear()
    taxonomy_cache.clear_cache()
    settings.ZHIWANG_PORTAL_MIN_FILL_SECONDS = 0
    yield
    cache.clear()


def challenge_of(html: str) -> abuse.Challenge:
    token = re.search(r'name="challenge" value="([^"]+)"', html)
    assert token is not None, "the form carries no challenge"
    challenge = abuse.challenge_read(token.group(1))
    assert challenge is not None
    return challenge


def report_form(client: Client, **fields: Any) -> dict[str, Any]:
    """The report form as a resident fills it in: the challenge answered, the pin in the city."""
    page = client.get("/resident/")
    assert page.status_code == 200
    challenge = challenge_of(page.content.decode())
    data: dict[str, Any] = {
        "description": "公交站旁有一堆生活垃圾，已经两天没人清理",
        "category": "E0101",
        "address": "东城街道东纵路公交站",
        "lon": str(POINT[0]),
        "lat": str(POINT[1]),
        "name": "",
        "phone": PHONE,
        "answer": str(challenge.a + challenge.b),
        "challenge": challenge.token,
        "website": "",
    }
    data.update(fields)
    return data


def write_mo(path: Path, catalogue: dict[str, str]) -> None:
    """A GNU message catalogue (what msgfmt writes), UTF-8, without a hash table."""
    entries = sorted({"": "Content-Type: text/plain; charset=UTF-8\n", **catalogue}.items())
    ids = [k.encode() for k, _ in entries]
    strs = [v.encode() for _, v in entries]
    count = len(entries)
    start = 7 * 4 + 16 * count
    offsets, blob = [], b""
    for data in ids + strs:
        offsets.append((len(data), start + len(blob)))
        blob += data + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, 0)
    tables = b"".join(struct.pack("<2I", *o) for o in offsets)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + tables + blob)


def speak_glossary(settings: Any, directory: Path) -> None:
    """Serve the portal's glossary as the Chinese catalogue (the project compiles it the same way)."""
    write_mo(directory / "zh_Hans/LC_MESSAGES/django.mo", json.loads(GLOSSARY.read_text(encoding="utf-8")))
    settings.LOCALE_PATHS = [directory, *settings.LOCALE_PATHS]
