"""Reporting a problem on the portal: one case per form, bad input explained, machines kept out."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.translation import gettext

from tests.cases.conftest import Place
from tests.portal.conftest import PHONE, PNG, challenge_of, report_form
from zhiwang.audit.models import AuditEntry
from zhiwang.cases.models import Case, CasePhoto
from zhiwang.cases.resident import REPORTER_LABEL
from zhiwang.portal import forms, wording


def text(response: Any) -> str:
    return str(response.content.decode())


def test_the_form_offers_the_minor_categories_by_major_a_camera_and_a_challenge(place: Place) -> None:
    page = Client().get("/resident/")
    html = text(page)
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0") and "no-store" in page["Cache-Control"]
    assert '<optgroup label="市容环境">' in html and '<option value="E0101">暴露垃圾</option>' in html
    assert 'value="E01"' not in html  # a 大类 is a group, never a choice
    assert 'accept="image/*"' in html and 'capture="environment"' in html
    assert "csrfmiddlewaretoken" in html and 'name="website"' in html
    challenge = challenge_of(html)
    assert challenge.key.startswith("resident-") and 1 <= challenge.a <= 9 and 1 <= challenge.b <= 9
    assert "vendor/leaflet/leaflet.js" in html and "portal/report.js" in html


def test_a_report_creates_exactly_one_case_even_when_the_form_is_sent_twice(place: Place) -> None:
    client = Client()
    data = report_form(client, phone="+86 138-1234-5678", name="李女士")
    first = client.post("/resident/", data)
    again = client.post("/resident/", data)  # a double tap, or the browser retrying
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    case = Case.objects.get()
    assert first["Location"] == f"/resident/reported/{case.tracking_code}/"
    assert case.channel == "resident" and case.reporter is None
    assert case.reporter_phone == PHONE and case.reporter_name == "李女士"
    assert case.grid is not None and case.grid.code == "441900003001001"
    assert case.category is not None and case.category.code == "E0101"
    assert case.address == "东城街道东纵路公交站" and case.idempotency_key == challenge_of_key(data)
    assert list(case.events.values_list("kind", flat=True)) == ["report"]
    assert AuditEntry.objects.filter(action="case.report", object_id=str(case.pk)).count() == 1
    # The answer: the tracking code in large type and a link to follow it.
    page = client.get(first["Location"])
    assert page.status_code == 200
    assert f'<p class="tracking-code" id="tracking-code">{case.tracking_code}</p>' in text(page)
    assert f'href="/resident/track/{case.tracking_code}/"' in text(page)


def challenge_of_key(data: dict[str, Any]) -> str:
    from zhiwang.portal.abuse import challenge_read

    challenge = challenge_read(data["challenge"])
    assert challenge is not None
    return challenge.key


def test_the_answer_page_of_a_report_is_only_for_its_reporter(place: Place) -> None:
    client = Client()
    response = client.post("/resident/", report_form(client))
    assert response.status_code == 302
    stranger = Client().get(response["Location"])
    code = Case.objects.get().tracking_code
    assert stranger.status_code == 302 and stranger["Location"] == f"/resident/track/?code={code}"


def test_the_photo_is_stored_with_the_report(place: Place) -> None:
    client = Client()
    data = report_form(client, photo=SimpleUploadedFile("p.png", PNG, content_type="image/png"))
    assert client.post("/resident/", data).status_code == 302
    case = Case.objects.get()
    photo = CasePhoto.objects.get(case=case)
    assert photo.stage == "report" and photo.uploaded_by is None
    assert photo.file.read() == PNG and photo.file.name.endswith(".png")
    event = case.events.get(kind="photo")
    assert event.actor is None and event.actor_label == REPORTER_LABEL
    assert AuditEntry.objects.filter(action="case.photo", object_id=str(case.pk)).count() == 1


def test_bad_input_is_explained_beside_each_field_and_what_was_typed_is_kept(place: Place) -> None:
    client = Client()
    data = report_form(
        client,
        description="",
        phone="12345",
        lon="",
        lat="",
        name="王先生",
        address="东纵路口",
        photo=SimpleUploadedFile("note.txt", b"not a photo", content_type="image/png"),
    )
    response = client.post("/resident/", data)
    html = text(response)
    assert response.status_code == 400
    assert Case.objects.count() == 0
    expected = {
        "id_description-error": wording.REPORT_REFUSALS["description_required"][1],
        "id_phone-error": forms.BAD_MOBILE,
        "id_lon-error": forms.PLACE_PIN,
        "id_photo-error": wording.REPORT_REFUSALS["bad_photo_type"][1],
    }
    for anchor, words in expected.items():
        assert f'<p class="error" id="{anchor}">{words}</p>' in html, anchor
    assert 'value="王先生"' in html and 'value="东纵路口"' in html and 'value="12345"' in html
    assert '<option value="E0101" selected>' in html
    # The photo cannot be kept: the page says to choose it again.
    assert gettext("The photo was not kept. Choose it again before sending.") in html
    # The answer was right: it is kept, with its question.
    assert challenge_of(html).token == data["challenge"] and f'value="{data["answer"]}"' in html


def test_a_photo_over_the_size_limit_is_refused(place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forms, "MAX_PHOTO_BYTES", 32)
    client = Client()
    data = report_form(client, photo=SimpleUploadedFile("p.png", PNG, content_type="image/png"))
    response = client.post("/resident/", data)
    assert response.status_code == 400 and Case.objects.count() == 0
    assert str(wording.REPORT_REFUSALS["photo_too_large"][1]) in text(response)


def test_a_place_outside_the_city_is_refused_beside_the_map(place: Place) -> None:
    client = Client()
    response = client.post("/resident/", report_form(client, lon="113.2", lat="22.5"))
    assert response.status_code == 400 and Case.objects.count() == 0
    words = wording.REPORT_REFUSALS["outside_city"][1]
    assert f'<p class="error" id="id_lon-error">{words}</p>' in text(response)
    # The pin stays where the resident put it.
    assert '"pin": [22.5, 113.2]' in text(response)


def test_an_unknown_category_is_refused(place: Place) -> None:
    client = Client()
    response = client.post("/resident/", report_form(client, category="E01"))
    assert response.status_code == 400 and Case.objects.count() == 0
    assert 'id="id_category-error"' in text(response)


def test_a_wrong_answer_gets_a_new_question_for_the_same_form(place: Place) -> None:
    client = Client()
    data = report_form(client)
    first = challenge_of_key(data)
    response = client.post("/resident/", {**data, "answer": "99"})
    html = text(response)
    assert response.status_code == 400 and Case.objects.count() == 0
    assert gettext("That answer is not right. Try the new question.") in html
    renewed = challenge_of(html)
    assert renewed.token != data["challenge"] and renewed.key == first
    assert (
        'name="answer" id="id_answer" inputmode="numeric" autocomplete="off" class="short" value=""' in html
    )
    # Answered right, the same form goes through: still one case.
    answered = {**data, "challenge": renewed.token, "answer": str(renewed.a + renewed.b)}
    assert client.post("/resident/", answered).status_code == 302
    assert Case.objects.get().idempotency_key == first


def test_a_missing_or_forged_challenge_is_refused(place: Place) -> None:
    client = Client()
    data = report_form(client)
    for token in ("", data["challenge"][:-2] + "xx"):
        response = client.post("/resident/", {**data, "challenge": token})
        assert response.status_code == 400
        assert 'id="id_answer-error"' in text(response)
    assert Case.objects.count() == 0


def test_the_honeypot_and_a_too_quick_form_stop_machines(place: Place, settings: Any) -> None:
    client = Client()
    response = client.post("/resident/", report_form(client, website="http://spam.example"))
    assert response.status_code == 400 and Case.objects.count() == 0
    assert gettext("The form could not be checked. Wait a moment and send it again.") in text(response)
    settings.ZHIWANG_PORTAL_MIN_FILL_SECONDS = 60
    response = client.post("/resident/", report_form(client))
    assert response.status_code == 400 and Case.objects.count() == 0


def test_every_form_needs_its_csrf_token(place: Place) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/resident/", report_form(client)).status_code == 403
    assert client.post("/resident/track/", {"code": "ABCDEFGH23", "phone": "5678"}).status_code == 403
    assert client.post("/resident/track/ABCDEFGH23/rate/", {"rating": "5"}).status_code == 403
    assert Case.objects.count() == 0


def test_reports_from_one_address_are_limited(place: Place, settings: Any) -> None:
    settings.ZHIWANG_PORTAL_REPORTS_PER_WINDOW = 2
    client = Client()
    for n in range(2):
        assert client.post("/resident/", report_form(client, description=f"第{n}处垃圾")).status_code == 302
    refused = client.post("/resident/", report_form(client, description="第三处垃圾"))
    assert refused.status_code == 429 and Case.objects.count() == 2
    assert 0 < int(refused["Retry-After"]) <= 600
    words = gettext("Too many attempts from this network. Please try again in %(minutes)s minutes.")
    assert words.split("%(minutes)s")[0] in text(refused)
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/resident/", report_form(other, description="另一处垃圾")).status_code == 302


def test_failed_challenges_count_against_the_limit(place: Place, settings: Any) -> None:
    settings.ZHIWANG_PORTAL_REPORTS_PER_WINDOW = 3
    client = Client()
    for _ in range(3):
        assert client.post("/resident/", report_form(client, answer="0")).status_code == 400
    assert client.post("/resident/", report_form(client)).status_code == 429
    assert Case.objects.count() == 0


def test_a_proxy_header_names_the_client_when_configured(place: Place, settings: Any) -> None:
    settings.ZHIWANG_PORTAL_REPORTS_PER_WINDOW = 1
    settings.ZHIWANG_PORTAL_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    first, second = Client(HTTP_X_REAL_IP="1.2.3.4"), Client(HTTP_X_REAL_IP="5.6.7.8")
    assert first.post("/resident/", report_form(first, description="一")).status_code == 302
    assert first.post("/resident/", report_form(first, description="二")).status_code == 429
    assert second.post("/resident/", report_form(second, description="三")).status_code == 302


def test_an_answer_that_is_empty_or_not_a_number_is_asked_for_once(place: Place) -> None:
    client = Client()
    data = report_form(client)
    for answer in ("", "abc"):
        html = text(client.post("/resident/", {**data, "answer": answer}))
        assert html.count('id="id_answer-error"') == 1
        assert f'<p class="error" id="id_answer-error">{forms.ANSWER_WITH_NUMBER}</p>' in html
    assert Case.objects.count() == 0
