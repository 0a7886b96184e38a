"""The requests the app's scripts make, as the app makes them: session cookie plus the CSRF token
from the cookie the shell sets, an idempotency key per report, photos as a second step."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.field.world import CATEGORY, POINT, Crew, handled_case, revisit_case
from zhiwang.accounts.middleware import SESSION_KEY
from zhiwang.accounts.models import User
from zhiwang.cases.models import Case, CasePhoto

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def app_client(user: User) -> Client:
    """A browser session that has opened the shell: it holds the session and the CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = True
    session.save()
    assert client.get("/field/").status_code == 200
    return client


def token(client: Client) -> str:
    return client.cookies["csrftoken"].value


def post_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=token(client))


def report_body(key: str, **fields: Any) -> dict[str, Any]:
    body = {
        "channel": "grid_worker",
        "description": "人行道上堆放建筑垃圾",
        "category": CATEGORY,
        "urgency": "normal",
        "address": "东城中路 12 号",
        "lon": POINT[0],
        "lat": POINT[1],
        "system": "wgs84",
        "self_handled": False,
        "idempotency_key": key,
    }
    body.update(fields)
    return body


def photo(client: Client, case_id: int, stage: str) -> Any:
    upload = SimpleUploadedFile(f"{stage}.jpg", JPEG, content_type="image/jpeg")
    return client.post(
        f"/api/v1/cases/{case_id}/photos", {"stage": stage, "file": upload}, HTTP_X_CSRFTOKEN=token(client)
    )


def test_a_report_without_the_csrf_token_is_refused_and_makes_nothing(crew: Crew) -> None:
    client = app_client(crew.worker)
    answer = client.post(
        "/api/v1/cases", json.dumps(report_body(str(uuid.uuid4()))), content_type="application/json"
    )
    assert answer.status_code == 403
    assert not Case.objects.exists()


def test_a_replayed_report_returns_the_first_case_and_makes_no_second(crew: Crew) -> None:
    client = app_client(crew.worker)
    key = str(uuid.uuid4())
    first = post_json(client, "/api/v1/cases", report_body(key))
    again = post_json(client, "/api/v1/cases", report_body(key))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["number"] == again.json()["number"]
    assert Case.objects.filter(description="人行道上堆放建筑垃圾").count() == 1
    case = Case.objects.get()
    assert (case.idempotency_key, case.source_system, case.grid.code if case.grid else None) == (
        key,
        "wgs84",
        "441900003001001",
    )


def test_the_photo_step_shows_on_the_case_so_a_retry_can_skip_it(crew: Crew) -> None:
    client = app_client(crew.worker)
    case_id = post_json(client, "/api/v1/cases", report_body(str(uuid.uuid4()))).json()["id"]
    assert photo(client, case_id, "report").status_code == 201
    detail = client.get(f"/api/v1/cases/{case_id}").json()
    assert [p["stage"] for p in detail["photos"]] == ["report"]


def test_a_report_solved_on_the_spot_closes_and_takes_before_and_after_photos(crew: Crew) -> None:
    client = app_client(crew.worker)
    answer = post_json(client, "/api/v1/cases", report_body(str(uuid.uuid4()), self_handled=True))
    assert answer.status_code == 201
    assert (answer.json()["status"], answer.json()["self_handled"]) == ("closed", True)
    case_id = answer.json()["id"]
    assert photo(client, case_id, "before").status_code == 201
    assert photo(client, case_id, "after").status_code == 201
    assert sorted(CasePhoto.objects.filter(case_id=case_id).values_list("stage", flat=True)) == [
        "after",
        "before",
    ]


def test_a_bad_report_gets_a_coded_refusal_the_app_can_word(crew: Crew) -> None:
    client = app_client(crew.worker)
    answer = post_json(client, "/api/v1/cases", report_body(str(uuid.uuid4()), category="E01"))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_category"
    assert not Case.objects.exists()


def test_the_task_lists_read_in_a_fixed_number_of_queries(
    crew: Crew, django_assert_max_num_queries: Any
) -> None:
    client = app_client(crew.worker)

    def read() -> list[int]:
        answer = client.get("/api/v1/cases?queue=to_verify&limit=100")
        assert answer.status_code == 200
        return [item["id"] for item in answer.json()["items"]]

    handled_case(crew, "第一处")
    with django_assert_max_num_queries(8) as few:
        assert len(read()) == 1
    for n in range(5):
        handled_case(crew, f"第{n + 2}处")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(read()) == 6


def test_the_worker_verifies_and_the_case_moves_to_the_follow_up_visit(crew: Crew) -> None:
    client = app_client(crew.worker)
    case = handled_case(crew, "井盖缺失")
    assert "verify" in client.get(f"/api/v1/cases/{case.pk}").json()["actions"]
    assert photo(client, case.pk, "verify").status_code == 201
    answer = post_json(client, f"/api/v1/cases/{case.pk}/verify", {"passed": True, "note": ""})
    assert answer.status_code == 200
    assert answer.json()["status"] == "revisit"
    assert [c["id"] for c in client.get("/api/v1/cases?queue=to_revisit").json()["items"]] == [case.pk]


def test_the_follow_up_visit_is_not_the_workers_to_record(crew: Crew) -> None:
    # The app shows the rating form only when the case's actions allow it.
    client = app_client(crew.worker)
    case = revisit_case(crew, "路灯不亮")
    assert "revisit" not in client.get(f"/api/v1/cases/{case.pk}").json()["actions"]
    answer = post_json(client, f"/api/v1/cases/{case.pk}/revisit", {"rating": 5, "comment": ""})
    assert answer.status_code == 403
    assert Case.objects.get(pk=case.pk).status == "revisit"
