"""Residents' self-service on the portal: residence registration, the landlord's or tenant's
declaration, the room-code lookup and following a declaration; nothing of anyone else leaks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.portal.conftest import GLOSSARY, challenge_of, write_mo
from tests.registry.declarants import declared_id_number
from tests.registry.world import ORIGIN, Side, build_side
from zhiwang.accounts.models import Role, User
from zhiwang.grids.models import GridNode
from zhiwang.registry import declarations
from zhiwang.registry.models import Declaration, Person

S = "/resident/self-service"
PHONE = "13912345678"
SELFSERVICE_GLOSSARY = Path(__file__).resolve().parents[2] / "scripts/glossary/registry-selfservice.json"


@pytest.fixture(autouse=True)
def _in_english(settings: Any) -> None:
    """These tests read the pages' wording in English (the msgids); the Chinese is read by
    `test_the_self_service_pages_read_in_chinese` and the browser test."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def side(city: dict[str, GridNode], superuser: User) -> Side:
    """东城大道1号 1栋 1单元 301, with a resident living there."""
    return build_side(superuser, True, superuser, 1)


@pytest.fixture
def worker(city: dict[str, GridNode], make_user: Callable[..., User]) -> User:
    return make_user(Role.GRID_WORKER, grid=city["441900003001001"])


def form_of(client: Client, path: str, **fields: str) -> dict[str, str]:
    page = client.get(path)
    assert page.status_code == 200
    challenge = challenge_of(page.content.decode())
    data = {"answer": str(challenge.a + challenge.b), "challenge": challenge.token, "website": "", **fields}
    return data


def residence(client: Client, side: Side, number: str, **fields: str) -> dict[str, str]:
    given = {
        "room_code": side.room.code,
        "name": "外来务工者",
        "id_number": number,
        "phone": PHONE,
        "inflow_reason": "work",
        "employer_name": "东城电子厂",
        "moved_in_on": "2026-03-01",
        **fields,
    }
    return form_of(client, f"{S}/residence/", **given)


def test_a_migrant_registers_and_follows_the_outcome(side: Side, worker: User) -> None:
    client = Client()
    number = declared_id_number()
    response = client.post(f"{S}/residence/", residence(client, side, number))
    assert response.status_code == 302
    declaration = Declaration.objects.get()
    assert response["Location"] == f"{S}/declared/{declaration.code}/"
    assert (declaration.kind, declaration.room_id, declaration.person_kind) == (
        "residence",
        side.room.pk,
        "migrant",
    )
    assert declaration.employer_name == "东城电子厂" and str(declaration.moved_in_on) == "2026-03-01"
    declared = client.get(response["Location"]).content.decode()
    assert declaration.code in declared
    page = client.get(f"{S}/follow/{declaration.code}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="status"' in html and "Waiting for the grid worker" in html
    assert side.room.code in html
    declarations.declaration_reject(
        actor=worker, declaration_id=declaration.pk, reason="请到社区核对租赁合同", origin=ORIGIN
    )
    html = client.get(f"{S}/follow/{declaration.code}/").content.decode()
    assert "Not approved" in html and "请到社区核对租赁合同" in html
    # Nothing personal: no numbers (whole or masked), no names, not the resident already living there.
    for secret in (number, number[-4:], declaration.id_number_masked, PHONE, "外来务工者", side.person.name):
        assert secret not in html


def test_a_landlord_declares_a_tenant_and_the_worker_approves(side: Side, worker: User) -> None:
    client = Client()
    number = declared_id_number()
    fields = {
        "declarant": "landlord",
        "room_code": side.room.code.lower(),
        "name": "房东",
        "phone": PHONE,
        "tenant_name": "",
        "id_number": number,
        "tenant_phone": "13712340002",
        "person_kind": "migrant",
        "moved_in_on": "",
    }
    missing = client.post(f"{S}/tenancy/", form_of(client, f"{S}/tenancy/", **fields))
    assert missing.status_code == 400
    assert (
        '<p class="error" id="id_tenant_name-error">Enter the tenant&#x27;s name.</p>'
        in missing.content.decode()
    )
    assert not Declaration.objects.exists()
    fields["tenant_name"] = "租客"
    sent = client.post(f"{S}/tenancy/", form_of(client, f"{S}/tenancy/", **fields))
    assert sent.status_code == 302
    declaration = Declaration.objects.get()
    assert (declaration.kind, declaration.declarant_name, declaration.person_name) == (
        "landlord",
        "房东",
        "租客",
    )
    declarations.declaration_approve(actor=worker, declaration_id=declaration.pk, origin=ORIGIN)
    html = client.get(f"{S}/follow/{declaration.code}/").content.decode()
    assert "Approved: the residence is registered" in html and "租客" not in html
    assert Person.objects.get(name="租客").room_id == side.room.pk


def test_bad_input_is_refused_beside_its_field_and_loses_nothing(side: Side) -> None:
    client = Client()
    response = client.post(
        f"{S}/residence/", residence(client, side, declared_id_number(), room_code="NOSUCHROOM")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        '<p class="error" id="id_room_code-error">No room has this code. Look it up from the address.</p>'
        in html
    )
    assert 'value="外来务工者"' in html and 'value="东城电子厂"' in html
    bad_id = client.post(f"{S}/residence/", residence(client, side, "441900199003070011", phone="123"))
    text = bad_id.content.decode()
    assert 'id="id_id_number-error"' in text and 'id="id_phone-error"' in text
    assert not Declaration.objects.exists()


def test_a_form_sent_twice_makes_one_declaration(side: Side) -> None:
    client = Client()
    data = residence(client, side, declared_id_number())
    first = client.post(f"{S}/residence/", data)
    second = client.post(f"{S}/residence/", data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Declaration.objects.count() == 1


def test_the_room_code_lookup_tells_the_code_and_nothing_else(side: Side, settings: Any) -> None:
    settings.ZHIWANG_PORTAL_LOOKUPS_PER_WINDOW = 4
    client = Client()
    found = client.post(
        f"{S}/house-code/", {"address": "东城大道1号", "building": "1栋", "unit": "1", "number": "301"}
    )
    html = found.content.decode()
    assert found.status_code == 200
    assert f'<p class="tracking-code" id="room-code">{side.room.code}</p>' in html
    assert side.person.name not in html and "301" in html
    wrong = client.post(
        f"{S}/house-code/", {"address": "东城大道1号", "building": "2栋", "unit": "1", "number": "301"}
    )
    unknown = client.post(
        f"{S}/house-code/", {"address": "无名路9号", "building": "1栋", "unit": "1", "number": "301"}
    )
    assert wrong.status_code == unknown.status_code == 404

    def alert(response: Any) -> str:
        match = re.search(r'<div class="alert" role="alert">(.*?)</div>', response.content.decode(), re.S)
        assert match is not None
        return match.group(1)

    assert alert(wrong) == alert(unknown)
    assert side.room.code not in wrong.content.decode()
    client.post(f"{S}/house-code/", {"address": "x", "building": "1", "unit": "", "number": "1"})
    limited = client.post(
        f"{S}/house-code/", {"address": "东城大道1号", "building": "1栋", "unit": "1", "number": "301"}
    )
    assert limited.status_code == 429 and side.room.code not in limited.content.decode()


def test_following_needs_the_code_and_the_declarants_phone(side: Side, settings: Any) -> None:
    client = Client()
    client.post(f"{S}/residence/", residence(client, side, declared_id_number()))
    code = Declaration.objects.get().code
    stranger = Client()
    assert stranger.get(f"{S}/follow/{code}/")["Location"] == f"{S}/follow/?code={code}"
    wrong = stranger.post(f"{S}/follow/", {"code": code, "phone": "13900000000"})
    unknown = stranger.post(f"{S}/follow/", {"code": "ZZZZZZZZZZ", "phone": PHONE})
    assert wrong.status_code == unknown.status_code == 404
    assert "No declaration matches this code and phone number." in wrong.content.decode()
    right = stranger.post(f"{S}/follow/", {"code": code.lower(), "phone": PHONE[-4:]})
    assert right.status_code == 302 and right["Location"] == f"{S}/follow/{code}/"
    assert stranger.get(right["Location"]).status_code == 200
    settings.ZHIWANG_PORTAL_LOOKUPS_PER_WINDOW = 3  # this address has looked up three times
    limited = Client().post(f"{S}/follow/", {"code": code, "phone": PHONE})
    assert limited.status_code == 429 and code not in limited.content.decode()


def test_the_self_service_pages_read_in_chinese(side: Side, settings: Any, tmp_path: Path) -> None:
    catalogue = json.loads(GLOSSARY.read_text(encoding="utf-8"))
    catalogue.update(json.loads(SELFSERVICE_GLOSSARY.read_text(encoding="utf-8")))
    write_mo(tmp_path / "zh_Hans/LC_MESSAGES/django.mo", catalogue)
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    home = client.get(f"{S}/").content.decode()
    assert "居住自助申报" in home and "房屋编码查询" in home and "房东/租客自主申报" in home
    refused = client.post(
        f"{S}/residence/", residence(client, side, declared_id_number(), room_code="NOSUCHROOM")
    )
    assert "没有这个编码的房屋，请按地址查询房屋编码。" in refused.content.decode()
