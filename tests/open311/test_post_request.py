"""POST requests: keys, attributes, location, media, idempotency, rate and size limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.open311.conftest import Open311, body, error_descriptions
from zhiwang.cases.models import Case, CasePhoto, Channel
from zhiwang.common.origin import Origin
from zhiwang.open311 import services
from zhiwang.open311.models import RequestToken

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def only_case() -> Case:
    cases = list(Case.objects.all())
    assert len(cases) == 1
    return cases[0]


def test_a_posted_request_becomes_a_case_on_the_app_channel(open311: Open311) -> None:
    response = open311.report(
        **{
            "attribute[seen_at]": "2026-03-01T20:15:00+08:00",
            "attribute[owner]": "某物业公司",
            "attribute[details]": "堆放已有三天",
            "attribute[hazards][]": ["smell", "water"],
            "account_id": "fms-77",
            "device_id": "device-1",
            "attribute[fixmystreet_id]": "123",  # not defined by the service: ignored
        }
    )
    assert response.status_code == 201
    [item] = body(response)
    case = only_case()
    assert item["service_request_id"] == case.number
    assert isinstance(item["service_request_id"], str)
    assert item["token"] == case.open311_request.token
    assert item["account_id"] == "fms-77"
    assert item["service_notice"]
    assert case.channel == Channel.APP
    assert case.reporter is None
    assert case.reporter_name == "三 张"
    assert case.reporter_phone == "13800138000"
    assert case.category is not None and case.category.code == "E0101"
    assert case.grid is not None and case.grid.code == "441900003001001"
    assert case.description == "小区门口堆了很多垃圾"
    assert case.extra == {
        "area_m2": 12.5,
        "seen_at": "2026-03-01T20:15:00+08:00",
        "owner": "某物业公司",
        "details": "堆放已有三天",
        "kind": "household",
        "hazards": ["smell", "water"],
    }
    token = case.open311_request
    assert (token.email, token.device_id, token.account_id) == ("zhang@example.com", "device-1", "fms-77")
    assert case.events.filter(kind="report").count() == 1


def test_the_answer_in_xml(open311: Open311) -> None:
    data = {"api_key": open311.key, "service_code": "E0301", "lat": "22.95", "long": "113.62"}
    response = open311.post("requests.xml", data)
    assert response.status_code == 201
    root = body(response)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None
    assert request.findtext("service_request_id") == only_case().number
    assert request.findtext("token")
    # No description: the service's name stands in (intake needs one).
    assert only_case().description == "违法搭建"


def test_number_attribute_keeps_whole_numbers_whole(open311: Open311) -> None:
    assert open311.report(**{"attribute[area_m2]": "3"}).status_code == 201
    assert only_case().extra["area_m2"] == 3


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"attribute[area_m2]": None}, "required attribute missing: area_m2 (面积（平方米）)."),
        ({"attribute[kind]": "  "}, "required attribute missing: kind (垃圾类型)."),
        ({"attribute[area_m2]": "lots"}, "attribute area_m2 is a number."),
        ({"attribute[area_m2]": "NaN"}, "attribute area_m2 is a number."),
        ({"attribute[kind]": "toxic"}, "attribute kind: 'toxic' is not one of its values."),
        ({"attribute[kind][]": ["household", "building"]}, "attribute kind takes one value."),
        ({"attribute[hazards][]": ["smell", "lava"]}, "attribute hazards: 'lava' is not one of its values."),
        ({"attribute[seen_at]": "yesterday"}, "attribute seen_at is not a W3C datetime"),
        ({"attribute[owner]": "x" * 201}, "attribute owner has at most 200 characters."),
    ],
)
def test_attribute_problems_are_400(open311: Open311, fields: dict[str, Any], problem: str) -> None:
    response = open311.report(**fields)
    assert response.status_code == 400
    assert any(text.startswith(problem) for text in error_descriptions(response))
    assert not Case.objects.exists()


def test_every_attribute_problem_is_listed(open311: Open311) -> None:
    response = open311.report(**{"attribute[area_m2]": None, "attribute[kind]": None})
    assert response.status_code == 400
    assert len(error_descriptions(response)) == 2


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_or_bad_key_is_403(open311: Open311, fmt: str) -> None:
    for key in (None, "o311_wrong", "zw_someone-elses-token"):
        data = {"service_code": "E0301", "lat": "22.95", "long": "113.62"}
        if key:
            data["api_key"] = key
        response = open311.post(f"requests.{fmt}", data)
        assert response.status_code == 403
        assert error_descriptions(response) == ["api_key was not provided or is invalid."]
    assert not Case.objects.exists()


def test_a_revoked_key_or_inactive_application_is_403(open311: Open311) -> None:
    issued = services.key_issue_for(name="Other app", origin=Origin.cli())
    services.key_revoke(prefix=issued.key[:10], origin=Origin.cli())
    assert open311.report(api_key=issued.key).status_code == 403
    fresh = services.key_issue_for(name="Other app", origin=Origin.cli())
    fresh.application.is_active = False
    fresh.application.save()
    assert open311.report(api_key=fresh.key).status_code == 403
    assert open311.report().status_code == 201  # the first application's key still works


@pytest.mark.parametrize(
    ("fields", "status", "problem"),
    [
        ({"service_code": None}, 400, "service_code was not provided."),
        ({"service_code": "E9999"}, 404, "service_code E9999 not found."),
        ({"service_code": "E01"}, 404, "service_code E01 not found."),
        (
            {"lat": None, "long": None},
            400,
            "A location is required: lat and long, address_string or address_id.",
        ),
        ({"long": None}, 400, "lat and long are given together."),
        ({"lat": "north"}, 400, "lat is a number in decimal degrees."),
        ({"lat": "95"}, 400, "lat is between -90 and 90."),
        ({"lat": "40.0", "long": "116.4"}, 400, "The location is outside the area this city serves."),
        ({"email": "not-an-address"}, 400, "email is not an e-mail address."),
        ({"media_url": "ftp://example.com/a.jpg"}, 400, "media_url is not an http(s) URL."),
        ({"description": "x" * 4001}, 400, "description has at most 4000 characters."),
        ({"first_name": "x" * 31}, 400, "first_name has at most 30 characters."),
    ],
)
def test_bad_requests_get_spec_errors(
    open311: Open311, fields: dict[str, Any], status: int, problem: str
) -> None:
    response = open311.report(**fields)
    assert response.status_code == status
    assert error_descriptions(response) == [problem]
    assert not Case.objects.exists()


def test_location_by_address_id_is_the_grid(open311: Open311) -> None:
    response = open311.report(lat=None, long=None, address_id="441900101002002")
    assert response.status_code == 201
    case = only_case()
    assert case.grid is not None and case.grid.code == "441900101002002"
    assert case.address == "第2网格"
    assert open311.report(lat=None, long=None, address_id="000").status_code == 400


def test_location_by_address_string_is_the_deepest_named_division(open311: Open311) -> None:
    response = open311.report(lat=None, long=None, address_string="东莞市虎门镇第1社区某某路8号")
    assert response.status_code == 201
    case = only_case()
    assert case.grid is not None and case.grid.path.startswith(open311.place.city["441900101001"].path)
    assert case.address == "东莞市虎门镇第1社区某某路8号"
    response = open311.report(lat=None, long=None, address_string="北京市朝阳区")
    assert response.status_code == 400
    assert error_descriptions(response) == [
        "address_string names no town, community or grid of this city; send lat and long."
    ]


def test_an_uploaded_photo_is_stored_and_published(open311: Open311) -> None:
    response = open311.report(media=SimpleUploadedFile("p.png", PNG, content_type="image/png"))
    assert response.status_code == 201
    case = only_case()
    photo = CasePhoto.objects.get(case=case)
    assert photo.stage == CasePhoto.Stage.REPORT
    assert case.events.filter(kind="photo").get().actor_label == "FixMyStreet (Open311)"
    [item] = body(open311.get(f"requests/{case.number}.json"))
    token = case.open311_request.token
    assert item["media_url"] == f"http://testserver/open311/v2/media/{token}"
    served = open311.client.get(f"/open311/v2/media/{token}")
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PNG
    assert open311.client.get("/open311/v2/media/unknown").status_code == 404


def test_a_media_url_is_passed_on(open311: Open311) -> None:
    assert open311.report(media_url="https://img.example.com/p/1.jpg").status_code == 201
    [item] = body(open311.get(f"requests/{only_case().number}.json"))
    assert item["media_url"] == "https://img.example.com/p/1.jpg"


def test_a_photo_that_is_not_an_image_is_refused(open311: Open311) -> None:
    response = open311.report(media=SimpleUploadedFile("a.txt", b"hello", content_type="text/plain"))
    assert response.status_code == 400
    assert error_descriptions(response) == ["Send a JPEG, PNG or WebP photo."]
    assert not Case.objects.exists()


def test_a_retried_identical_post_returns_the_same_request(open311: Open311) -> None:
    first = open311.report()
    second = open311.report()
    assert (first.status_code, second.status_code) == (201, 200)
    assert body(first) == body(second)
    assert Case.objects.count() == 1
    # Another description is another request.
    assert open311.report(description="另一处垃圾").status_code == 201
    assert Case.objects.count() == 2


def test_the_same_post_after_the_window_is_a_new_request(open311: Open311) -> None:
    first = body(open311.report())[0]
    open311.place.clock.now += timedelta(minutes=11)
    second = body(open311.report())[0]
    assert first["service_request_id"] != second["service_request_id"]
    assert RequestToken.objects.count() == 2


def test_identical_posts_from_two_applications_are_two_requests(open311: Open311) -> None:
    other = services.key_issue_for(name="SeeClickFix", origin=Origin.cli())
    assert open311.report().status_code == 201
    assert open311.report(api_key=other.key).status_code == 201
    assert Case.objects.count() == 2


def test_posts_are_rate_limited_per_application(open311: Open311, settings: Any) -> None:
    settings.ZHIWANG_OPEN311_POSTS_PER_MINUTE = 2
    assert open311.report(description="一").status_code == 201
    assert open311.report(description="二").status_code == 201
    response = open311.report(description="三")
    assert response.status_code == 429
    assert error_descriptions(response) == [
        "This application may post 2 times a minute; try again in a minute."
    ]
    assert Case.objects.count() == 2
    other = services.key_issue_for(name="SeeClickFix", origin=Origin.cli())
    assert open311.report(api_key=other.key, description="四").status_code == 201


def test_an_oversized_body_is_413_before_it_is_read(open311: Open311) -> None:
    response = open311.client.post(
        "/open311/v2/requests.xml",
        data=b"api_key=x",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(20 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert error_descriptions(response) == ["A request body may be at most 11 MB."]


def test_staff_cannot_report_on_the_app_channel(open311: Open311) -> None:
    from zhiwang.cases.intake import case_report
    from zhiwang.common.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        case_report(
            actor=open311.place.worker,
            channel=Channel.APP,
            lon=113.62,
            lat=22.95,
            origin=Origin.cli(),
            description="x",
        )
