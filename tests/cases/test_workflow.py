"""Cases walked through every path of the closed loop, asserting states, deadlines and timelines."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from tests.cases.conftest import ORIGIN, POINT, SHANGHAI, Place
from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.cases import clock, escalation, intake, services, whistles
from zhiwang.cases.models import Case, Light, Status
from zhiwang.cases.permissions import allowed_actions
from zhiwang.cases.selectors import duplicate_candidates
from zhiwang.common.errors import Conflict, NotFound, PermissionDenied
from zhiwang.notifications.models import OutboxMessage


def report(place: Place, actor: User | None = None, **kwargs: object) -> Case:
    fields: dict[str, object] = {
        "channel": "grid_worker",
        "lon": POINT[0],
        "lat": POINT[1],
        "description": "路边有一堆生活垃圾无人清理",
        "category_code": "E0101",
    }
    fields.update(kwargs)
    return intake.case_report(actor=actor or place.worker, origin=ORIGIN, **fields).case  # type: ignore[arg-type]


def kinds(case: Case) -> list[str]:
    return list(case.events.order_by("at", "id").values_list("kind", flat=True))


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_report_is_idempotent_and_located(place: Place) -> None:
    first = intake.case_report(
        actor=place.worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description="井盖缺失",
        idempotency_key="phone-1-0001",
        origin=ORIGIN,
    )
    again = intake.case_report(
        actor=place.worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description="井盖缺失",
        idempotency_key="phone-1-0001",
        origin=ORIGIN,
    )
    assert first.created and not again.created and again.case.pk == first.case.pk
    assert Case.objects.count() == 1 and kinds(first.case) == ["report"]
    case = first.case
    assert case.grid is not None and case.grid.code == "441900003001001"
    assert [g.code for g in case.overlay_grids.all()] == ["FIRE-DC-01"]
    assert case.number is not None and case.number.startswith("20260302")
    assert len(case.tracking_code) == 10
    # Dispatchers have one working hour to dispatch.
    assert case.dispatch_due_at == at(2026, 3, 2, 10, 0)


def test_the_main_loop_with_rework_and_a_reopening_follow_up(place: Place) -> None:
    case = report(place)
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    case = services.case_dispatch(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    # Routing: the town's urban team before the city bureau.
    assert case.status == Status.DISPATCHED and case.department == place.urban
    # One working day (7.5 office hours) from Monday 09:00 ends Tuesday 09:00.
    assert case.due_at == at(2026, 3, 3, 9, 0)
    with pytest.raises(NotFound):  # another town's team does not even see it
        services.case_sign(actor=place.outsider_handler, case_id=case.pk, origin=ORIGIN)
    services.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)
    place.clock.set(2026, 3, 2, 15, 0)
    services.case_handle(actor=place.handler, case_id=case.pk, result="已清运", origin=ORIGIN)
    # 采办分离: only the finder verifies; the handler cannot.
    for outsider in (place.handler, place.other_worker):
        with pytest.raises(PermissionDenied):
            services.case_verify(actor=outsider, case_id=case.pk, passed=True, origin=ORIGIN)
    case = services.case_verify(
        actor=place.worker, case_id=case.pk, passed=False, note="还有残留", origin=ORIGIN
    )
    assert case.status == Status.SIGNED and case.rework_count == 1
    services.case_handle(actor=place.handler, case_id=case.pk, result="已彻底清理", origin=ORIGIN)
    case = services.case_verify(actor=place.worker, case_id=case.pk, passed=True, origin=ORIGIN)
    assert case.status == Status.REVISIT
    case = services.case_revisit(
        actor=place.dispatcher, case_id=case.pk, rating=2, comment="气味仍在", origin=ORIGIN
    )
    assert case.status == Status.SIGNED and case.rework_count == 2 and case.rating == 2
    services.case_handle(actor=place.handler, case_id=case.pk, result="消毒除臭", origin=ORIGIN)
    services.case_verify(actor=place.worker, case_id=case.pk, passed=True, origin=ORIGIN)
    case = services.case_revisit(actor=place.dispatcher, case_id=case.pk, rating=5, origin=ORIGIN)
    assert case.status == Status.CLOSED and case.closed_at == at(2026, 3, 2, 15, 0)
    assert kinds(case) == [
        "report",
        "accept",
        "dispatch",
        "sign",
        "handle",
        "verify_fail",
        "handle",
        "verify_pass",
        "reopen",
        "handle",
        "verify_pass",
        "close",
    ]
    assert AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk)).count() == 12
    # The handler heard of the dispatch, the worker of each handling.
    inbox = OutboxMessage.objects.filter(channel="inapp")
    assert inbox.filter(recipient=place.handler, subject="新派遣案件").exists()
    assert inbox.filter(recipient=place.worker, subject="案件待核查").count() == 3


def test_return_redispatch_extension_and_parking_stop_the_clock(place: Place) -> None:
    case = report(place, category_code="E0102", description="道路油污")
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    services.case_dispatch(
        actor=place.dispatcher, case_id=case.pk, department_id=place.urban.pk, origin=ORIGIN
    )
    place.clock.set(2026, 3, 2, 10, 0)
    case = services.case_return(actor=place.handler, case_id=case.pk, reason="属于水务", origin=ORIGIN)
    assert case.status == Status.RETURNED and case.department is None and case.return_count == 1
    case = services.case_dispatch(
        actor=place.dispatcher, case_id=case.pk, department_id=place.urban.pk, origin=ORIGIN
    )
    # Five working hours from 09:00: 09:00–12:00 and 14:00–16:00; the return did not restart the clock.
    assert case.clock_started_at == at(2026, 3, 2, 9, 0) and case.due_at == at(2026, 3, 2, 16, 0)
    services.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)
    place.clock.set(2026, 3, 2, 11, 0)
    services.case_request_extension(
        actor=place.handler,
        case_id=case.pk,
        amount=1,
        unit="working_days",
        reason="需要协调封路",
        origin=ORIGIN,
    )
    case.refresh_from_db()
    assert clock.light(case, at(2026, 3, 2, 17, 0)) == Light.STOPPED
    with pytest.raises(Conflict):
        services.case_request_extension(
            actor=place.handler, case_id=case.pk, amount=1, unit="working_days", reason="again", origin=ORIGIN
        )
    # Decided at 15:00: the clock stood still for two office hours (11–12, 14–15 o'clock); 7.5 h are added.
    place.clock.set(2026, 3, 2, 15, 0)
    case = services.case_decide_extension(actor=place.town, case_id=case.pk, approve=True, origin=ORIGIN)
    assert case.paused_seconds == 7200 and case.extension_seconds == 27000
    # 5 h + 2 h stopped + 7.5 h = 14.5 office hours from Monday 09:00: Tuesday at 18:00.
    assert case.due_at == at(2026, 3, 3, 18, 0)
    case = services.case_park(actor=place.town, case_id=case.pk, reason="雨季后统一整治", origin=ORIGIN)
    assert case.status == Status.PARKED and case.paused_since == at(2026, 3, 2, 15, 0)
    with pytest.raises(PermissionDenied):
        services.case_park(actor=place.dispatcher, case_id=case.pk, reason="x", origin=ORIGIN)
    place.clock.set(2026, 3, 3, 9, 0)
    case = services.case_unpark(actor=place.town, case_id=case.pk, origin=ORIGIN)
    # Parked for Monday 15:00–18:00 and Tuesday 08:30–09:00: 3.5 more office hours.
    assert case.status == Status.SIGNED and case.paused_seconds == 7200 + 12600
    # 18 office hours from Monday 09:00: Wednesday at 12:00.
    assert case.due_at == at(2026, 3, 4, 12, 0)
    assert kinds(case) == [
        "report",
        "accept",
        "dispatch",
        "return",
        "dispatch",
        "sign",
        "request_extension",
        "approve_extension",
        "park",
        "unpark",
    ]


def test_merge_reject_and_duplicates(place: Place) -> None:
    first = report(place, description="小区门口垃圾堆积发臭")
    services.case_accept(actor=place.dispatcher, case_id=first.pk, origin=ORIGIN)
    place.clock.set(2026, 3, 2, 9, 30)
    second = report(place, actor=place.other_worker, lon=POINT[0] + 0.0003, description="小区门口垃圾堆积")
    far = report(place, lon=113.64, lat=22.99, description="小区门口垃圾堆积")
    found = duplicate_candidates(actor=place.dispatcher, case=second)
    assert [c.pk for c, _ in found] == [first.pk]
    services.case_merge(actor=place.dispatcher, case_id=second.pk, into_id=first.pk, origin=ORIGIN)
    second.refresh_from_db()
    assert second.status == Status.MERGED and second.merged_into_id == first.pk
    assert "absorb" in kinds(first)
    with pytest.raises(Conflict):
        services.case_merge(actor=place.dispatcher, case_id=far.pk, into_id=second.pk, origin=ORIGIN)
    rejected = services.case_reject(actor=place.dispatcher, case_id=far.pk, reason="重复上报", origin=ORIGIN)
    assert rejected.status == Status.REJECTED and kinds(rejected) == ["report", "reject"]
    # When the case closes, every merged reporter hears the outcome.
    services.case_dispatch(actor=place.dispatcher, case_id=first.pk, origin=ORIGIN)
    services.case_sign(actor=place.handler, case_id=first.pk, origin=ORIGIN)
    services.case_handle(actor=place.handler, case_id=first.pk, result="已清运", origin=ORIGIN)
    services.case_verify(actor=place.worker, case_id=first.pk, passed=True, origin=ORIGIN)
    services.case_revisit(actor=place.dispatcher, case_id=first.pk, rating=4, origin=ORIGIN)
    heard = set(
        OutboxMessage.objects.filter(channel="inapp", subject="案件已办结").values_list(
            "recipient__username", flat=True
        )
    )
    assert heard == {"worker", "worker2"}


def test_a_merged_resident_without_an_account_hears_the_outcome_by_text(place: Place, settings: Any) -> None:
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,sms"
    settings.ZHIWANG_SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    first = report(place, description="路灯不亮")
    resident = intake.case_report(
        actor=None,
        channel="resident",
        lon=POINT[0],
        lat=POINT[1],
        description="路灯坏了",
        reporter_phone="13800138000",
        origin=ORIGIN,
    ).case
    services.case_accept(actor=place.dispatcher, case_id=first.pk, origin=ORIGIN)
    services.case_merge(actor=place.dispatcher, case_id=resident.pk, into_id=first.pk, origin=ORIGIN)
    services.case_dispatch(actor=place.dispatcher, case_id=first.pk, origin=ORIGIN)
    services.case_sign(actor=place.handler, case_id=first.pk, origin=ORIGIN)
    services.case_handle(actor=place.handler, case_id=first.pk, result="已修复", origin=ORIGIN)
    services.case_verify(actor=place.worker, case_id=first.pk, passed=True, origin=ORIGIN)
    services.case_revisit(actor=place.dispatcher, case_id=first.pk, rating=5, origin=ORIGIN)
    texts = OutboxMessage.objects.filter(channel="sms", recipient__isnull=True, subject="案件已办结")
    assert list(texts.values_list("address", flat=True)) == ["13800138000"]


def test_routing_by_overlay_grid_and_by_community(place: Place) -> None:
    fire = report(place, category_code="E1201", description="楼道堆放杂物堵塞消防通道")
    services.case_accept(actor=place.dispatcher, case_id=fire.pk, origin=ORIGIN)
    fire = services.case_dispatch(actor=place.dispatcher, case_id=fire.pk, origin=ORIGIN)
    assert fire.department == place.fire
    dispute = report(place, category_code="E1301", description="楼上漏水纠纷")
    services.case_accept(actor=place.dispatcher, case_id=dispute.pk, origin=ORIGIN)
    dispute = services.case_dispatch(actor=place.dispatcher, case_id=dispute.pk, origin=ORIGIN)
    assert dispute.department is None and dispute.community == place.city["441900003001"]
    # The community dispatcher handles what the community settles itself.
    services.case_sign(actor=place.dispatcher, case_id=dispute.pk, origin=ORIGIN)
    assert (
        services.case_handle(
            actor=place.dispatcher, case_id=dispute.pk, result="调解成功", origin=ORIGIN
        ).status
        == Status.HANDLED
    )


def test_self_handling_on_the_spot(place: Place) -> None:
    case = report(place, self_handled=True, description="共享单车倒地阻塞人行道，已扶正")
    assert case.status == Status.CLOSED and case.self_handled and kinds(case) == ["report", "self_handle"]
    with pytest.raises(PermissionDenied):
        report(place, actor=place.dispatcher, channel="grid_worker", self_handled=True)


def test_whistle_summons_departments_until_the_job_is_done(place: Place) -> None:
    case = report(place, category_code="E0301", description="河道旁违法搭建铁皮房")
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    services.case_dispatch(
        actor=place.dispatcher, case_id=case.pk, department_id=place.urban.pk, origin=ORIGIN
    )
    whistle = whistles.whistle_blow(
        actor=place.town,
        level="emergency",
        department_ids=[place.urban.pk, place.fire.pk],
        summary="联合拆除",
        case_id=case.pk,
        origin=ORIGIN,
    )
    summons = list(whistle.summons.order_by("department__code"))
    assert [s.respond_by - whistle.blown_at for s in summons] == [timedelta(minutes=30)] * 2
    with pytest.raises(PermissionDenied):
        whistles.whistle_blow(
            actor=place.handler,
            level="daily",
            department_ids=[place.fire.pk],
            summary="x",
            case_id=case.pk,
            origin=ORIGIN,
        )
    whistles.whistle_report_in(actor=place.handler, whistle_id=whistle.pk, origin=ORIGIN)
    with pytest.raises(Conflict) as refused:
        whistles.whistle_close(actor=place.town, whistle_id=whistle.pk, origin=ORIGIN)
    assert refused.value.details == {"missing": ["东城消防救援站"]}
    whistles.whistle_report_in(actor=place.fire_handler, whistle_id=whistle.pk, origin=ORIGIN)
    with pytest.raises(Conflict):  # 事不完，人不撤
        whistles.whistle_close(actor=place.town, whistle_id=whistle.pk, origin=ORIGIN)
    services.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)
    services.case_handle(actor=place.handler, case_id=case.pk, result="已拆除", origin=ORIGIN)
    assert (
        whistles.whistle_close(actor=place.town, whistle_id=whistle.pk, origin=ORIGIN).closed_at is not None
    )
    assert "whistle" in kinds(case)


def test_supervision_from_above(place: Place) -> None:
    case = report(place)
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    with pytest.raises(PermissionDenied):
        services.case_supervise(actor=place.dispatcher, case_id=case.pk, note="快办", origin=ORIGIN)
    case = services.case_supervise(
        actor=place.city_commander, case_id=case.pk, note="请今日内派遣", origin=ORIGIN
    )
    assert case.supervision_count == 1 and kinds(case)[-1] == "supervise"


def test_overdue_cases_escalate_one_level_at_a_time(place: Place) -> None:
    case = report(place)
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    services.case_dispatch(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)  # due Tue 09:00
    assert escalation.scan_deadlines(at(2026, 3, 2, 16, 59)) == {"warned": 0, "escalated": 0}
    # 80% of 7.5 h is 6 h: Monday 17:00 is 6 office hours in (09:00–12:00, 14:00–17:00).
    assert escalation.scan_deadlines(at(2026, 3, 2, 17, 1)) == {"warned": 1, "escalated": 0}
    assert escalation.scan_deadlines(at(2026, 3, 3, 9, 1)) == {"warned": 0, "escalated": 1}
    assert escalation.scan_deadlines(at(2026, 3, 3, 12, 0)) == {"warned": 0, "escalated": 0}
    assert escalation.scan_deadlines(at(2026, 3, 4, 9, 2)) == {"warned": 0, "escalated": 1}
    case.refresh_from_db()
    assert case.escalation_level == 2 and kinds(case)[-3:] == ["warn", "escalate", "escalate"]
    inbox = OutboxMessage.objects.filter(channel="inapp", subject="超期案件升级")
    assert inbox.filter(recipient=place.town).count() == 1
    assert inbox.filter(recipient=place.city_commander).count() == 1


def test_outsiders_see_nothing(place: Place, make_user: Callable[..., User]) -> None:
    case = report(place)
    for outsider in (place.outsider_handler,):
        with pytest.raises(NotFound):
            services.case_accept(actor=outsider, case_id=case.pk, origin=ORIGIN)
    assert allowed_actions(place.dispatcher, case) == ["accept", "reject", "merge", "whistle"]
    assert allowed_actions(place.handler, case) == []


def test_an_illegal_transition_answers_409_with_the_allowed_actions(
    place: Place, api_client: Callable[[User | None], Client]
) -> None:
    client = api_client(place.dispatcher)
    created = client.post(
        "/api/v1/cases",
        data=json.dumps(
            {
                "channel": "grid_worker",
                "lon": POINT[0],
                "lat": POINT[1],
                "description": "x",
                "category": "E0101",
            }
        ),
        content_type="application/json",
    )
    assert created.status_code == 403  # a dispatcher is not a grid worker
    case = report(place)
    response = client.post(f"/api/v1/cases/{case.pk}/sign", content_type="application/json")
    assert response.status_code == 403
    response = client.post(
        f"/api/v1/cases/{case.pk}/handle", data=json.dumps({"result": "x"}), content_type="application/json"
    )
    assert response.status_code in (403, 409)
    response = client.post(
        f"/api/v1/cases/{case.pk}/verify", data=json.dumps({"passed": True}), content_type="application/json"
    )
    assert response.status_code == 403
    accept = client.post(
        f"/api/v1/cases/{case.pk}/accept", data=json.dumps({}), content_type="application/json"
    )
    assert accept.status_code == 200 and accept.json()["status"] == "accepted"
    again = client.post(
        f"/api/v1/cases/{case.pk}/accept", data=json.dumps({}), content_type="application/json"
    )
    assert again.status_code == 409
    assert again.json()["error"]["details"] == {
        "status": "accepted",
        "allowed": ["merge", "dispatch", "whistle"],
    }


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_photos_by_stage_and_who_may_add_them(
    place: Place, api_client: Callable[[User | None], Client]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    def upload(user: User, case: Case, stage: str, content: bytes = PNG) -> int:
        client = api_client(user)
        photo = SimpleUploadedFile("x.png", content, content_type="image/png")
        return client.post(
            f"/api/v1/cases/{case.pk}/photos", data={"stage": stage, "file": photo}
        ).status_code

    case = report(place)
    assert upload(place.worker, case, "report") == 201
    assert upload(place.worker, case, "report", b"not an image") == 400
    assert upload(place.other_worker, case, "report") == 403  # not the reporter
    assert upload(place.worker, case, "after") == 403  # not the handler
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    services.case_dispatch(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    services.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)
    assert upload(place.handler, case, "before") == 201 and upload(place.handler, case, "after") == 201
    assert upload(place.outsider_handler, case, "after") == 404
    # A problem handled on the spot carries the grid worker's own before and after photos.
    spot = report(place, self_handled=True, description="已扶正倒地的共享单车")
    assert upload(place.worker, spot, "before") == 201 and upload(place.worker, spot, "after") == 201
    detail = api_client(place.dispatcher).get(f"/api/v1/cases/{case.pk}").json()
    assert [p["stage"] for p in detail["photos"]] == ["report", "before", "after"]
    image = api_client(place.dispatcher).get(detail["photos"][0]["url"])
    assert image.status_code == 200 and b"".join(image.streaming_content) == PNG  # type: ignore[attr-defined]
    assert api_client(place.outsider_handler).get(detail["photos"][0]["url"]).status_code == 404
    assert kinds(case).count("photo") == 3


@pytest.mark.parametrize("self_handled", [False, True])
def test_the_answer_to_a_report_equals_what_a_read_gives(
    place: Place, api_client: Callable[[User | None], Client], self_handled: bool
) -> None:
    """Intake answers from what it has just written (no re-read); that answer must be the case as
    any later read shows it, overlays and timeline included."""
    client = api_client(place.worker)
    body = {
        "channel": "grid_worker",
        "lon": POINT[0],
        "lat": POINT[1],
        "description": "楼道堆放杂物堵塞消防通道",
        "category": "E1201",
        "idempotency_key": f"answer-{self_handled}",
        "self_handled": self_handled,
    }
    created = client.post("/api/v1/cases", data=json.dumps(body), content_type="application/json")
    assert created.status_code == 201
    answer = created.json()
    assert answer["overlay_grids"], "the point lies in an overlay grid"
    read = client.get(f"/api/v1/cases/{answer['id']}").json()
    assert answer == read
    replayed = client.post("/api/v1/cases", data=json.dumps(body), content_type="application/json")
    assert replayed.status_code == 200 and replayed.json() == read
