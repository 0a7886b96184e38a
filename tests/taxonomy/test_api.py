"""The category endpoints, called through the router (the lead mounts it at /api/v1/categories)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ninja.testing import TestClient

from zhiwang.accounts.models import Department, DepartmentKind, Role, User
from zhiwang.audit.models import AuditEntry
from zhiwang.common.errors import NotFound, PermissionDenied, ValidationFailed
from zhiwang.grids.models import GridNode
from zhiwang.taxonomy.api import router
from zhiwang.taxonomy.models import Category
from zhiwang.taxonomy.services import ImportResult

client = TestClient(router)

NEW_MINOR = {
    "categories": [
        {
            "code": "E0110",
            "parent": "E01",
            "name": "共享单车堆积",
            "time_limit": 1,
            "time_unit": "working_days",
            "department_kind": "urban",
        }
    ]
}


def staff(city: dict[str, GridNode], make_user: Callable[..., User]) -> dict[str, User]:
    department = Department.objects.create(
        code="DC-URBAN", name="东城城管", kind=DepartmentKind.URBAN, jurisdiction=city["441900003"]
    )
    return {
        "grid_worker": make_user(Role.GRID_WORKER, grid=city["441900003001001"]),
        "community_dispatcher": make_user(Role.COMMUNITY_DISPATCHER, grid=city["441900003001"]),
        "town_commander": make_user(Role.TOWN_COMMANDER, grid=city["441900003"]),
        "city_commander": make_user(Role.CITY_COMMANDER, grid=city["441900"]),
        "department_handler": make_user(Role.DEPARTMENT_HANDLER, department=department),
        "leader": make_user(Role.LEADER, grid=city["441900003"]),
        "town_admin": make_user(Role.ADMINISTRATOR, grid=city["441900003"]),
        "city_admin": make_user(Role.ADMINISTRATOR, grid=city["441900"]),
    }


def test_any_staff_role_lists_and_reads(
    loaded: ImportResult, city: dict[str, GridNode], make_user: Callable[..., User], superuser: User
) -> None:
    for name, user in {**staff(city, make_user), "superuser": superuser}.items():
        listed = client.get("", user=user)
        assert listed.status_code == 200, name
        assert len(listed.json()) == 108, name
        one = client.get("/E0104", user=user)
        assert one.status_code == 200, name
        assert one.json()["time_limit"] == 5 and one.json()["time_unit"] == "working_hours"


def test_without_a_role_or_signed_out_nothing_is_read(
    loaded: ImportResult, make_user: Callable[..., User]
) -> None:
    nobody = make_user()
    for user in (nobody, None):
        kwargs: dict[str, Any] = {"user": user} if user is not None else {}
        with pytest.raises(PermissionDenied):
            client.get("", **kwargs)
        with pytest.raises(PermissionDenied):
            client.get("?tree=true", **kwargs)
        with pytest.raises(PermissionDenied):
            client.get("/E0104", **kwargs)


def test_list_filters_and_tree(loaded: ImportResult, city_admin: User) -> None:
    events = client.get("?kind=event", user=city_admin).json()
    assert {c["kind"] for c in events} == {"event"} and len(events) == 12 + 65
    assert [c["code"] for c in events[:3]] == ["E01", "E0101", "E0102"]  # tree order
    assert all(c["minors"] is None for c in events)
    by_keyword = client.get("?q=牛皮癣", user=city_admin).json()
    assert [c["code"] for c in by_keyword] == ["E0201"]
    assert by_keyword[0]["parent_code"] == "E02" and not by_keyword[0]["is_major"]
    by_code = client.get("?q=c01", user=city_admin).json()
    assert by_code[0]["code"] == "C01" and len(by_code) == 8
    tree = client.get("?tree=true&kind=component", user=city_admin).json()
    assert [b["code"] for b in tree] == ["C01", "C02", "C03", "C04", "C05", "C06"]
    assert [m["code"] for m in tree[0]["minors"]][:2] == ["C0101", "C0102"]
    fire = client.get("/E1001", user=city_admin).json()
    assert fire["overlay_layer"] == "fire" and fire["minors"] is None
    assert fire["extra_fields"][0]["values"][0] == {"key": "facility", "name": "消防设施损坏或缺失"}
    major = client.get("/E11", user=city_admin).json()
    assert major["is_major"] and major["minors"][0]["name"] == "邻里纠纷"
    with pytest.raises(NotFound):
        client.get("/E9999", user=city_admin)
    with pytest.raises(ValidationFailed):
        client.get("?kind=furniture", user=city_admin)


def test_inactive_categories_are_listed_on_request(loaded: ImportResult, city_admin: User) -> None:
    assert client.patch("/E0109", json={"is_active": False}, user=city_admin).status_code == 200
    assert "E0109" not in {c["code"] for c in client.get("", user=city_admin).json()}
    everything = client.get("?include_inactive=true", user=city_admin).json()
    assert {c["code"]: c["is_active"] for c in everything}["E0109"] is False


def test_city_administrator_imports_and_edits(loaded: ImportResult, city_admin: User) -> None:
    imported = client.post("/import", json=NEW_MINOR, user=city_admin)
    assert imported.status_code == 200
    assert imported.json() == {"created": ["E0110"], "updated": [], "unchanged": [], "deactivated": []}
    changed = client.patch(
        "/E0110",
        json={
            "time_limit": 6,
            "time_unit": "working_hours",
            "extra_fields": [
                {
                    "code": "count",
                    "name": "车辆数",
                    "datatype": "singlevaluelist",
                    "values": [{"key": "few", "name": "10辆以下"}, {"key": "many", "name": "10辆以上"}],
                }
            ],
        },
        user=city_admin,
    )
    assert changed.status_code == 200
    body = changed.json()
    assert (body["time_limit"], body["time_unit"], body["name"]) == (6, "working_hours", "共享单车堆积")
    assert body["extra_fields"][0]["required"] is False and len(body["extra_fields"][0]["values"]) == 2
    entry = AuditEntry.objects.filter(action="category.update").get()
    assert entry.actor == city_admin and entry.channel == "web"  # the test client's path is not /api/
    with pytest.raises(ValidationFailed) as refused:
        client.patch("/E0110", json={"time_limit": 0, "overlay_layer": "moon"}, user=city_admin)
    assert {(p["code"], p["field"]) for p in refused.value.details} == {
        ("E0110", "time_limit"),
        ("E0110", "overlay_layer"),
    }


def test_superuser_imports(loaded: ImportResult, superuser: User) -> None:
    assert client.post("/import", json=NEW_MINOR, user=superuser).status_code == 200


@pytest.mark.parametrize("who", ["town_admin", "city_commander", "town_commander", "leader", "grid_worker"])
def test_others_cannot_import_or_edit(
    loaded: ImportResult, city: dict[str, GridNode], make_user: Callable[..., User], who: str
) -> None:
    user = staff(city, make_user)[who]
    with pytest.raises(PermissionDenied):
        client.post("/import", json=NEW_MINOR, user=user)
    with pytest.raises(PermissionDenied):
        client.patch("/E0102", json={"time_limit": 9}, user=user)
    assert not Category.objects.filter(code="E0110").exists()
    assert Category.objects.get(code="E0102").time_limit == 1


def test_anonymous_cannot_import_or_edit(loaded: ImportResult) -> None:
    with pytest.raises(PermissionDenied) as refused:
        client.post("/import", json=NEW_MINOR)
    assert refused.value.code == "not_authenticated"
    with pytest.raises(PermissionDenied):
        client.patch("/E0102", json={"time_limit": 9})
    assert Category.objects.get(code="E0102").time_limit == 1
    written = AuditEntry.objects.filter(action__startswith="category.").exclude(actor_label="system")
    assert not written.exists()
