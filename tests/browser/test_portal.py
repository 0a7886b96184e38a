"""A resident on a phone: reports a problem with the pin at their GPS position, answers the
challenge, gets the tracking code and follows the report, in chromium."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from tests.browser.conftest import FIELD_POINT
from tests.portal.conftest import speak_glossary
from zhiwang.cases.models import Case, CasePhoto
from zhiwang.common.origin import Origin
from zhiwang.portal.abuse import challenge_read
from zhiwang.portal.selectors import category_groups
from zhiwang.taxonomy.services import load_default_categories

pytestmark = pytest.mark.django_db(transaction=True)


def png(width: int = 8, height: int = 8) -> bytes:
    """A small orange picture, as a camera app would hand over (only smaller)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xf0\x80\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_a_resident_reports_from_a_phone_and_follows_the_report(
    city: Any, phone: Any, shoot: Callable[[Any, str], Path], settings: Any, tmp_path: Path
) -> None:
    settings.ZHIWANG_PORTAL_MIN_FILL_SECONDS = 0
    speak_glossary(settings, tmp_path)
    cache.clear()
    load_default_categories(origin=Origin.system())
    _major, minors = category_groups()[0]
    category_code, category_name = minors[0]
    page = phone.new_page()
    page.goto("/resident/")
    assert page.text_content("h1") == "我要上报"

    # The map shows, with the pin at the phone's position.
    page.wait_for_selector("body[data-pin='located']")
    assert page.locator("#map.leaflet-container").is_visible()
    assert page.locator("#map .leaflet-marker-icon").is_visible()
    assert float(page.input_value("#id_lon")) == pytest.approx(FIELD_POINT["longitude"], abs=1e-6)
    assert float(page.input_value("#id_lat")) == pytest.approx(FIELD_POINT["latitude"], abs=1e-6)
    # A tap on the map moves the pin there.
    box = page.locator("#map").bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] / 2 + 30, box["y"] + box["height"] / 2 + 20)
    page.wait_for_selector("body[data-pin='moved']")
    lon, lat = float(page.input_value("#id_lon")), float(page.input_value("#id_lat"))
    assert lon > FIELD_POINT["longitude"] and lat < FIELD_POINT["latitude"]

    page.fill("#id_description", "公交站旁的垃圾桶满了，垃圾堆到了路上")
    page.select_option("#id_category", category_code)
    page.fill("#id_address", "东城街道东纵路公交站")
    page.set_input_files("#id_photo", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png()}])
    page.wait_for_selector("#photo-preview:not([hidden])")
    page.fill("#id_name", "李女士")
    challenge = challenge_read(page.input_value("input[name='challenge']"))
    assert challenge is not None
    page.fill("#id_answer", str(challenge.a + challenge.b))

    # Sent without a phone number: the error is beside the field, the rest is kept, but the photo.
    page.tap("#send")
    page.wait_for_selector("#id_phone-error")
    assert page.text_content("#id_phone-error") == "请输入中国大陆手机号：以 1 开头的 11 位数字。"
    assert page.input_value("#id_description") == "公交站旁的垃圾桶满了，垃圾堆到了路上"
    assert page.input_value("#id_category") == category_code and page.input_value("#id_name") == "李女士"
    assert page.locator("#photo-again").is_visible()
    page.wait_for_selector("body[data-pin='kept']")
    assert float(page.input_value("#id_lon")) == pytest.approx(lon, abs=1e-6)
    shoot(page, "portal-report-errors")
    assert Case.objects.count() == 0

    page.fill("#id_phone", "138 1234 5678")
    page.set_input_files("#id_photo", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png()}])
    shoot(page, "portal-report")
    page.tap("#send")
    page.wait_for_selector("#tracking-code")
    assert page.text_content("h1") == "感谢您的上报，我们已收到。"
    case = Case.objects.get()
    assert page.text_content("#tracking-code") == case.tracking_code
    assert case.channel == "resident" and case.reporter_phone == "13812345678"
    assert case.category is not None and case.category.code == category_code
    assert case.lon == pytest.approx(lon, abs=1e-6) and case.lat == pytest.approx(lat, abs=1e-6)
    assert case.grid is not None and case.grid.code == "441900003001001"
    assert CasePhoto.objects.filter(case=case, stage="report").count() == 1
    shoot(page, "portal-reported")

    page.tap("#follow")
    page.wait_for_selector("#status")
    assert page.text_content("#status") == "已收到，等待受理"
    assert category_name in page.text_content(".facts")
    shoot(page, "portal-tracked")

    # From another phone, the code and the last 4 digits find it too.
    other = phone.browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    try:
        lookup = other.new_page()
        lookup.goto(page.url.split("/resident/")[0] + "/resident/track/")
        lookup.fill("#id_code", case.tracking_code.lower())
        lookup.fill("#id_phone", "5678")
        lookup.click("button[type='submit']")
        lookup.wait_for_selector("#status")
        assert lookup.text_content("#status") == "已收到，等待受理"
        shoot(lookup, "portal-track-lookup")
    finally:
        other.close()
