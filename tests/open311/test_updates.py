"""The servicerequestupdates extension: public timeline steps as updates; updates from the client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.open311.conftest import ORIGIN, Open311, body, error_descriptions
from zhiwang.cases import services as case_services
from zhiwang.cases.models import Case, CasePhoto
from zhiwang.common.origin import Origin
from zhiwang.notifications.models import OutboxMessage
from zhiwang.open311 import services
from zhiwang.open311.services import UPDATE_KIND

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32


def posted(open311: Open311, **fields: Any) -> Case:
    response = open311.report(**fields)
    assert response.status_code == 201
    return Case.objects.get(number=body(response)[0]["service_request_id"])


def walk_to_dispatch(open311: Open311, case: Case) -> None:
    dispatcher = open311.place.dispatcher
    open311.place.clock.now += timedelta(minutes=5)
    case_services.case_accept(
        actor=dispatcher, case_id=case.pk, origin=ORIGIN, note="内部备注：已电话联系张三"
    )
    open311.place.clock.now += timedelta(minutes=5)
    case_services.case_supervise(actor=open311.place.town, case_id=case.pk, origin=ORIGIN, note="督办")
    open311.place.clock.now += timedelta(minutes=5)
    case_services.case_dispatch(actor=dispatcher, case_id=case.pk, origin=ORIGIN)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_public_steps_are_updates_in_public_words(open311: Open311, fmt: str) -> None:
    case = posted(open311)
    walk_to_dispatch(open311, case)
    response = open311.get(f"servicerequestupdates.{fmt}")
    assert response.status_code == 200
    data = body(response)
    if fmt == "json":
        assert [u["description"] for u in data] == [
            "Problem reported",
            "Accepted for handling",
            "Sent to the handling unit",
        ]  # supervision is internal
        assert {u["service_request_id"] for u in data} == {case.number}
        assert all(isinstance(u["update_id"], str) and u["status"] == "open" for u in data)
        assert all(u["updated_datetime"].endswith("+08:00") for u in data)
    else:
        assert data.tag == "service_request_updates"
        updates = data.findall("request_update")
        assert [u.findtext("description") for u in updates][1] == "Accepted for handling"
        assert updates[0].findtext("service_request_id") == case.number
    assert "张三" not in response.content.decode()  # staff notes never leave


def test_updates_of_a_closed_request_say_closed(open311: Open311) -> None:
    case = posted(open311)
    case_services.case_reject(actor=open311.place.dispatcher, case_id=case.pk, reason="重复", origin=ORIGIN)
    data = body(open311.get("servicerequestupdates.json", service_request_id=case.number))
    assert [(u["description"], u["status"]) for u in data] == [
        ("Problem reported", "open"),
        ("Not accepted for handling", "closed"),
    ]


def test_updates_follow_the_window(open311: Open311) -> None:
    case = posted(open311)
    start = open311.place.clock.now + timedelta(minutes=1)
    walk_to_dispatch(open311, case)
    data = body(open311.get("servicerequestupdates.json", start_date=start.isoformat()))
    assert [u["description"] for u in data] == ["Accepted for handling", "Sent to the handling unit"]
    response = open311.get("servicerequestupdates.json", start_date="2020-01-01T00:00:00Z")
    assert response.status_code == 200 and body(response) == []
    assert open311.get("servicerequestupdates.xml", end_date="soon").status_code == 400


def test_a_client_posts_a_comment_to_its_request(open311: Open311) -> None:
    case = posted(open311)
    data = {"api_key": open311.key, "service_request_id": case.number, "description": "垃圾越来越多了"}
    response = open311.post("servicerequestupdates.json", {**data, "status": "OPEN", "update_id": "fms-9"})
    assert response.status_code == 201
    [answer] = body(response)
    event = case.events.get(kind=UPDATE_KIND)
    assert answer == {"update_id": str(event.pk)}
    assert event.note == "垃圾越来越多了"
    assert event.actor_label == "FixMyStreet (Open311)"
    assert event.data["status"] == "open" and event.data["update_id"] == "fms-9"
    assert case.events.get(kind=UPDATE_KIND).to_status == Case.objects.get(pk=case.pk).status  # unchanged
    assert OutboxMessage.objects.filter(recipient=open311.place.dispatcher).exists()  # told
    # A retry is the same update; the comment is not echoed back as a public update.
    again = open311.post("servicerequestupdates.json", {**data, "status": "OPEN", "update_id": "fms-9"})
    assert again.status_code == 200 and body(again) == [answer]
    assert case.events.filter(kind=UPDATE_KIND).count() == 1
    listed = body(open311.get("servicerequestupdates.json"))
    assert all(u["update_id"] != answer["update_id"] for u in listed)


def test_a_client_posts_a_photo_in_xml(open311: Open311) -> None:
    case = posted(open311)
    response = open311.post(
        "servicerequestupdates.xml",
        {
            "api_key": open311.key,
            "service_request_id": case.number,
            "media": SimpleUploadedFile("p.png", PNG),
        },
    )
    assert response.status_code == 201
    assert body(response).findtext("request_update/update_id")
    assert CasePhoto.objects.filter(case=case, stage=CasePhoto.Stage.REPORT).count() == 1


@pytest.mark.parametrize(
    ("fields", "status", "problem"),
    [
        ({"service_request_id": None}, 400, "service_request_id was not provided."),
        ({"service_request_id": "000"}, 404, "service_request_id 000 not found."),
        ({"description": None}, 400, "An update needs a description or media."),
        ({"status": "fixed"}, 400, "status is open or closed."),
        ({"api_key": None}, 403, "api_key was not provided or is invalid."),
    ],
)
def test_bad_updates_get_spec_errors(
    open311: Open311, fields: dict[str, Any], status: int, problem: str
) -> None:
    case = posted(open311)
    data = {"api_key": open311.key, "service_request_id": case.number, "description": "补充", **fields}
    response = open311.post("servicerequestupdates.json", {k: v for k, v in data.items() if v is not None})
    assert response.status_code == status
    assert error_descriptions(response) == [problem]
    assert not case.events.filter(kind=UPDATE_KIND).exists()


def test_only_the_posting_application_updates_a_request(open311: Open311) -> None:
    case = posted(open311)
    other = services.key_issue_for(name="SeeClickFix", origin=Origin.cli())
    data = {"api_key": other.key, "service_request_id": case.number, "description": "我也看到了"}
    response = open311.post("servicerequestupdates.json", data)
    assert response.status_code == 403
    assert error_descriptions(response) == [
        "Only the application that posted a request may post updates to it."
    ]
