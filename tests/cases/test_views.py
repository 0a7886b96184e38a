"""The case console: work queues per role, filters, the case page and every action form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from tests.cases.conftest import ORIGIN, POINT, Place
from zhiwang.accounts.models import Department, User
from zhiwang.cases import intake, photos, services
from zhiwang.cases.models import Case, Status, Whistle
from zhiwang.cases.permissions import allowed_actions

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
QUEUE = reverse("cases:queue")
HTMX = {"HX-Request": "true"}

ClientFor = Callable[[User | None], Client]


def report(place: Place, actor: User | None = None, **kwargs: object) -> Case:
    fields: dict[str, object] = {
        "channel": "grid_worker",
        "lon": POINT[0],
        "lat": POINT[1],
        "description": "路边有一堆生活垃圾无人清理",
        "category_code": "E0101",
    }
    fields.update(kwargs)
    return intake.case_report(actor=actor or place.worker, origin=ORIGIN, **fields).case


def dispatched(place: Place, **kwargs: object) -> Case:
    case = report(place, **kwargs)
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    return services.case_dispatch(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)


@pytest.fixture
def console(api_client: ClientFor) -> ClientFor:
    """A signed-in client reading the console in English (so wording does not depend on the catalogue)."""

    def make(user: User | None) -> Client:
        client = api_client(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return make


def case_url(case: Case) -> str:
    return reverse("cases:case", args=[case.pk])


def act_url(case: Case, action: str) -> str:
    return reverse("cases:act", args=[case.pk, action])


def shown_actions(html: str) -> list[str]:
    return re.findall(r'data-action="([a-z_]+)"', html)


def last_kind(case: Case) -> str:
    return str(case.events.order_by("-at", "-id").values_list("kind", flat=True).first())


# --- access -----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(place: Place, client: Client) -> None:
    case = report(place)
    for response in (
        client.get(QUEUE),
        client.get(case_url(case)),
        client.post(act_url(case, "accept"), {"accept-category": "E0101"}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=/console/cases/")
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_a_case_out_of_scope_is_not_found(place: Place, console: ClientFor) -> None:
    case = report(place)
    photo = photos.case_add_photo(
        actor=place.worker, case_id=case.pk, stage="report", content=PNG, origin=ORIGIN
    )
    outsider = console(place.outsider_handler)
    assert outsider.get(case_url(case)).status_code == 404
    assert outsider.post(act_url(case, "reject"), {"reject-reason": "不归我管"}).status_code == 404
    assert outsider.get(reverse("cases:photo", args=[case.pk, photo.pk])).status_code == 404
    assert case.pk not in [row.case.pk for row in outsider.get(QUEUE + "?queue=open").context["rows"]]
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_an_account_without_a_role_is_refused(
    place: Place, console: ClientFor, make_user: Callable[..., User]
) -> None:
    response = console(make_user()).get(QUEUE)
    assert response.status_code == 403
    assert "Your account holds no role" in response.content.decode()


def test_every_form_carries_a_csrf_token_and_posts_without_one_fail(
    place: Place, api_client: ClientFor
) -> None:
    case = report(place)
    client = api_client(place.dispatcher)
    html = client.get(case_url(case)).content.decode()
    assert html.count('method="post"') >= 4
    assert html.count('method="post"') == html.count("csrfmiddlewaretoken")
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    response = strict.post(act_url(case, "reject"), {"reject-reason": "重复上报"})
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


# --- the work queues --------------------------------------------------------------------------


def tabs(response: Any) -> dict[str, int]:
    return {name: count for name, _label, count in response.context["tabs"]}


def test_queues_follow_the_roles_with_counts(place: Place, console: ClientFor) -> None:
    reported = [report(place), report(place, description="井盖缺失")]
    to_sign = dispatched(place)
    in_fire = dispatched(place, category_code="E1201", description="楼道堆放杂物堵塞消防通道")
    services.case_sign(actor=place.handler, case_id=to_sign.pk, origin=ORIGIN)

    response = console(place.dispatcher).get(QUEUE)
    assert response.status_code == 200
    assert tabs(response) == {
        "to_accept": 2,
        "to_dispatch": 0,
        "to_sign": 1,
        "in_hand": 1,
        "overdue": 2,  # dispatched in March 2026 with a one-day limit
        "to_revisit": 0,
    }
    html = response.content.decode()
    assert re.findall(r'data-queue="([a-z_]+)"', html)[:6] == list(tabs(response))
    # The first tab opens: the reports waiting for acceptance, newest first.
    assert [row.case.pk for row in response.context["rows"]] == [reported[1].pk, reported[0].pk]
    assert 'class="light light-none"' in html

    handler = console(place.handler).get(QUEUE)
    # A department handler works the cases of their own department only.
    assert tabs(handler) == {"to_sign": 0, "in_hand": 1, "overdue": 1}
    assert [row.case.pk for row in console(place.fire_handler).get(QUEUE).context["rows"]] == [in_fire.pk]

    worker = console(place.worker).get(QUEUE)
    assert tabs(worker) == {"to_verify": 0, "open": 4}

    town = console(place.town).get(QUEUE + "?queue=overdue")
    assert set(tabs(town)) == {"to_accept", "to_dispatch", "overdue", "to_revisit", "parked", "open"}
    rows = town.context["rows"]
    assert {row.case.pk for row in rows} == {to_sign.pk, in_fire.pk}
    assert {row.light for row in rows} == {"red"}
    assert town.content.decode().count('class="light light-red"') == 2


def test_filters_narrow_the_table_and_htmx_gets_only_the_table(place: Place, console: ClientFor) -> None:
    garbage = report(place)
    fire = report(place, category_code="E1201", description="电动车楼道充电")
    hotline = report(
        place, channel="hotline", category_code="E0102", reporter_name="王先生", reporter_phone="13800138000"
    )
    other_grid = report(place, lon=113.62, lat=23.05, description="北边社区的垃圾")
    client = console(place.town)

    def listed(query: str) -> list[int]:
        return [row.case.pk for row in client.get(QUEUE + query).context["rows"]]

    assert listed("?queue=to_accept&category=E01") == [other_grid.pk, hotline.pk, garbage.pk]
    assert listed("?queue=to_accept&category=E1201") == [fire.pk]
    assert listed("?queue=to_accept&channel=hotline") == [hotline.pk]
    assert listed("?queue=open&status=reported&category=E0102") == [hotline.pk]
    south = place.city["441900003001"]
    assert listed(f"?queue=to_accept&within={south.pk}") == [hotline.pk, fire.pk, garbage.pk]
    assert listed(f"?queue=to_accept&within={place.city['441900003002'].pk}") == [other_grid.pk]
    # A community dispatcher filters by base grid too.
    east = report(place, lon=113.67, lat=22.95, description="东侧网格的垃圾")
    grid_filter = f"?queue=to_accept&within={place.city['441900003001002'].pk}"
    assert [row.case.pk for row in console(place.dispatcher).get(QUEUE + grid_filter).context["rows"]] == [
        east.pk
    ]
    day = timezone.localtime(garbage.reported_at).date()
    assert len(listed(f"?queue=to_accept&since={day}&until={day}")) == 5
    assert listed(f"?queue=to_accept&since={day + timedelta(days=1)}") == []

    partial = client.get(QUEUE + "?queue=to_accept&category=E1201", headers=HTMX)
    html = partial.content.decode()
    assert html.startswith('<section id="case-results"') and "<html" not in html
    assert fire.number in html and garbage.number not in html

    empty = client.get(QUEUE + "?queue=to_accept&category=E1301").content.decode()
    assert "No case in this queue matches these filters." in empty

    invalid = client.get(QUEUE + f"?queue=to_accept&since={day}&until={day - timedelta(days=3)}")
    assert invalid.status_code == 200
    assert "The end of the period comes before its start." in invalid.content.decode()
    assert len(invalid.context["rows"]) == 5  # nothing applied, nothing hidden
    assert "Nothing is waiting in this queue." in client.get(QUEUE + "?queue=to_revisit").content.decode()


def test_the_deadline_filter_finds_green_and_red_cases(place: Place, console: ClientFor) -> None:
    late = dispatched(place)
    place.clock.now = timezone.now()
    fresh = dispatched(place, description="新的垃圾堆")
    client = console(place.dispatcher)
    assert [r.case.pk for r in client.get(QUEUE + "?queue=to_sign&light=red").context["rows"]] == [late.pk]
    assert [r.case.pk for r in client.get(QUEUE + "?queue=to_sign&light=green").context["rows"]] == [fresh.pk]


def test_queues_page_through_many_cases(place: Place, console: ClientFor) -> None:
    cases = [report(place, description=f"第{i}处垃圾") for i in range(30)]
    client = console(place.dispatcher)
    first = client.get(QUEUE)
    assert len(first.context["rows"]) == 25 and 'href="?page=2"' in first.content.decode()
    second = client.get(QUEUE + "?page=2", headers=HTMX)
    assert [row.case.pk for row in second.context["rows"]] == [c.pk for c in reversed(cases[:5])]
    assert "2 / 2" in second.content.decode()


def test_the_queue_query_count_stays_flat(
    place: Place, console: ClientFor, django_assert_max_num_queries: Any
) -> None:
    client = console(place.town)
    report(place)
    dispatched(place)
    client.get(QUEUE)  # warm the per-process caches (calendar, categories)

    def queries(query: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(QUEUE + query).status_code == 200
        return len(captured)

    few = [queries(q) for q in ("", "?queue=open", "?queue=overdue&light=red&category=E01")]
    for i in range(25):
        case = report(place, description=f"第{i}处垃圾")
        if i % 2:
            services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
            services.case_dispatch(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    many = [queries(q) for q in ("", "?queue=open", "?queue=overdue&light=red&category=E01")]
    assert many == few
    with django_assert_max_num_queries(10):
        client.get(QUEUE + "?queue=open")


# --- the case page ----------------------------------------------------------------------------


def test_the_case_page_shows_the_case_and_only_the_allowed_actions(place: Place, console: ClientFor) -> None:
    case = report(
        place,
        channel="hotline",
        reporter_name="李女士",
        reporter_phone="13912345678",
        address="东城街道主山社区 3 号",
    )
    response = console(place.dispatcher).get(case_url(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert case.number in html and "东城街道主山社区 3 号" in html and "李女士" in html
    assert "13912345678" not in html  # the API's case detail never carries the phone either
    assert "12345 hotline" in html and "暴露垃圾" in html
    assert (
        shown_actions(html)
        == allowed_actions(place.dispatcher, case)
        == ["accept", "reject", "merge", "whistle"]
    )
    assert 'id="case-map-config"' in html and '"outline": {"type": "Polygon"' in html
    assert 'data-kind="report"' in html

    handler_view = console(place.handler).get(case_url(dispatched(place)))
    assert shown_actions(handler_view.content.decode()) == ["sign", "return", "request_extension"]
    assert shown_actions(console(place.worker).get(case_url(case)).content.decode()) == []
    assert (
        "Nothing for you to do on this case now."
        in console(place.worker).get(case_url(case)).content.decode()
    )


def test_the_case_page_query_count_does_not_grow_with_its_history(place: Place, console: ClientFor) -> None:
    case = report(place)
    client = console(place.dispatcher)
    client.get(case_url(case))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(case_url(case)).status_code == 200
        return len(captured)

    before = queries()
    for i in range(6):
        report(place, description=f"路边有一堆生活垃圾无人清理{i}")
        photos.case_add_photo(actor=place.worker, case_id=case.pk, stage="report", content=PNG, origin=ORIGIN)
    assert len(client.get(case_url(case)).context["duplicates"]) == 5
    assert queries() == before <= 16


def test_photos_show_as_thumbnails_served_after_an_access_check(place: Place, console: ClientFor) -> None:
    case = report(place)
    photo = photos.case_add_photo(
        actor=place.worker, case_id=case.pk, stage="report", content=PNG, origin=ORIGIN
    )
    url = reverse("cases:photo", args=[case.pk, photo.pk])
    html = console(place.dispatcher).get(case_url(case)).content.decode()
    assert f'<img src="{url}"' in html
    response = console(place.dispatcher).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PNG
    assert (
        console(place.dispatcher).get(reverse("cases:photo", args=[case.pk, photo.pk + 99])).status_code
        == 404
    )


def test_dispatch_offers_the_routing_suggestion_and_the_targets(place: Place, console: ClientFor) -> None:
    case = report(place)
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    html = console(place.dispatcher).get(case_url(case)).content.decode()
    assert "Routing suggests 东城综合执法队" in html
    for department in (place.urban, place.city_urban, place.fire):
        assert f'value="department:{department.pk}"' in html
    assert f'value="community:{place.city["441900003001"].pk}"' in html
    assert "虎门综合执法队" not in html  # another town's team is no target here


def test_likely_duplicates_can_be_merged_by_the_dispatcher(place: Place, console: ClientFor) -> None:
    first = report(place)
    second = report(place, description="路边有一堆生活垃圾没人清理")
    client = console(place.dispatcher)
    html = client.get(case_url(second)).content.decode()
    assert f'data-case="{first.pk}"' in html and f'value="{first.number}"' in html
    response = client.post(act_url(second, "merge"), {"merge-into": first.number, "merge-note": "同一堆垃圾"})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == Status.MERGED and second.merged_into_id == first.pk
    assert list(first.events.values_list("kind", flat=True)) == ["report", "absorb"]
    assert f'data-case="{first.pk}"' not in console(place.worker).get(case_url(second)).content.decode()


# --- actions ----------------------------------------------------------------------------------


def post(client: Client, case: Case, action: str, data: dict[str, object], **kwargs: Any) -> Any:
    return client.post(act_url(case, action), {f"{action}-{k}": v for k, v in data.items()}, **kwargs)


def test_the_whole_loop_through_the_forms(place: Place, console: ClientFor) -> None:
    case = report(place, category_code=None)
    dispatcher, handler, worker = console(place.dispatcher), console(place.handler), console(place.worker)
    town = console(place.town)
    steps: list[tuple[Client, str, dict[str, object], str, str]] = [
        (dispatcher, "accept", {"category": "E0101", "note": "属实"}, Status.ACCEPTED, "accept"),
        (
            dispatcher,
            "dispatch",
            {"target": f"department:{place.urban.pk}", "note": "请尽快"},
            Status.DISPATCHED,
            "dispatch",
        ),
        (town, "supervise", {"reason": "群众反映强烈"}, Status.DISPATCHED, "supervise"),
        (handler, "sign", {}, Status.SIGNED, "sign"),
        (
            handler,
            "request_extension",
            {"amount": "2", "unit": "working_days", "reason": "需协调清运车"},
            Status.SIGNED,
            "request_extension",
        ),
        (
            dispatcher,
            "decide_extension",
            {"decision": "approve", "note": "同意"},
            Status.SIGNED,
            "approve_extension",
        ),
        (handler, "handle", {"result": "已清运完毕"}, Status.HANDLED, "handle"),
        (worker, "verify", {"outcome": "fail", "note": "仍有残留"}, Status.SIGNED, "verify_fail"),
        (handler, "handle", {"result": "已彻底清理"}, Status.HANDLED, "handle"),
        (worker, "verify", {"outcome": "pass"}, Status.REVISIT, "verify_pass"),
        (dispatcher, "revisit", {"rating": "5", "comment": "满意"}, Status.CLOSED, "close"),
    ]
    for client, action, data, status, kind in steps:
        response = post(client, case, action, data)
        assert response.status_code == 302, (action, response.content.decode()[:2000])
        assert response["Location"] == case_url(case)
        case.refresh_from_db()
        assert (case.status, last_kind(case)) == (status, kind)
    assert case.category is not None and case.category.code == "E0101"
    assert case.department == place.urban and case.rating == 5 and case.supervision_count == 1
    assert case.events.get(kind="handle", note="已清运完毕").actor_label == place.handler.username
    page = dispatcher.get(case_url(case)).content.decode()
    assert "Done: Record the follow-up visit." in page  # the message survives the redirect
    assert page.count("<li data-kind=") == case.events.count() == 12


def test_reject_return_park_unpark_and_whistle(place: Place, console: ClientFor) -> None:
    dispatcher, town, handler = console(place.dispatcher), console(place.town), console(place.handler)
    rejected = report(place)
    post(dispatcher, rejected, "reject", {"reason": "不属于受理范围"})
    rejected.refresh_from_db()
    assert rejected.status == Status.REJECTED and rejected.events.get(kind="reject").note == "不属于受理范围"

    case = dispatched(place)
    post(handler, case, "return", {"reason": "不属于本队职责"})
    case.refresh_from_db()
    assert case.status == Status.RETURNED and case.return_count == 1
    post(town, case, "park", {"reason": "雨季后统一整治"})
    case.refresh_from_db()
    assert case.status == Status.PARKED and case.paused_since is not None  # the clock stops
    post(town, case, "unpark", {"note": "恢复办理"})
    case.refresh_from_db()
    assert case.status == Status.RETURNED
    post(dispatcher, case, "dispatch", {"target": f"community:{place.city['441900003001'].pk}"})
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.community == place.city["441900003001"]

    response = post(
        dispatcher,
        case,
        "whistle",
        {"level": "tackle", "departments": [place.urban.pk], "summary": "联合清理"},
    )
    assert response.status_code == 302
    whistle = Whistle.objects.get(case=case)
    assert whistle.level == "tackle" and [s.department for s in whistle.summons.all()] == [place.urban]
    assert last_kind(case) == "whistle"


def test_htmx_swaps_the_panel_the_facts_and_the_timeline(place: Place, console: ClientFor) -> None:
    case = report(place)
    response = post(console(place.dispatcher), case, "accept", {"category": "", "note": ""}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="case-actions"')
    assert '<section id="case-timeline" class="card timeline" hx-swap-oob="true">' in html
    assert 'id="case-facts" class="card facts" hx-swap-oob="true" data-status="accepted"' in html
    assert 'data-kind="accept"' in html and "Done: Accept." in html
    assert shown_actions(html) == ["merge", "dispatch", "whistle"]


def test_a_return_that_takes_the_case_out_of_sight_goes_back_to_the_queue(
    place: Place, console: ClientFor
) -> None:
    humen = Department.objects.get(code="HM-URBAN")
    case = report(place)
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    services.case_dispatch(actor=place.dispatcher, case_id=case.pk, department_id=humen.pk, origin=ORIGIN)
    outsider = console(place.outsider_handler)
    assert outsider.get(case_url(case)).status_code == 200  # dispatched to their team, so they see it
    response = post(outsider, case, "return", {"reason": "不在本镇辖区"}, headers=HTMX)
    case.refresh_from_db()
    assert case.status == Status.RETURNED and case.department is None
    assert response.status_code == 204 and response["HX-Redirect"] == QUEUE
    assert outsider.get(case_url(case)).status_code == 404


# --- refusals ---------------------------------------------------------------------------------


def test_refusals_are_explained_and_keep_what_was_typed(place: Place, console: ClientFor) -> None:
    unclassified = report(place, category_code=None)
    dispatcher = console(place.dispatcher)

    # The service's own check (no category yet): 400, the note is still in the form.
    response = post(dispatcher, unclassified, "accept", {"category": "", "note": "现场核实属实"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Choose a minor category before accepting the case." in html
    assert "现场核实属实</textarea>" in html and re.search(
        r'<details class="action" data-action="accept" open>', html
    )

    # The form's own check: a reason is required.
    response = post(dispatcher, unclassified, "reject", {"reason": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()

    # Someone else's role: 403.
    response = post(console(place.handler), dispatched(place), "accept", {"note": "试试"})
    assert response.status_code == 403
    assert "Your role may not take this action on this case." in response.content.decode()

    # A race lost: 409, the form is gone but what was typed is shown.
    services.case_accept(actor=place.town, case_id=unclassified.pk, category_code="E0102", origin=ORIGIN)
    response = post(dispatcher, unclassified, "reject", {"reason": "重复上报的问题"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone acted on this case first: it is now “Accepted”." in html
    assert "重复上报的问题" in html and "reject" not in shown_actions(html)
    unclassified.refresh_from_db()
    assert unclassified.status == Status.ACCEPTED and unclassified.events.count() == 2


def test_refusals_speak_chinese_by_default(place: Place, api_client: ClientFor) -> None:
    case = report(place, category_code=None)
    response = api_client(place.dispatcher).post(act_url(case, "accept"), {"accept-note": "属实"})
    with translation.override("zh-hans"):
        expected = gettext("Choose a minor category before accepting the case.")
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert '<html lang="zh-hans">' in response.content.decode()


def test_an_unknown_action_is_not_found(place: Place, console: ClientFor) -> None:
    case = report(place)
    assert console(place.dispatcher).post(act_url(case, "explode"), {}).status_code == 404
    assert console(place.dispatcher).get(act_url(case, "accept")).status_code == 405
