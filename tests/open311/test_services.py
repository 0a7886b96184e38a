"""Discovery, the service list and service definitions, in both formats (GeoReport v2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.open311.conftest import EXTRA_FIELDS, Open311, body, error_descriptions
from zhiwang.taxonomy.models import Category

FORMATS = ["json", "xml"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_and_its_formats(open311: Open311, fmt: str) -> None:
    response = open311.get(f"discovery.{fmt}")
    assert response.status_code == 200
    data = body(response)
    if fmt == "json":
        endpoint = data["endpoints"][0]
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"] == "http://testserver/open311/v2/"
        assert endpoint["formats"] == ["text/xml", "application/json"]
        assert endpoint["changeset"].endswith("+08:00")
        assert data["key_service"]
    else:
        assert data.tag == "discovery"
        endpoint = data.find("endpoints/endpoint")
        assert endpoint is not None
        assert endpoint.findtext("url") == "http://testserver/open311/v2/"
        assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


def test_services_list_every_active_minor_category(
    open311: Open311, categories: dict[str, Category], django_assert_max_num_queries: Any
) -> None:
    categories["dirty"].is_active = False
    categories["dirty"].save()
    with django_assert_max_num_queries(2):
        response = open311.get("services.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    services = {item["service_code"]: item for item in body(response)}
    assert set(services) == {"E0101", "E0301", "E1201", "E1301"}  # no 大类, nothing inactive
    garbage = services["E0101"]
    assert garbage == {
        "service_code": "E0101",
        "service_name": "暴露垃圾",
        "description": "暴露垃圾超过1立方米",
        "metadata": True,
        "type": "realtime",
        "keywords": "垃圾,rubbish",
        "group": "市容环境",
    }
    assert services["E0301"]["metadata"] is False
    assert all(isinstance(item["service_code"], str) for item in services.values())


def test_services_in_xml(open311: Open311) -> None:
    root = body(open311.get("services.xml"))
    assert root.tag == "services"
    garbage = next(s for s in root.findall("service") if s.findtext("service_code") == "E0101")
    assert garbage.findtext("service_name") == "暴露垃圾"
    assert garbage.findtext("metadata") == "true"
    assert garbage.findtext("type") == "realtime"
    assert garbage.findtext("group") == "市容环境"
    assert garbage.findtext("keywords") == "垃圾,rubbish"


def test_service_definition_has_every_datatype(open311: Open311) -> None:
    data = body(open311.get("services/E0101.json"))
    assert data["service_code"] == "E0101"
    attributes = data["attributes"]
    assert [a["datatype"] for a in attributes] == [
        "number",
        "datetime",
        "string",
        "text",
        "singlevaluelist",
        "multivaluelist",
    ]
    assert [a["order"] for a in attributes] == [1, 2, 3, 4, 5, 6]
    assert [a["code"] for a in attributes] == [f["code"] for f in EXTRA_FIELDS]
    assert all(a["variable"] is True for a in attributes)
    area, seen_at, _owner, _details, kind, hazards = attributes
    assert area["required"] is True and area["description"] == "面积（平方米）"
    assert area["datatype_description"] == "估算"  # the field's own hint
    assert seen_at["required"] is False and seen_at["datatype_description"]  # the datatype's hint
    assert area["values"] == []
    assert kind["values"] == [
        {"key": "household", "name": "生活垃圾"},
        {"key": "building", "name": "建筑垃圾"},
    ]
    assert [v["key"] for v in hazards["values"]] == ["smell", "water", "fire"]


def test_service_definition_in_xml(open311: Open311) -> None:
    root = body(open311.get("services/E0101.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "E0101"
    attributes = root.findall("attributes/attribute")
    assert len(attributes) == 6
    kind = attributes[4]
    assert kind.findtext("variable") == "true"
    assert kind.findtext("required") == "true"
    assert kind.findtext("datatype") == "singlevaluelist"
    values = kind.findall("values/value")
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [
        ("household", "生活垃圾"),
        ("building", "建筑垃圾"),
    ]


def test_service_without_extra_fields_has_no_attributes(open311: Open311) -> None:
    assert body(open311.get("services/E0301.json")) == {"service_code": "E0301", "attributes": []}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("code", ["E9999", "E01", "nonsense"])
def test_unknown_or_major_service_is_404(open311: Open311, fmt: str, code: str) -> None:
    response = open311.get(f"services/{code}.{fmt}")
    assert response.status_code == 404
    assert error_descriptions(response) == [f"service_code {code} not found."]


def test_inactive_service_is_404(open311: Open311, categories: dict[str, Category]) -> None:
    categories["illegal"].is_active = False
    categories["illegal"].save()
    assert open311.get("services/E0301.json").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_jurisdiction_is_404_and_ours_is_accepted(open311: Open311, fmt: str) -> None:
    response = open311.get(f"services.{fmt}", jurisdiction_id="elsewhere.example")
    assert response.status_code == 404
    assert error_descriptions(response) == ["jurisdiction_id elsewhere.example not found."]
    assert open311.get(f"services.{fmt}", jurisdiction_id="zhiwang").status_code == 200


def test_unknown_resource_and_method_get_spec_errors(open311: Open311) -> None:
    response = open311.get("nothing-here.json")
    assert response.status_code == 404
    assert error_descriptions(response)
    response = open311.get("services.csv")
    assert response.status_code == 404
    assert body(response).tag == "errors"  # XML, the spec's required format
    response = open311.client.delete("/open311/v2/services.json")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert error_descriptions(response) == ["Use GET here."]
