"""Checking entries on their own: the code scheme, the fields, extra field definitions."""

from __future__ import annotations

from typing import Any

import pytest

from zhiwang.taxonomy.validation import RawEntry, check_entry, code_parts, flatten_file

MINOR: dict[str, Any] = {
    "code": "C0101",
    "name": "供水井盖缺失/破损",
    "time_limit": 2,
    "time_unit": "working_hours",
    "department_kind": "water",
}


def problems(entry: dict[str, Any], listed_under: str | None = None) -> set[tuple[str, str]]:
    _, found = check_entry(RawEntry(str(entry.get("code")), entry, listed_under))
    return {(p.code, p.field) for p in found}


@pytest.mark.parametrize(
    ("code", "parts"),
    [
        ("E01", ("event", None)),
        ("C06", ("component", None)),
        ("E0101", ("event", "E01")),
        ("C1299", ("component", "C12")),
        ("E00", None),
        ("E0100", None),
        ("E0001", None),
        ("X01", None),
        ("e01", None),
        ("E1", None),
        ("E01011", None),
        ("010101", None),
        (101, None),
    ],
)
def test_code_scheme(code: Any, parts: tuple[str, str | None] | None) -> None:
    assert code_parts(code) == parts


def test_a_good_minor_is_normalised() -> None:
    spec, found = check_entry(RawEntry("C0101", {**MINOR, "name": " 井盖 ", "keywords": [" 井盖", "井盖"]}))
    assert not found and spec is not None
    assert (spec.kind, spec.parent_code, spec.name, spec.keywords) == ("component", "C01", "井盖", ["井盖"])
    assert spec.urgency_default == "normal" and spec.is_active and spec.overlay_layer == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_limit": 1.5}, "time_limit"),
        ({"time_limit": True}, "time_limit"),
        ({"time_limit": "2"}, "time_limit"),
        ({"time_limit": 1000}, "time_limit"),
        ({"time_unit": "hours"}, "time_unit"),
        ({"department_kind": ""}, "department_kind"),
        ({"overlay_layer": "admin"}, "overlay_layer"),
        ({"urgency_default": "critical"}, "urgency_default"),
        ({"handled_by_community": "yes"}, "handled_by_community"),
        ({"kind": "event"}, "kind"),
        ({"parent": "C02"}, "parent"),
        ({"keywords": "井盖"}, "keywords"),
        ({"is_active": 1}, "is_active"),
        ({"sort_order": -1}, "sort_order"),
        ({"name": ""}, "name"),
        ({"time_limt": 2}, "time_limt"),
    ],
)
def test_bad_minor_fields(change: dict[str, Any], field: str) -> None:
    assert problems({**MINOR, **change}) == {("C0101", field)}


def test_a_major_carries_no_handling_rules() -> None:
    found = problems(
        {
            "code": "C01",
            "name": "公用设施",
            "time_limit": 1,
            "time_unit": "working_days",
            "overlay_layer": "fire",
            "handled_by_community": True,
            "extra_fields": [{"code": "a", "name": "A", "datatype": "string"}],
        }
    )
    assert {field for _, field in found} == {
        "time_limit",
        "time_unit",
        "overlay_layer",
        "handled_by_community",
        "extra_fields",
    }
    assert problems({"code": "C01", "name": "公用设施", "department_kind": "urban"}) == set()


def test_minors_listed_under_the_wrong_major_are_refused() -> None:
    assert problems(MINOR, listed_under="C02") == {("C0101", "code")}
    assert problems({"code": "C03", "name": "市容环境"}, listed_under="C02") == {("C03", "code")}


@pytest.mark.parametrize(
    "field",
    [
        {"code": "1x", "name": "A", "datatype": "string"},
        {"code": "a", "name": "", "datatype": "string"},
        {"code": "a", "name": "A", "datatype": "date"},
        {"code": "a", "name": "A", "datatype": "string", "required": "no"},
        {"code": "a", "name": "A", "datatype": "string", "values": [{"key": "x", "name": "X"}]},
        {"code": "a", "name": "A", "datatype": "singlevaluelist"},
        {"code": "a", "name": "A", "datatype": "multivaluelist", "values": [{"key": "x"}]},
        {"code": "a", "name": "A", "datatype": "multivaluelist", "values": [{"key": 1, "name": "X"}]},
        {
            "code": "a",
            "name": "A",
            "datatype": "singlevaluelist",
            "values": [{"key": "x", "name": "X"}, {"key": "x", "name": "Y"}],
        },
        {"code": "a", "name": "A", "datatype": "text", "colour": "red"},
    ],
)
def test_bad_extra_fields(field: dict[str, Any]) -> None:
    assert problems({**MINOR, "extra_fields": [field]}) == {("C0101", "extra_fields")}


def test_extra_field_codes_are_unique_and_fields_normalised() -> None:
    twice = [
        {"code": "a", "name": "A", "datatype": "string"},
        {"code": "a", "name": "B", "datatype": "number"},
    ]
    assert problems({**MINOR, "extra_fields": twice}) == {("C0101", "extra_fields")}
    spec, _ = check_entry(
        RawEntry(
            "C0101", {**MINOR, "extra_fields": [{"code": "when", "name": "时间", "datatype": "datetime"}]}
        )
    )
    assert spec is not None
    assert spec.extra_fields == [
        {
            "code": "when",
            "name": "时间",
            "datatype": "datetime",
            "required": False,
            "description": "",
            "values": [],
        }
    ]


def test_file_shapes() -> None:
    entries, found = flatten_file({"categories": [{"code": "C01", "name": "公用设施", "minors": [MINOR]}]})
    assert [(e.label, e.listed_under) for e in entries] == [("C01", None), ("C0101", "C01")] and not found
    entries, found = flatten_file([MINOR])
    assert len(entries) == 1 and not found
    _, found = flatten_file({"format": "geojson", "version": 2, "extra": 1, "categories": []})
    assert {p.field for p in found} == {"format", "version", "extra"}
    _, found = flatten_file({"categories": {"C01": {}}})
    assert {p.field for p in found} == {"categories"}
    entries, found = flatten_file({"categories": [{"code": "C01", "name": "x", "minors": "C0101"}, 3]})
    assert [e.label for e in entries] == ["C01", "#2"] and {p.field for p in found} == {"minors"}
