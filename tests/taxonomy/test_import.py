"""The category table through its services: the bundled file, refusals, edits, the cached lookup."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from zhiwang.accounts.models import DepartmentKind, User
from zhiwang.audit.models import AuditEntry
from zhiwang.common.errors import NotFound, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.models import OVERLAY_LAYERS
from zhiwang.taxonomy.models import Category, OverlayLayer, TaxonomyRevision
from zhiwang.taxonomy.selectors import category_by_code, category_tree
from zhiwang.taxonomy.services import (
    DEFAULT_FILE,
    ImportResult,
    category_import,
    category_update,
    load_default_categories,
)

CLI = Origin.cli()


def bundled() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    return data


def snapshot() -> list[tuple[Any, ...]]:
    return list(
        Category.objects.order_by("code").values_list(
            "code", "name", "time_limit", "time_unit", "department_kind", "is_active", "updated_at"
        )
    )


def problem_codes(exc: ValidationFailed) -> set[str]:
    return {p["code"] for p in exc.details}


# --- the bundled table ------------------------------------------------------------------------


def test_bundled_file_loads_cleanly(loaded: ImportResult) -> None:
    majors = Category.objects.filter(parent__isnull=True)
    minors = Category.objects.filter(parent__isnull=False)
    assert majors.count() == 18
    assert minors.count() == 90
    assert len(loaded.created) == 108 and not loaded.updated and not loaded.deactivated
    assert majors.filter(kind="event").count() == 12 and majors.filter(kind="component").count() == 6
    # Every 小类 sits under the 大类 its code names, with the same kind, and carries its rules.
    for minor in minors.select_related("parent"):
        assert minor.parent is not None
        assert minor.parent.code == minor.code[:3] and minor.parent.kind == minor.kind
        assert minor.time_limit and minor.time_limit > 0
        assert minor.time_unit in ("working_hours", "working_days")
        assert minor.department_kind in DepartmentKind.values
        assert minor.filing_criteria and minor.closing_criteria
    assert {m.overlay_layer for m in minors if m.overlay_layer} <= set(OVERLAY_LAYERS)
    assert AuditEntry.objects.filter(action="category.import").count() == 1


@pytest.mark.parametrize(
    ("code", "name", "limit", "unit"),
    [
        ("E0102", "暴露垃圾", 1, "working_days"),
        ("E0101", "违法搭建", 15, "working_days"),
        ("E0104", "道路不洁", 5, "working_hours"),
    ],
)
def test_bundled_time_limits(loaded: ImportResult, code: str, name: str, limit: int, unit: str) -> None:
    category = Category.objects.get(code=code)
    assert (category.name, category.time_limit, category.time_unit) == (name, limit, unit)
    assert category.kind == "event" and category.department_kind == "urban"


def test_bundled_routing_attributes(loaded: ImportResult) -> None:
    fire = Category.objects.get(name="消防安全隐患")
    assert fire.code == "E1001" and fire.overlay_layer == "fire" and fire.department_kind == "fire"
    assert Category.objects.get(name="生产安全隐患").overlay_layer == "safety"
    gas = Category.objects.select_related("parent").get(name="燃气安全隐患")
    assert gas.parent is not None and (gas.parent.code, gas.parent.name) == ("E10", "安全隐患")
    mediation = Category.objects.filter(parent__name="矛盾纠纷")
    assert mediation.filter(handled_by_community=True).count() >= 4
    assert Category.objects.get(name="邻里纠纷").handled_by_community
    pollution = Category.objects.filter(parent__name="环境污染")
    assert "environment" in set(pollution.values_list("department_kind", flat=True))
    # Extra fields come normalised, lists with their values.
    fields = {f["code"]: f for f in fire.extra_fields}
    assert fields["hazard_type"]["datatype"] == "multivaluelist" and fields["hazard_type"]["required"]
    assert {"key": "exit", "name": "疏散通道、安全出口堵塞锁闭"} in fields["hazard_type"]["values"]
    assert set(OverlayLayer.values) == set(OVERLAY_LAYERS)


def test_loading_twice_changes_nothing(loaded: ImportResult) -> None:
    before = snapshot()
    audits = AuditEntry.objects.count()
    revision = TaxonomyRevision.objects.get()
    again = load_default_categories(origin=CLI)
    assert not again.created and not again.updated and not again.deactivated
    assert len(again.unchanged) == 108
    assert snapshot() == before
    assert AuditEntry.objects.count() == audits
    assert TaxonomyRevision.objects.get().token == revision.token


def test_tree_groups_minors_under_majors_in_file_order(loaded: ImportResult) -> None:
    tree = category_tree()
    assert len(tree) == 18 and sum(len(b.minors) for b in tree) == 90
    assert [b.major.code for b in tree][:3] == ["E01", "E02", "E03"]
    assert tree[-1].major.code == "C06"  # events first, then components
    assert [m.code for m in tree[0].minors][:4] == ["E0101", "E0102", "E0103", "E0104"]
    # A matching 小类 comes with its 大类; a matching 大类 (here by keyword) with all its 小类.
    found = category_tree(search="箅子")
    assert [(b.major.code, [m.code for m in b.minors]) for b in found] == [("C01", ["C0103"])]
    assert len(category_tree(search="井盖")[0].minors) == 7
    components = [b.major.code for b in category_tree(kind="component")]
    assert components == ["C01", "C02", "C03", "C04", "C05", "C06"]


# --- refusals ---------------------------------------------------------------------------------


def test_a_file_with_bad_entries_is_refused_whole(loaded: ImportResult, city_admin: User) -> None:
    before = snapshot()
    count = Category.objects.count()
    data = bundled()
    major = data["categories"][0]
    major["minors"][1]["name"] = "暴露垃圾（改）"  # a good change that must not be written either
    major["minors"][1]["time_limit"] = 2
    data["categories"].append(
        {
            "code": "E16",
            "name": "新大类",
            "minors": [
                {  # limit not positive, unknown unit
                    "code": "E1601",
                    "name": "零时限",
                    "time_limit": 0,
                    "time_unit": "hours",
                    "department_kind": "urban",
                },
                {  # unknown department, bad overlay layer
                    "code": "E1602",
                    "name": "坏部门",
                    "time_limit": 3,
                    "time_unit": "working_days",
                    "department_kind": "weather",
                    "overlay_layer": "admin",
                },
                {  # a list field without values, a bad datatype
                    "code": "E1603",
                    "name": "坏字段",
                    "time_limit": 3,
                    "time_unit": "working_days",
                    "department_kind": "urban",
                    "extra_fields": [
                        {"code": "kind", "name": "种类", "datatype": "singlevaluelist"},
                        {"code": "when", "name": "时间", "datatype": "date"},
                    ],
                },
            ],
        }
    )
    data["categories"] += [
        {"code": "X01", "name": "坏代码"},  # not the scheme
        {"code": "E17", "name": "有时限的大类", "time_limit": 5, "time_unit": "working_days"},
        {  # its 大类 exists nowhere
            "code": "E9901",
            "name": "孤儿",
            "time_limit": 1,
            "time_unit": "working_days",
            "department_kind": "urban",
        },
        {  # a component 小类 filed under an event 大类
            "code": "C0199",
            "parent": "E01",
            "name": "错挂",
            "time_limit": 1,
            "time_unit": "working_days",
            "department_kind": "urban",
        },
        {"code": "E0102", "name": "重复", "time_limit": 1, "time_unit": "working_days"},  # twice
    ]
    with pytest.raises(ValidationFailed) as refused:
        category_import(actor=city_admin, data=data, origin=CLI)
    codes = problem_codes(refused.value)
    assert codes == {"E1601", "E1602", "E1603", "X01", "E17", "E9901", "C0199", "E0102"}
    by_entry: dict[str, set[str]] = {}
    for problem in refused.value.details:
        by_entry.setdefault(problem["code"], set()).add(problem["field"])
        assert problem["message"]
    assert by_entry["E1601"] >= {"time_limit", "time_unit"}
    assert by_entry["E1602"] >= {"department_kind", "overlay_layer"}
    assert by_entry["E1603"] == {"extra_fields"}
    assert by_entry["E17"] >= {"time_limit", "time_unit"}
    assert by_entry["C0199"] == {"parent"}
    assert by_entry["E9901"] == {"parent"}
    assert refused.value.code == "invalid_categories" and refused.value.status == 400
    assert Category.objects.count() == count
    assert snapshot() == before
    exposed = Category.objects.get(code="E0102")
    assert (exposed.name, exposed.time_limit) == ("暴露垃圾", 1)


def test_a_missing_major_is_named(loaded: ImportResult, city_admin: User) -> None:
    orphan = {
        "code": "E9901",
        "name": "孤儿",
        "time_limit": 1,
        "time_unit": "working_days",
        "department_kind": "urban",
    }
    with pytest.raises(ValidationFailed) as refused:
        category_import(actor=city_admin, data={"categories": [orphan]}, origin=CLI)
    assert refused.value.details == [
        {"code": "E9901", "field": "parent", "message": "Its 大类 E99 is neither in the file nor saved."}
    ]
    assert not Category.objects.filter(code="E9901").exists()


def test_an_active_minor_needs_an_active_major(loaded: ImportResult, city_admin: User) -> None:
    data = bundled()
    data["categories"][0]["is_active"] = False  # E01 off, its 小类 still on
    with pytest.raises(ValidationFailed) as refused:
        category_import(actor=city_admin, data=data, origin=CLI)
    assert "E0101" in problem_codes(refused.value)
    with pytest.raises(ValidationFailed):
        category_update(actor=city_admin, code="E01", changes={"is_active": False}, origin=CLI)
    assert Category.objects.get(code="E01").is_active


# --- partial imports and deactivation ---------------------------------------------------------


def test_partial_import_adds_and_updates_by_code(loaded: ImportResult, city_admin: User) -> None:
    data = {
        "categories": [
            {
                "code": "E0110",
                "parent": "E01",
                "name": "共享单车堆积",
                "time_limit": 1,
                "time_unit": "working_days",
                "department_kind": "urban",
                "keywords": ["单车", "单车"],
            },
            {**copy.deepcopy(bundled()["categories"][0]["minors"][3]), "time_limit": 4},  # 道路不洁
        ]
    }
    result = category_import(actor=city_admin, data=data, origin=CLI)
    assert result.created == ["E0110"] and result.updated == ["E0104"] and not result.deactivated
    new = Category.objects.get(code="E0110")
    assert new.parent == Category.objects.get(code="E01") and new.kind == "event"
    assert new.keywords == ["单车"] and new.sort_order == 1
    assert Category.objects.get(code="E0104").time_limit == 4
    entry = AuditEntry.objects.filter(action="category.import").latest("id")
    assert entry.actor == city_admin
    assert entry.details["changes"]["E0104"]["time_limit"] == {"from": 5, "to": 4}


def test_deactivate_missing_makes_the_file_the_active_table(loaded: ImportResult, city_admin: User) -> None:
    data = bundled()
    data["categories"] = [c for c in data["categories"] if c["code"] != "C06"]
    result = category_import(actor=city_admin, data=data, origin=CLI, deactivate_missing=True)
    assert result.deactivated == ["C06", "C0601", "C0602", "C0603", "C0604"]
    assert not Category.objects.get(code="C0603").is_active
    assert Category.objects.count() == 108  # nothing is ever deleted
    # Without the flag, missing categories are left alone.
    again = category_import(actor=city_admin, data=bundled(), origin=CLI)
    assert set(again.updated) == {"C06", "C0601", "C0602", "C0603", "C0604"}
    assert Category.objects.filter(is_active=True).count() == 108


# --- single edits -----------------------------------------------------------------------------


def test_update_changes_only_what_it_names(loaded: ImportResult, city_admin: User) -> None:
    category = category_update(
        actor=city_admin,
        code="E0102",
        changes={"time_limit": 4, "time_unit": "working_hours", "keywords": ["垃圾", "暴露垃圾"]},
        origin=CLI,
    )
    assert (category.time_limit, category.time_unit) == (4, "working_hours")
    assert category.name == "暴露垃圾" and category.department_kind == "urban"
    entry = AuditEntry.objects.filter(action="category.update").get()
    assert entry.object_id == str(category.pk)
    assert entry.details["changes"]["time_unit"] == {"from": "working_days", "to": "working_hours"}
    # No change, no audit row.
    category_update(actor=city_admin, code="E0102", changes={"time_limit": 4}, origin=CLI)
    assert AuditEntry.objects.filter(action="category.update").count() == 1


def test_update_follows_the_import_rules(loaded: ImportResult, city_admin: User) -> None:
    bad_changes: list[dict[str, Any]] = [
        {"time_limit": 0},
        {"time_limit": None},
        {"time_unit": "days"},
        {"department_kind": "army"},
        {"overlay_layer": "admin"},
        {"code": "E0199"},
        {"parent": "E02"},
        {"name": "道路不洁"},  # a sibling has this name
        {"extra_fields": [{"code": "x", "name": "X", "datatype": "multivaluelist", "values": []}]},
    ]
    for changes in bad_changes:
        with pytest.raises(ValidationFailed) as refused:
            category_update(actor=city_admin, code="E0102", changes=changes, origin=CLI)
        assert problem_codes(refused.value) == {"E0102"}, changes
    with pytest.raises(ValidationFailed):
        category_update(actor=city_admin, code="E01", changes={"time_limit": 3}, origin=CLI)
    with pytest.raises(NotFound):
        category_update(actor=city_admin, code="E0199", changes={"name": "无"}, origin=CLI)
    assert Category.objects.get(code="E0102").time_limit == 1
    assert not AuditEntry.objects.filter(action="category.update").exists()


# --- the cached lookup ------------------------------------------------------------------------


def test_edits_bump_the_cached_lookup(
    loaded: ImportResult, city_admin: User, django_assert_num_queries: Any
) -> None:
    first = category_by_code("E0102")
    assert first is not None and first.time_limit == 1 and first.parent is not None
    with django_assert_num_queries(2):  # the revision token only, once per lookup
        cached = category_by_code("E0102")
        assert cached is first and cached.parent is not None and cached.parent.code == "E01"
        assert category_by_code("E9999") is None
    category_update(actor=city_admin, code="E0102", changes={"time_limit": 3}, origin=CLI)
    after = category_by_code("E0102")
    assert after is not None and after.time_limit == 3
    category_import(
        actor=city_admin,
        data={"categories": [{**bundled()["categories"][0]["minors"][1], "is_active": False}]},
        origin=CLI,
    )
    last = category_by_code("E0102")
    assert last is not None and not last.is_active and last.time_limit == 1


def test_lookup_without_any_service_write_reads_the_database(db: None) -> None:
    assert category_by_code("E01") is None
    Category.objects.create(code="E01", name="市容环境", kind="event")
    found = category_by_code("E01")
    assert found is not None and found.name == "市容环境"
