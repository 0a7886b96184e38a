"""A migrant on a phone: looks up the room code from the door plate, registers their residence,
and follows the declaration until the grid worker decides it in the console, in chromium."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from tests.portal.conftest import GLOSSARY, write_mo
from tests.registry.declarants import declared_id_number
from tests.registry.world import build_side
from zhiwang.accounts.models import Role, User
from zhiwang.portal.abuse import challenge_read
from zhiwang.registry.models import Declaration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SELFSERVICE_GLOSSARY = Path(__file__).resolve().parents[2] / "scripts/glossary/registry-selfservice.json"


def test_a_migrant_registers_from_a_phone_and_follows_the_outcome(
    city: Any,
    superuser: User,
    make_user: Callable[..., User],
    phone: Any,
    desktop: Any,
    sign_in: Callable[[Any, User], None],
    shoot: Callable[[Any, str], Path],
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.ZHIWANG_PORTAL_MIN_FILL_SECONDS = 0
    catalogue = json.loads(GLOSSARY.read_text(encoding="utf-8"))
    catalogue.update(json.loads(SELFSERVICE_GLOSSARY.read_text(encoding="utf-8")))
    write_mo(tmp_path / "zh_Hans/LC_MESSAGES/django.mo", catalogue)
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]
    cache.clear()
    side = build_side(superuser, True, superuser, 1)
    worker = make_user(Role.GRID_WORKER, grid=city["441900003001001"])
    page = phone.new_page()

    page.goto("/resident/self-service/")
    assert page.text_content("h1") == "居住自助申报"
    page.click("text=房屋编码查询")
    page.fill("#id_address", "东城大道1号")
    page.fill("#id_building", "1栋")
    page.fill("#id_unit", "1")
    page.fill("#id_number", "301")
    page.tap("button[type='submit']")
    page.wait_for_selector("#room-code")
    room_code = page.text_content("#room-code")
    assert room_code == side.room.code
    assert side.person.name not in page.content()
    shoot(page, "portal-house-code")

    page.click("#found >> text=居住登记")
    page.wait_for_selector("#declare-form")
    page.fill("#id_room_code", room_code or "")
    page.fill("#id_name", "外来务工者")
    page.fill("#id_id_number", declared_id_number())
    page.fill("#id_phone", "139 1234 5678")
    page.select_option("#id_inflow_reason", "work")
    challenge = challenge_read(page.input_value("input[name='challenge']"))
    assert challenge is not None
    page.fill("#id_answer", str(challenge.a + challenge.b))
    shoot(page, "portal-declare-residence")
    page.tap("#send")
    page.wait_for_selector("#declaration-code")
    declaration = Declaration.objects.get()
    assert page.text_content("#declaration-code") == declaration.code
    assert page.text_content("h1") == "谢谢，您的申报已提交。"

    page.tap("#follow")
    page.wait_for_selector("#status")
    assert page.text_content("#status") == "等待网格员审核"
    # The grid worker decides it in the console's review queue.
    sign_in(desktop, worker)
    console = desktop.new_page()
    console.goto("/console/registry/declarations/")
    row = console.locator(f"tr[data-declaration='{declaration.pk}']")
    row.locator("details[data-action='reject'] summary").click()
    row.locator(
        "details[data-action='reject'] textarea, details[data-action='reject'] input[type='text']"
    ).fill("房号与门牌不符，请核对")
    shoot(console, "console-declaration-review")
    row.locator("details[data-action='reject'] button[type='submit']").click()
    console.wait_for_selector(f"tr[data-declaration='{declaration.pk}']", state="detached")
    declaration.refresh_from_db()
    assert declaration.status == "rejected" and declaration.reviewed_by == worker
    page.reload()
    page.wait_for_selector("#reason")
    assert page.text_content("#status") == "未通过"
    assert "房号与门牌不符，请核对" in page.text_content("#reason")
    assert "外来务工者" not in page.content()
    shoot(page, "portal-declaration-followed")
