"""GET requests (every filter, pages), one request, tokens: the public side of cases only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.open311.conftest import ORIGIN, Open311, body, error_descriptions
from zhiwang.cases import services as case_services
from zhiwang.cases.intake import case_report
from zhiwang.cases.models import Case, Channel
from zhiwang.open311.models import RequestToken

FORMATS = ["json", "xml"]


def posted(open311: Open311, **fields: Any) -> Case:
    response = open311.report(**fields)
    assert response.status_code == 201
    return Case.objects.get(number=body(response)[0]["service_request_id"])


def staff_case(open311: Open311, category: str = "E0301") -> Case:
    return case_report(
        actor=open311.place.worker,
        channel=Channel.GRID_WORKER,
        lon=113.62,
        lat=22.95,
        origin=ORIGIN,
        description="租户李四（13900000000）在楼道搭建",
        category_code=category,
        reporter_name="李四",
        reporter_phone="13900000000",
    ).case


def numbers(response: Any) -> list[str]:
    data = body(response)
    if isinstance(data, list):
        return [item["service_request_id"] for item in data]
    return [request.findtext("service_request_id") or "" for request in data.findall("request")]


def at(open311: Open311, days_ago: float) -> datetime:
    open311.place.clock.now = datetime.now().astimezone().replace(microsecond=0) - timedelta(days=days_ago)
    return open311.place.clock.now


def test_requests_carry_every_field_and_nothing_personal(open311: Open311) -> None:
    case = posted(open311)
    other = staff_case(open311)
    response = open311.get("requests.json")
    assert response.status_code == 200
    items = {item["service_request_id"]: item for item in body(response)}
    item = items[case.number]
    assert set(item) == {
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    }
    assert item["status"] == "open"
    assert item["service_code"] == "E0101" and item["service_name"] == "暴露垃圾"
    assert item["description"] == "小区门口堆了很多垃圾"
    assert item["requested_datetime"].endswith("+08:00")
    assert datetime.fromisoformat(item["requested_datetime"]) == case.reported_at
    assert item["address_id"] == "441900003001001"
    assert (item["lat"], item["long"]) == (22.95, 113.62)
    assert item["expected_datetime"] is None  # no deadline before dispatch
    # A staff case's description is a staff note: not published.
    assert items[other.number]["description"] == ""
    text = response.content.decode("utf-8")
    for personal in ("张", "13800138000", "zhang@example.com", "李四", "13900000000"):
        assert personal not in text


def test_requests_in_xml_are_utf8_and_complete(open311: Open311) -> None:
    case = posted(open311)
    response = open311.get("requests.xml")
    root = body(response)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None
    assert request.findtext("service_request_id") == case.number
    assert request.findtext("service_name") == "暴露垃圾"
    assert request.findtext("status") == "open"
    assert request.findtext("lat") == "22.95"
    assert request.find("zipcode") is not None and request.findtext("zipcode") == ""  # empty element
    assert "暴露垃圾".encode() in response.content


def test_the_deadline_is_the_expected_datetime(open311: Open311) -> None:
    case = posted(open311)
    case_services.case_accept(actor=open311.place.dispatcher, case_id=case.pk, origin=ORIGIN)
    case = case_services.case_dispatch(actor=open311.place.dispatcher, case_id=case.pk, origin=ORIGIN)
    [item] = body(open311.get(f"requests/{case.number}.json"))
    assert case.due_at is not None
    assert datetime.fromisoformat(item["expected_datetime"]) == case.due_at.replace(microsecond=0)
    assert item["agency_responsible"] == "东城综合执法队"
    assert item["status_notes"] == "Sent to the handling unit"


@pytest.mark.parametrize("fmt", FORMATS)
def test_status_maps_onto_open_and_closed(open311: Open311, fmt: str) -> None:
    dispatcher = open311.place.dispatcher
    kept = posted(open311, description="一")
    rejected = posted(open311, description="二")
    merged = posted(open311, description="三")
    case_services.case_reject(actor=dispatcher, case_id=rejected.pk, reason="不属实", origin=ORIGIN)
    case_services.case_merge(actor=dispatcher, case_id=merged.pk, into_id=kept.pk, origin=ORIGIN)
    Case.objects.filter(pk=kept.pk).update(status="closed")
    closed = numbers(open311.get(f"requests.{fmt}", status="closed"))
    assert sorted(closed) == sorted([kept.number, rejected.number, merged.number])
    assert numbers(open311.get(f"requests.{fmt}", status="open")) == []
    items = {item["service_request_id"]: item for item in body(open311.get("requests.json"))}
    assert items[kept.number]["status_notes"] == "Closed: the problem is solved"
    assert items[rejected.number]["status_notes"] == "Closed: not accepted for handling"
    assert items[merged.number]["status_notes"] == (
        f"Closed: merged with request {kept.number} about the same problem"
    )
    assert "不属实" not in open311.get("requests.json").content.decode()


def test_status_filter_takes_a_comma_list_and_refuses_others(open311: Open311) -> None:
    case = posted(open311)
    assert numbers(open311.get("requests.json", status="open,closed")) == [case.number]
    response = open311.get("requests.json", status="open,pending")
    assert response.status_code == 400
    assert error_descriptions(response) == ["status is open or closed, not 'pending'."]


def test_service_request_ids_override_every_other_filter(open311: Open311) -> None:
    old = posted(open311, description="旧")
    at(open311, 200)
    older = posted(open311, description="更旧")
    at(open311, 1)
    posted(open311, description="新")
    response = open311.get(
        "requests.json",
        service_request_id=f"{old.number}, {older.number}",
        status="closed",
        service_code="E1301",
    )
    assert sorted(numbers(response)) == sorted([old.number, older.number])
    assert numbers(open311.get("requests.json", service_request_id="1,2")) == []


def test_service_code_filter_takes_a_comma_list(open311: Open311) -> None:
    garbage = posted(open311)
    illegal = staff_case(open311, "E0301")
    fire = staff_case(open311, "E1201")
    assert numbers(open311.get("requests.json", service_code="E0101")) == [garbage.number]
    assert sorted(numbers(open311.get("requests.xml", service_code="E0101,E1201"))) == sorted(
        [garbage.number, fire.number]
    )
    assert illegal.number in numbers(open311.get("requests.json"))


def test_the_default_window_is_the_last_90_days(open311: Open311) -> None:
    at(open311, 100)
    old = posted(open311, description="旧")
    at(open311, 80)
    recent = posted(open311, description="近")
    assert numbers(open311.get("requests.json")) == [recent.number]
    start = (old.reported_at - timedelta(days=1)).isoformat()
    assert numbers(open311.get("requests.json", start_date=start)) == [recent.number, old.number]
    end = (old.reported_at + timedelta(hours=1)).isoformat()
    assert numbers(open311.get("requests.json", end_date=end)) == [old.number]


def test_start_and_end_dates_bound_the_search(open311: Open311) -> None:
    reported = at(open311, 5)
    case = posted(open311)
    before = (reported - timedelta(hours=1)).isoformat()
    after = (reported + timedelta(hours=1)).isoformat()
    assert numbers(open311.get("requests.json", start_date=before, end_date=after)) == [case.number]
    assert numbers(open311.get("requests.json", start_date=after)) == []
    assert numbers(open311.get("requests.json", end_date=before)) == []
    zulu = (reported - timedelta(minutes=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert numbers(open311.get("requests.json", start_date=zulu)) == [case.number]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            "may not span more than 90 days",
        ),
        (
            {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
            "start_date is after end_date.",
        ),
        ({"start_date": "last week"}, "start_date is not a W3C datetime"),
        ({"page": "0"}, "page is a whole number from 1."),
        ({"page_size": "many"}, "page_size is a whole number from 1."),
        ({"page_size": "1001"}, "page_size is at most 1000."),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_search_parameters_are_400(
    open311: Open311, fmt: str, query: dict[str, str], problem: str
) -> None:
    response = open311.get(f"requests.{fmt}", **query)
    assert response.status_code == 400
    [description] = error_descriptions(response)
    assert problem in description


def test_pages(open311: Open311) -> None:
    cases = []
    for n in range(5):
        open311.place.clock.now += timedelta(minutes=1)
        cases.append(posted(open311, description=f"第{n}处"))
    newest_first = [c.number for c in reversed(cases)]
    assert numbers(open311.get("requests.json", page_size="2")) == newest_first[:2]
    assert numbers(open311.get("requests.json", page_size="2", page="2")) == newest_first[2:4]
    assert numbers(open311.get("requests.xml", page_size="2", page="3")) == newest_first[4:]
    assert numbers(open311.get("requests.json", page_size="2", page="4")) == []


def test_the_list_costs_the_same_queries_for_many_requests(
    open311: Open311, django_assert_max_num_queries: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    for n in range(6):
        posted(open311, description=f"第{n}处", media=SimpleUploadedFile("p.png", png + bytes([n])))
        staff_case(open311)
    for fmt in FORMATS:
        with django_assert_max_num_queries(1):
            response = open311.get(f"requests.{fmt}")
        assert len(numbers(response)) == 12
    with django_assert_max_num_queries(1):
        assert len(numbers(open311.get("servicerequestupdates.json"))) >= 12


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_request(open311: Open311, fmt: str) -> None:
    case = posted(open311)
    response = open311.get(f"requests/{case.number}.{fmt}")
    assert response.status_code == 200
    assert numbers(response) == [case.number]
    missing = open311.get(f"requests/99999999.{fmt}")
    assert missing.status_code == 404
    assert error_descriptions(missing) == ["service_request_id 99999999 not found."]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_resolves_to_its_request(open311: Open311, fmt: str) -> None:
    [item] = body(open311.report())
    response = open311.get(f"tokens/{item['token']}.{fmt}")
    assert response.status_code == 200
    data = body(response)
    if fmt == "json":
        assert data == [{"service_request_id": item["service_request_id"], "token": item["token"]}]
    else:
        assert data.findtext("request/service_request_id") == item["service_request_id"]
        assert data.findtext("request/token") == item["token"]
    missing = open311.get(f"tokens/nope.{fmt}")
    assert missing.status_code == 404
    assert error_descriptions(missing) == ["token nope not found."]


def test_a_token_whose_case_has_no_number_yet(open311: Open311) -> None:
    [item] = body(open311.report())
    Case.objects.filter(number=item["service_request_id"]).update(number=None)
    assert body(open311.get(f"tokens/{item['token']}.json")) == [
        {"service_request_id": None, "token": item["token"]}
    ]
    assert body(open311.get("requests.json")) == []  # without a number it is not listed yet
    assert RequestToken.objects.count() == 1
