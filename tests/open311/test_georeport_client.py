"""The `georeport` client from PyPI, as a third-party app would use it, against a running server."""

from __future__ import annotations

from typing import Any

import pytest
from georeport import GeoReport

from tests.open311.conftest import ORIGIN, Open311, body
from zhiwang.cases.models import Case
from zhiwang.cases.services import case_reject

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_georeport_lists_services_and_reads_requests(
    open311: Open311, live_server: Any, output_format: str
) -> None:
    first = body(open311.report())[0]["service_request_id"]
    second = body(open311.report(description="又一处垃圾"))[0]["service_request_id"]
    client = GeoReport(f"{live_server.url}/open311/v2/", output_format=output_format)

    services = client.get_service_list()
    by_code = {service["service_code"]: service for service in services}
    assert by_code["E0101"]["service_name"] == "暴露垃圾"
    assert by_code["E0101"]["group"] == "市容环境"

    definition = client.get_service_definition("E0101")
    attributes = definition["attributes"]
    if output_format == "xml":
        attributes = attributes["attribute"]
    assert [a["code"] for a in attributes][:2] == ["area_m2", "seen_at"]

    case_reject(
        actor=open311.place.dispatcher,
        case_id=Case.objects.get(number=second).pk,
        reason="重复",
        origin=ORIGIN,
    )
    requests = client.get_service_requests(service_code="E0101")
    assert sorted(r["service_request_id"] for r in requests) == sorted([first, second])
    # xmltodict reads a single <request> as one mapping rather than a list of one.
    closed = client.get_service_requests(status="closed")
    closed = closed if isinstance(closed, list) else [closed]
    assert [(r["service_request_id"], r["status"]) for r in closed] == [(second, "closed")]
    both = client.get_service_requests(service_request_id=f"{first},{second}", status="open")
    assert len(both) == 2  # the ids override the status filter

    one = client.get_service_request(first)
    assert one["service_request_id"] == first
    assert one["status"] == "open"
    assert one["service_name"] == "暴露垃圾"
    assert "13800138000" not in str(one)
