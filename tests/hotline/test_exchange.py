"""The 12345 exchange end to end: signed work orders in, the workflow, signed messages back to a
receiving system on 127.0.0.1."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.cases.conftest import ORIGIN
from tests.hotline.conftest import SECRET, Hotline, order
from zhiwang.accounts.models import Role, RoleAssignment
from zhiwang.cases import services as workflow
from zhiwang.cases.models import Case, Extension, Status
from zhiwang.hotline.models import HotlineCategoryMap, HotlineMessage, HotlineOrder
from zhiwang.hotline.services import deliver_due
from zhiwang.taxonomy.models import Category
from zhiwang.webhooks.models import OutboundStatus


def receive(hotline: Hotline, order_no: str = "DG12345-0001", **fields: object) -> Case:
    response = hotline.post("/orders", order(order_no, **fields))
    assert response.status_code == 201, response.content
    return Case.objects.get(number=response.json()["case_number"])


def dispatched(hotline: Hotline, case: Case) -> Case:
    p = hotline.place
    workflow.case_accept(actor=p.dispatcher, case_id=case.pk, origin=ORIGIN)
    return workflow.case_dispatch(
        actor=p.dispatcher, case_id=case.pk, department_id=p.urban.pk, origin=ORIGIN
    )


def sent(hotline: Hotline) -> list[dict[str, object]]:
    """What the hotline's system received, each request's signature checked."""
    assert all(r.verified_with(SECRET) for r in hotline.receiver.requests)
    return [r.json for r in hotline.receiver.requests]


def test_round_trip_order_to_result_and_satisfaction(hotline: Hotline) -> None:
    p = hotline.place
    case = receive(hotline)
    assert case.channel == "hotline" and case.external_ref == "DG12345-0001"
    assert case.reporter == hotline.account and case.reporter_phone == "13800001111"
    assert case.category is not None and case.category.code == "E0101"
    assert case.grid is not None and case.grid.code == "441900003001001"

    dispatched(hotline, case)
    workflow.case_sign(actor=p.handler, case_id=case.pk, origin=ORIGIN)
    workflow.case_handle(actor=p.handler, case_id=case.pk, result="垃圾已清运", origin=ORIGIN)
    workflow.case_verify(actor=p.worker, case_id=case.pk, passed=True, origin=ORIGIN)
    workflow.case_revisit(actor=p.dispatcher, case_id=case.pk, rating=5, comment="很满意", origin=ORIGIN)

    assert deliver_due() == 5
    messages = sent(hotline)
    assert [m["type"] for m in messages] == ["accepted", "dispatched", "handled", "closed", "satisfaction"]
    assert {m["order_no"] for m in messages} == {"DG12345-0001"}
    assert messages[1]["data"]["to"] == p.urban.name  # type: ignore[index]
    assert messages[2]["data"]["result"] == "垃圾已清运"  # type: ignore[index]
    assert messages[4]["data"] == {"rating": 5, "satisfied": True, "comment": "很满意"}
    assert set(HotlineMessage.objects.values_list("status", flat=True)) == {OutboundStatus.SENT}
    assert deliver_due() == 0  # nothing is sent twice


def test_the_hotlines_satisfaction_closes_the_case_and_is_not_echoed(hotline: Hotline) -> None:
    p = hotline.place
    case = receive(hotline)
    dispatched(hotline, case)
    workflow.case_sign(actor=p.handler, case_id=case.pk, origin=ORIGIN)
    workflow.case_handle(actor=p.handler, case_id=case.pk, result="已清理", origin=ORIGIN)
    workflow.case_verify(actor=p.worker, case_id=case.pk, passed=True, origin=ORIGIN)

    response = hotline.post("/orders/DG12345-0001/satisfaction", {"rating": 4, "comment": "满意"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.CLOSED
    case.refresh_from_db()
    assert case.rating == 4 and case.status == Status.CLOSED
    deliver_due()
    assert [m["type"] for m in sent(hotline)][-1] == "closed"
    assert not HotlineMessage.objects.filter(type="satisfaction").exists()


def test_a_resent_order_returns_the_same_case(hotline: Hotline) -> None:
    first = hotline.post("/orders", order())
    again = hotline.post("/orders", order(content="重复推送"))

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["case_number"] == first.json()["case_number"]
    assert again.json()["created"] is False
    assert Case.objects.count() == 1 and HotlineOrder.objects.count() == 1


def test_a_replayed_request_is_refused(hotline: Hotline) -> None:
    body = order()
    at = time.time()
    assert hotline.post("/orders", body, at=at).status_code == 201

    replay = hotline.post("/orders", body, at=at)  # the very same bytes and headers

    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "replayed"
    assert set(replay.json()["error"]) == {"code", "message", "details"}


def test_a_stale_request_is_refused_and_changes_nothing(hotline: Hotline) -> None:
    response = hotline.post("/orders", order(), at=time.time() - 301)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_request"
    assert not Case.objects.exists()


def test_a_tampered_request_is_refused_and_changes_nothing(hotline: Hotline) -> None:
    tampered = order(content="篡改后的内容").__repr__()  # any other bytes than the ones signed
    response = hotline.post("/orders", order(), body=tampered.encode())

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    unsigned = hotline.post("/orders", order(), headers={})
    assert unsigned.status_code == 401
    assert not Case.objects.exists()


def test_an_unconfigured_exchange_refuses_everything(hotline: Hotline, settings: object) -> None:
    settings.ZHIWANG_HOTLINE_SECRET = ""  # type: ignore[attr-defined]
    response = hotline.post("/orders", order())
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "hotline_not_configured"


def test_return_both_ways_refused_then_approved(hotline: Hotline) -> None:
    p = hotline.place
    case = dispatched(hotline, receive(hotline))
    early = hotline.post("/orders/DG12345-0001/return-outcome", {"approved": True, "note": "同意"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "no_return_requested"

    workflow.case_return(actor=p.handler, case_id=case.pk, reason="不属于城管职责", origin=ORIGIN)
    deliver_due()
    returned = [m for m in sent(hotline) if m["type"] == "returned"]
    assert returned and returned[0]["data"] == {"reason": "不属于城管职责", "by": p.urban.name}

    refused = hotline.post(
        "/orders/DG12345-0001/return-outcome", {"approved": False, "note": "属地管理，请继续办理"}
    )
    assert refused.status_code == 200, refused.content
    case.refresh_from_db()
    assert case.status == Status.RETURNED and case.supervision_count == 1

    approved = hotline.post("/orders/DG12345-0001/return-outcome", {"approved": True, "note": "改派住建部门"})
    assert approved.status_code == 200, approved.content
    case.refresh_from_db()
    assert case.status == Status.PARKED
    assert case.events.filter(kind="park", note="改派住建部门").exists()


def test_approved_return_of_a_case_not_yet_accepted_rejects_it(hotline: Hotline) -> None:
    case = receive(hotline)
    order_row = HotlineOrder.objects.get(case=case)
    HotlineMessage.objects.create(order=order_row, type="returned", payload={}, status=OutboundStatus.SENT)

    response = hotline.post("/orders/DG12345-0001/return-outcome", {"approved": True, "note": "非本市事项"})

    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.status == Status.REJECTED


def test_extension_both_ways(hotline: Hotline) -> None:
    p = hotline.place
    case = dispatched(hotline, receive(hotline))
    workflow.case_request_extension(
        actor=p.handler,
        case_id=case.pk,
        amount=2,
        unit="working_days",
        reason="需协调产权单位",
        origin=ORIGIN,
    )
    deliver_due()
    asked = [m for m in sent(hotline) if m["type"] == "extension_requested"]
    assert asked[0]["data"] == {"reason": "需协调产权单位", "amount": 2, "unit": "working_days"}

    response = hotline.post("/orders/DG12345-0001/extension-decision", {"approved": True, "note": "同意延期"})

    assert response.status_code == 200, response.content
    extension = Extension.objects.get(case=case)
    assert extension.decision == Extension.Decision.APPROVED and extension.decided_by == hotline.account
    case.refresh_from_db()
    assert case.extension_seconds > 0 and case.paused_since is None
    again = hotline.post("/orders/DG12345-0001/extension-decision", {"approved": False})
    assert again.status_code == 409


def test_supervision_and_reopen(hotline: Hotline) -> None:
    p = hotline.place
    case = dispatched(hotline, receive(hotline))
    response = hotline.post("/orders/DG12345-0001/supervise", {"note": "市民再次来电催办"})
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.supervision_count == 1

    workflow.case_sign(actor=p.handler, case_id=case.pk, origin=ORIGIN)
    workflow.case_handle(actor=p.handler, case_id=case.pk, result="已清理", origin=ORIGIN)
    workflow.case_verify(actor=p.worker, case_id=case.pk, passed=True, origin=ORIGIN)
    reopened = hotline.post("/orders/DG12345-0001/reopen", {"reason": "市民反映仍有垃圾"})

    assert reopened.status_code == 200, reopened.content
    case.refresh_from_db()
    assert case.status == Status.SIGNED and case.rework_count == 1 and case.rating == 1
    unknown = hotline.post("/orders/NOPE/supervise", {"note": "催办"})
    assert unknown.status_code == 404


def test_failed_messages_back_off_and_are_sent_later(hotline: Hotline) -> None:
    receive(hotline)
    case = Case.objects.get()
    workflow.case_accept(actor=hotline.place.dispatcher, case_id=case.pk, origin=ORIGIN)
    hotline.receiver.statuses = [500]
    start = timezone.now()

    assert deliver_due(now=start) == 0
    message = HotlineMessage.objects.get()
    assert message.status == OutboundStatus.QUEUED and message.attempts == 1
    assert message.last_status_code == 500
    assert message.next_attempt_at == start + timedelta(seconds=30)
    assert deliver_due(now=start + timedelta(seconds=10)) == 0  # still waiting
    assert deliver_due(now=start + timedelta(seconds=31)) == 1
    message.refresh_from_db()
    assert message.status == OutboundStatus.SENT and message.attempts == 2
    assert len(hotline.receiver.requests) == 2
    assert hotline.receiver.requests[0].body == hotline.receiver.requests[1].body


def test_a_refused_message_fails_for_good(hotline: Hotline) -> None:
    case = receive(hotline)
    workflow.case_accept(actor=hotline.place.dispatcher, case_id=case.pk, origin=ORIGIN)
    hotline.receiver.statuses = [400]
    deliver_due()
    message = HotlineMessage.objects.get()
    assert message.status == OutboundStatus.FAILED and message.last_status_code == 400


def test_the_hotlines_category_is_mapped_and_an_unknown_one_kept(hotline: Hotline) -> None:
    HotlineCategoryMap.objects.create(hotline_code="HL-0301", category=Category.objects.get(code="E0301"))
    mapped = receive(hotline, "DG-1", category="HL-0301")
    unknown = receive(hotline, "DG-2", category="HL-9999")

    assert mapped.category is not None and mapped.category.code == "E0301"
    assert unknown.category is None and unknown.extra["hotline_category"] == "HL-9999"


def test_an_address_without_coordinates_lies_in_the_area_named(hotline: Hotline) -> None:
    case = receive(hotline, location={"address": "东城街道第1社区某巷3号", "area_code": "441900003001"})

    assert case.grid_path.startswith(hotline.place.city["441900003001"].path)
    assert case.address == "东城街道第1社区某巷3号" and case.extra["location_approximate"] is True
    nowhere = hotline.post("/orders", order("DG-3", location={"address": ""}))
    assert nowhere.status_code == 400 and nowhere.json()["error"]["code"] == "location_required"


def test_coordinates_in_gcj02_are_converted(hotline: Hotline) -> None:
    case = receive(hotline, location={"lon": 113.625, "lat": 22.947, "coord_system": "gcj02"})
    assert case.source_system == "gcj02" and case.lon != pytest.approx(113.625, abs=1e-6)


def test_the_account_command_sets_up_the_machine_account(place: object) -> None:
    call_command("hotline_account", city="441900")
    call_command("hotline_account", city="441900")  # again: nothing more

    assignment = RoleAssignment.objects.get(user__username="hotline-12345")
    assert assignment.role == Role.CITY_COMMANDER and assignment.grid is not None
    assert assignment.grid.code == "441900" and not assignment.user.has_usable_password()
