"""A grid worker of grid A never reads, searches, exports or infers a resident of grid B."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.registry.conftest import Registry
from tests.registry.world import id_number
from zhiwang.accounts.models import User
from zhiwang.registry.models import Person, PersonStatus

R = "/api/v1/registry"


def _error(response: object) -> tuple[int, dict[str, object]]:
    return response.status_code, response.json()  # type: ignore[attr-defined]


def test_reads_and_searches_do_not_reach_another_grid(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    a = api_client(reg.worker)
    b_person = reg.outside.person
    missing = _error(a.get(f"{R}/persons/999999"))
    assert missing[0] == 404
    assert _error(a.get(f"{R}/persons/{b_person.pk}")) == missing
    for params in ({"id_number": reg.outside.id_number}, {"phone": "13800130002"}, {"name": b_person.name}):
        assert a.get(f"{R}/persons", params).json() == {"items": [], "count": 0}
    for status in ("active", "moved_out", "anonymised", ""):
        assert b_person.pk not in [p["id"] for p in a.get(f"{R}/persons", {"status": status}).json()["items"]]
    exported = a.get(f"{R}/export", {"kind": "persons", "whole": "true"}).content.decode()
    assert b_person.name not in exported and reg.outside.id_number not in exported
    assert "虎门" not in a.get(f"{R}/export", {"kind": "units"}).content.decode()
    b_grid = reg.outside.room.building.grid_id
    assert _error(a.get(f"{R}/communities/{b_grid}/residents"))[0] == 404
    assert _error(a.get(f"{R}/enterprise-grids/{reg.outside.unit.enterprise_grid_id}/workforce"))[0] == 404
    for path in (
        f"rooms/{reg.outside.room.pk}",
        f"units/{reg.outside.unit.pk}",
        f"addresses/{reg.outside.address.pk}",
    ):
        assert a.get(f"{R}/{path}").status_code == 404
    rooms = a.get(f"{R}/rooms", {"code": reg.outside.room.code}).json()
    assert rooms["count"] == 0


def test_registering_another_grids_resident_answers_as_for_a_new_person(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    """No 409, no name, no history: the answer is the one a new ID number gets. B's record ends."""
    a = api_client(reg.worker)

    def register(number: str) -> dict[str, object]:
        response = a.post(
            f"{R}/persons",
            data={"room_id": reg.inside.room.pk, "name": "新来的", "id_number": number},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content
        return dict(response.json())

    moved = register(reg.outside.id_number)
    fresh = register(id_number(born="19880808"))
    assert set(moved) == set(fresh)
    for key in ("name", "tags", "health_status", "employers", "history", "status", "mobility_status"):
        assert moved[key] == fresh[key], key
    assert "虎门" not in json.dumps(moved, ensure_ascii=False)
    old = Person.objects.get(pk=reg.outside.person.pk)
    assert old.status == PersonStatus.MOVED_OUT
    assert old.tenancies.get().ends_on is not None
    # Inside the own scope the duplicate is a 409 that names the record.
    again = a.post(
        f"{R}/persons",
        data={"room_id": reg.inside.room.pk, "name": "重复", "id_number": reg.inside.id_number},
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["error"]["details"] == {"id": reg.inside.person.pk}


def test_imports_and_employment_do_not_reveal_another_grid(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    a = api_client(reg.worker)

    def upload(room_code: str, number: str) -> dict[str, object]:
        content = f"房屋编码,姓名,身份证号\n{room_code},甲,{number}\n".encode()
        response = a.post(f"{R}/imports", data={"file": SimpleUploadedFile("a.csv", content)})
        return dict(response.json())

    # Another grid's room code reads exactly like a code that does not exist.
    b_room = upload(reg.outside.room.code, id_number())["error"]
    nowhere = upload("441900101001000019990001", id_number())["error"]
    assert b_room["details"]["errors"] == nowhere["details"]["errors"]  # type: ignore[index]
    # Linking an ID number that lives in grid B reads like an unknown ID number.
    answers = []
    for number in (reg.outside.id_number, id_number(born="19770707")):
        response = a.post(
            f"{R}/employment",
            data={"unit_id": reg.inside.unit.pk, "id_number": number},
            content_type="application/json",
        )
        assert response.status_code == 201
        answers.append({k: v for k, v in response.json().items() if k != "id"})
    assert answers[0] == answers[1] and answers[0]["person_id"] is None
