"""Following a report and rating its outcome: the code and phone open one case's public side."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils.translation import gettext

from tests.cases.conftest import ORIGIN, POINT, Place
from tests.portal.conftest import PHONE
from zhiwang.audit.models import AuditEntry
from zhiwang.cases import intake, resident, services
from zhiwang.cases.models import Case, Status
from zhiwang.common.errors import Conflict, NotFound
from zhiwang.notifications.models import OutboxMessage
from zhiwang.portal import selectors
from zhiwang.portal.wording import STATUS_WORDS, STEP_WORDS

NOT_FOUND = "No case matches this tracking code and phone number."


def resident_case(place: Place, phone: str = PHONE, **fields: Any) -> Case:
    reported = resident.case_report_by_resident(
        lon=POINT[0],
        lat=POINT[1],
        description=fields.pop("description", "小区门口的路灯不亮了"),
        phone=phone,
        name=fields.pop("name", "陈阿姨"),
        category_code="E0101",
        idempotency_key=fields.pop("key", f"resident-test-{phone}"),
        origin=ORIGIN,
        **fields,
    )
    return reported.case


def to_revisit(place: Place, case: Case) -> Case:
    """Accepted, dispatched, signed, handled and verified by the staff."""
    services.case_accept(actor=place.dispatcher, case_id=case.pk, note="内部：已电话核实", origin=ORIGIN)
    services.case_dispatch(actor=place.dispatcher, case_id=case.pk, note="请尽快处理", origin=ORIGIN)
    services.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)
    services.case_supervise(actor=place.town, case_id=case.pk, note="内部督办：今天办完", origin=ORIGIN)
    services.case_handle(actor=place.handler, case_id=case.pk, result="已更换灯泡，恢复照明", origin=ORIGIN)
    return services.case_verify(
        actor=place.worker, case_id=case.pk, passed=True, note="现场确认", origin=ORIGIN
    )


def track(client: Client, code: str, phone: str) -> Any:
    return client.post("/resident/track/", {"code": code, "phone": phone})


def test_the_code_and_the_last_four_digits_open_the_progress(place: Place) -> None:
    case = resident_case(place)
    client = Client()
    response = track(client, case.tracking_code.lower(), "5678")
    assert response.status_code == 302 and response["Location"] == f"/resident/track/{case.tracking_code}/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    assert f'<h1 class="status status-reported" id="status">{STATUS_WORDS[Status.REPORTED]}</h1>' in html
    assert str(STEP_WORDS["report"]) in html and "小区门口的路灯不亮了" in html
    # The whole number works too, with spaces or the country code.
    assert track(Client(), case.tracking_code, "+86 138 1234 5678").status_code == 302


def test_a_wrong_phone_answers_exactly_like_an_unknown_code(place: Place) -> None:
    case = resident_case(place)
    wrong_phone = track(Client(), case.tracking_code, "0000")
    unknown_code = track(Client(), "ZZZZZZZZZZ", "5678")
    assert wrong_phone.status_code == unknown_code.status_code == 404
    for response in (wrong_phone, unknown_code):
        assert gettext(NOT_FOUND) in response.content.decode()
        assert case.description not in response.content.decode()
    # Neither opened the case for that browser.
    assert Client().get(f"/resident/track/{case.tracking_code}/")["Location"] == (
        f"/resident/track/?code={case.tracking_code}"
    )


def test_lookups_are_limited_right_or_wrong(place: Place, settings: Any) -> None:
    settings.ZHIWANG_PORTAL_LOOKUPS_PER_WINDOW = 3
    case = resident_case(place)
    client = Client()
    assert track(client, case.tracking_code, "0000").status_code == 404
    assert track(client, case.tracking_code, "1111").status_code == 404
    assert track(client, case.tracking_code, "5678").status_code == 302
    limited = track(client, case.tracking_code, "5678")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    # The page already opened stays readable: only lookups count.
    assert client.get(f"/resident/track/{case.tracking_code}/").status_code == 200


def test_track_form_errors_are_shown_beside_the_fields(place: Place) -> None:
    response = track(Client(), "", "12")
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_code-error"' in html and 'id="id_phone-error"' in html and 'value="12"' in html


def test_the_public_timeline_names_no_staff_and_no_one_else(place: Place) -> None:
    case = resident_case(place)
    other = resident_case(place, phone="13900001111", name="赵先生", description="路灯坏了（同一处）")
    services.case_merge(actor=place.dispatcher, case_id=other.pk, into_id=case.pk, origin=ORIGIN)
    to_revisit(place, case)
    client = Client()
    assert track(client, case.tracking_code, "5678").status_code == 302
    html = client.get(f"/resident/track/{case.tracking_code}/").content.decode()
    # The public side: the status, the steps, the handling unit and what it did.
    assert str(STATUS_WORDS[Status.REVISIT]) in html
    for kind in ("report", "accept", "dispatch", "sign", "handle", "verify_pass"):
        assert f'class="step step-{kind}"' in html, kind
    assert "东城综合执法队" in html and "已更换灯泡，恢复照明" in html
    assert 'action="/resident/track/' in html and 'name="rating"' in html
    # Nothing inside: no staff, no internal notes, no supervision, no other reporter.
    for secret in (
        *(u.username for u in (place.dispatcher, place.handler, place.worker, place.town)),
        "内部：已电话核实",
        "请尽快处理",
        "内部督办",
        "现场确认",
        "赵先生",
        "13900001111",
        "1111",
        other.tracking_code,
        "路灯坏了（同一处）",
        "陈阿姨",
        PHONE,
    ):
        assert secret not in html, secret
    assert 'class="step step-supervise"' not in html and 'class="step step-absorb"' not in html
    # The merged report's own page says where it went, and shows nothing of the other case.
    client_other = Client()
    assert track(client_other, other.tracking_code, "1111").status_code == 302
    merged_page = client_other.get(f"/resident/track/{other.tracking_code}/").content.decode()
    assert (
        str(STATUS_WORDS[Status.MERGED]) in merged_page and str(STATUS_WORDS[Status.REVISIT]) in merged_page
    )
    assert case.tracking_code not in merged_page and "小区门口的路灯不亮了" not in merged_page


def test_the_track_page_reads_a_fixed_number_of_queries(
    place: Place, django_assert_max_num_queries: Any
) -> None:
    case = to_revisit(place, resident_case(place))
    for n in range(5):  # a long timeline costs no more queries
        services.case_supervise(actor=place.town, case_id=case.pk, note=f"第{n}次督办", origin=ORIGIN)
    client = Client()
    assert track(client, case.tracking_code, "5678").status_code == 302
    with django_assert_max_num_queries(3):  # the cookie's stored pairs, the case, its timeline
        response = client.get(f"/resident/track/{case.tracking_code}/")
    assert response.status_code == 200


def test_a_satisfied_rating_closes_the_case(place: Place) -> None:
    case = to_revisit(place, resident_case(place))
    client = Client()
    track(client, case.tracking_code, "5678")
    response = client.post(
        f"/resident/track/{case.tracking_code}/rate/", {"rating": "4", "comment": "很及时"}
    )
    assert response.status_code == 302 and response["Location"] == f"/resident/track/{case.tracking_code}/"
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.rating == 4 and case.rating_comment == "很及时"
    assert case.closed_at == place.clock.now
    event = case.events.order_by("-at", "-id").first()
    assert event is not None and event.kind == "close" and event.actor is None
    assert event.actor_label == resident.REPORTER_LABEL and event.data == {"rating": 4, "by": "reporter"}
    audit = AuditEntry.objects.get(action="case.close", object_id=str(case.pk))
    assert audit.actor is None and audit.details == {"rating": 4, "by": "reporter"}
    assert OutboxMessage.objects.filter(recipient=place.dispatcher, subject="居民已评价").exists()
    page = client.get(response["Location"]).content.decode()
    assert gettext("Thank you for your rating.") in page and str(STATUS_WORDS[Status.CLOSED]) in page
    assert 'name="rating"' not in page  # rated once; nothing more to rate


def test_a_dissatisfied_rating_reopens_the_case_for_the_same_handler(place: Place) -> None:
    case = to_revisit(place, resident_case(place))
    client = Client()
    track(client, case.tracking_code, "5678")
    client.post(f"/resident/track/{case.tracking_code}/rate/", {"rating": "2", "comment": "晚上还是很暗"})
    case.refresh_from_db()
    assert case.status == Status.SIGNED and case.rework_count == 1 and case.rating == 2
    assert case.handled_at is None and case.verified_at is None and case.department == place.urban
    assert case.events.order_by("-at", "-id").values_list("kind", flat=True)[0] == "reopen"
    assert OutboxMessage.objects.filter(recipient=place.handler, subject="案件重办").exists()
    assert str(STEP_WORDS["reopen"]) in client.get(f"/resident/track/{case.tracking_code}/").content.decode()


def test_a_rating_outside_the_follow_up_changes_nothing(place: Place) -> None:
    case = resident_case(place)
    client = Client()
    track(client, case.tracking_code, "5678")
    response = client.post(f"/resident/track/{case.tracking_code}/rate/", {"rating": "5"})
    assert response.status_code == 302
    assert gettext("This case cannot be rated now.") in client.get(response["Location"]).content.decode()
    case.refresh_from_db()
    assert case.status == Status.REPORTED and case.rating is None
    # Without a lookup first, the rating form is not even reached.
    stranger = Client().post(f"/resident/track/{case.tracking_code}/rate/", {"rating": "5"})
    assert stranger.status_code == 302 and stranger["Location"].startswith("/resident/track/?code=")


def test_a_bad_rating_is_explained_beside_the_stars(place: Place) -> None:
    case = to_revisit(place, resident_case(place))
    client = Client()
    track(client, case.tracking_code, "5678")
    response = client.post(f"/resident/track/{case.tracking_code}/rate/", {"rating": "9", "comment": "好"})
    assert response.status_code == 400 and 'id="id_rating-error"' in response.content.decode()
    assert "\n好</textarea>" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.REVISIT


def test_the_rating_service_checks_the_code_and_phone_pair(place: Place) -> None:
    case = to_revisit(place, resident_case(place))
    for code, phone in ((case.tracking_code, "0000"), ("ZZZZZZZZZZ", "5678"), ("", "5678")):
        with pytest.raises(NotFound):
            resident.case_rate_by_reporter(tracking_code=code, phone=phone, rating=5, origin=ORIGIN)
    case.refresh_from_db()
    assert case.status == Status.REVISIT and case.rating is None
    closed = resident.case_rate_by_reporter(
        tracking_code=case.tracking_code, phone=PHONE, rating=3, origin=ORIGIN
    )
    assert closed.status == Status.CLOSED
    with pytest.raises(Conflict):  # of two ratings, the first wins
        resident.case_rate_by_reporter(
            tracking_code=case.tracking_code, phone="5678", rating=1, origin=ORIGIN
        )


def test_a_staff_reported_case_cannot_be_opened_by_phone(place: Place) -> None:
    staff_case = intake.case_report(
        actor=place.worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description="井盖缺失",
        origin=ORIGIN,
    ).case
    with pytest.raises(NotFound):
        selectors.tracked_case(tracking_code=staff_case.tracking_code, phone="0000")
    assert track(Client(), staff_case.tracking_code, "0000").status_code == 404
