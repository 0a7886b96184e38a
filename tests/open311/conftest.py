"""The case workflow's small city, a category with every attribute datatype, a client application
with a key, and helpers that speak Open311 to the server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tests.cases.conftest import ORIGIN, POINT, Place, categories, place
from zhiwang.common.origin import Origin
from zhiwang.open311 import services
from zhiwang.taxonomy.models import Category

BASE = "/open311/v2/"
EXTRA_FIELDS: list[dict[str, Any]] = [
    {
        "code": "area_m2",
        "name": "面积（平方米）",
        "datatype": "number",
        "required": True,
        "description": "估算",
    },
    {"code": "seen_at", "name": "发现时间", "datatype": "datetime", "required": False, "description": ""},
    {"code": "owner", "name": "责任单位", "datatype": "string", "required": False, "description": ""},
    {"code": "details", "name": "详细情况", "datatype": "text", "required": False, "description": ""},
    {
        "code": "kind",
        "name": "垃圾类型",
        "datatype": "singlevaluelist",
        "required": True,
        "description": "",
        "values": [{"key": "household", "name": "生活垃圾"}, {"key": "building", "name": "建筑垃圾"}],
    },
    {
        "code": "hazards",
        "name": "伴随问题",
        "datatype": "multivaluelist",
        "required": False,
        "description": "",
        "values": [
            {"key": "smell", "name": "异味"},
            {"key": "water", "name": "污水"},
            {"key": "fire", "name": "明火"},
        ],
    },
]
VALID_ATTRIBUTES = {"attribute[area_m2]": "12.5", "attribute[kind]": "household"}


@dataclass
class Open311:
    place: Place
    key: str
    client: Client

    def get(self, path: str, **query: Any) -> Any:
        return self.client.get(BASE + path, query)

    def post(self, path: str, data: dict[str, Any], **extra: Any) -> Any:
        return self.client.post(BASE + path, data, **extra)

    def report(self, **fields: Any) -> Any:
        """POST a valid request for the garbage service at POINT, with `fields` changed."""
        data: dict[str, Any] = {
            "api_key": self.key,
            "service_code": "E0101",
            "lat": str(POINT[1]),
            "long": str(POINT[0]),
            "description": "小区门口堆了很多垃圾",
            "first_name": "三",
            "last_name": "张",
            "phone": "13800138000",
            "email": "zhang@example.com",
            **VALID_ATTRIBUTES,
        }
        data.update(fields)
        return self.post("requests.json", {k: v for k, v in data.items() if v is not None})


def body(response: Any) -> Any:
    """A response's document: JSON values, or the XML root element."""
    if response["Content-Type"].startswith("application/json"):
        return json.loads(response.content.decode("utf-8"))
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(response.content)  # noqa: S314  (our own server's answer)


def error_descriptions(response: Any) -> list[str]:
    data = body(response)
    if isinstance(data, list):
        assert all(item["code"] == response.status_code for item in data)
        return [item["description"] for item in data]
    assert data.tag == "errors"
    assert all(error.findtext("code") == str(response.status_code) for error in data)
    return [error.findtext("description") or "" for error in data]


@pytest.fixture
def open311(place: Place, categories: dict[str, Category]) -> Open311:
    cache.clear()
    garbage = categories["garbage"]
    garbage.extra_fields = EXTRA_FIELDS
    garbage.keywords = ["垃圾", "rubbish"]
    garbage.filing_criteria = "暴露垃圾超过1立方米"
    garbage.save()
    # Reports happen "yesterday", inside the spec's default 90-day window.
    place.clock.now = timezone.now().replace(microsecond=0) - timedelta(days=1)
    issued = services.key_issue_for(name="FixMyStreet", origin=Origin.cli())
    # English answers, whatever language an earlier test left active.
    return Open311(place=place, key=issued.key, client=Client(HTTP_ACCEPT_LANGUAGE="en"))


__all__ = ["BASE", "ORIGIN", "POINT", "Open311", "body", "categories", "error_descriptions", "place"]
