"""Webhooks: subscriptions by administrators, deliveries written with case events, signed, retried
with backoff, dead after N attempts, visible and replayable; never another department's cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.cases.conftest import ORIGIN, POINT, Place
from tests.webhooks.receiver import Receiver, running_receiver
from zhiwang.accounts.models import Role, User
from zhiwang.cases import services as workflow
from zhiwang.cases.intake import case_report
from zhiwang.cases.models import Case
from zhiwang.webhooks.models import OutboundStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from zhiwang.webhooks.services import deliver_due

EVENTS = ["case.dispatched", "case.signed", "case.handled", "case.returned", "case.supervised"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def admin(place: Place, make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMINISTRATOR, grid=place.city["441900003"], username="dc-admin")


def subscribe(client: Client, department_id: int, url: str, events: list[str] | None = None) -> Any:
    return client.post(
        "/api/v1/webhooks/subscriptions",
        data={
            "department_id": department_id,
            "name": "城管业务系统",
            "url": url,
            "event_types": events or EVENTS,
        },
        content_type="application/json",
    )


def dispatched_case(place: Place, department_id: int) -> Case:
    case = case_report(
        actor=place.worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description="垃圾",
        category_code="E0101",
        origin=ORIGIN,
    ).case
    workflow.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    return workflow.case_dispatch(
        actor=place.dispatcher, case_id=case.pk, department_id=department_id, origin=ORIGIN
    )


def test_deliveries_are_signed_with_the_subscriptions_secret(
    place: Place, admin: User, receiver: Receiver, api_client: Callable[[User | None], Client]
) -> None:
    created = subscribe(api_client(admin), place.urban.pk, receiver.url)
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert len(secret) >= 32

    case = dispatched_case(place, place.urban.pk)
    workflow.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)

    assert deliver_due() == 2
    first, second = receiver.requests
    assert first.verified_with(secret) and second.verified_with(secret)
    assert not first.verified_with("another-secret")
    assert first.headers["X-Zhiwang-Event"] == "case.dispatched"
    assert first.json["case"]["number"] == case.number and first.json["case"]["department"] == "DC-URBAN"
    assert second.json["event"] == "case.signed"
    assert "reporter_phone" not in first.json["case"]


def test_a_departments_subscription_never_hears_another_departments_cases(
    place: Place, admin: User, receiver: Receiver, make_user: Callable[..., User]
) -> None:
    ours = WebhookSubscription.objects.create(
        department=place.urban, name="ours", url=receiver.url, secret="a" * 40, event_types=EVENTS
    )
    theirs = WebhookSubscription.objects.create(
        department=place.outsider_handler.assignments.get().department,  # 虎门
        name="theirs",
        url=receiver.url,
        secret="b" * 40,
        event_types=EVENTS,
    )
    fire = WebhookSubscription.objects.create(
        department=place.fire, name="fire", url=receiver.url, secret="c" * 40, event_types=EVENTS
    )
    case = dispatched_case(place, place.urban.pk)
    workflow.case_supervise(actor=place.town, case_id=case.pk, note="尽快", origin=ORIGIN)
    workflow.case_return(actor=place.handler, case_id=case.pk, reason="不属于本部门", origin=ORIGIN)

    kinds = list(WebhookDelivery.objects.filter(subscription=ours).values_list("event_type", flat=True))
    assert sorted(kinds) == ["case.dispatched", "case.returned", "case.supervised"]
    assert not WebhookDelivery.objects.filter(subscription__in=[theirs, fire]).exists()
    # Re-dispatched to the fire station: from then on only the fire station's system hears of it.
    workflow.case_dispatch(
        actor=place.dispatcher, case_id=case.pk, department_id=place.fire.pk, origin=ORIGIN
    )
    assert WebhookDelivery.objects.filter(subscription=fire, event_type="case.dispatched").count() == 1
    assert WebhookDelivery.objects.filter(subscription=ours).count() == 3


def test_only_the_event_types_chosen_are_sent(place: Place, receiver: Receiver) -> None:
    WebhookSubscription.objects.create(
        department=place.urban, name="x", url=receiver.url, secret="s" * 40, event_types=["case.handled"]
    )
    case = dispatched_case(place, place.urban.pk)
    workflow.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)
    assert not WebhookDelivery.objects.exists()
    workflow.case_handle(actor=place.handler, case_id=case.pk, result="好了", origin=ORIGIN)
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["case.handled"]


def test_a_failed_delivery_is_retried_with_backoff_then_dies_and_is_replayed(
    place: Place,
    admin: User,
    receiver: Receiver,
    settings: Any,
    api_client: Callable[[User | None], Client],
) -> None:
    settings.ZHIWANG_WEBHOOK_MAX_ATTEMPTS = 3
    WebhookSubscription.objects.create(
        department=place.urban, name="x", url=receiver.url, secret="s" * 40, event_types=EVENTS
    )
    dispatched_case(place, place.urban.pk)
    receiver.statuses = [503, 503, 500]
    start = timezone.now()

    assert deliver_due(now=start) == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == OutboundStatus.QUEUED and delivery.last_status_code == 503
    assert delivery.next_attempt_at == start + timedelta(seconds=30)
    assert deliver_due(now=start + timedelta(seconds=20)) == 0
    assert len(receiver.requests) == 1  # not due yet: not tried
    deliver_due(now=start + timedelta(seconds=31))
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at == start + timedelta(seconds=31 + 60)
    deliver_due(now=start + timedelta(seconds=92))
    delivery.refresh_from_db()
    assert delivery.status == OutboundStatus.DEAD and delivery.attempts == 3
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)) == [
        500,
        503,
        503,
    ]

    client = api_client(admin)
    listed = client.get("/api/v1/webhooks/deliveries?status=dead")
    assert listed.status_code == 200
    item = listed.json()["items"][0]
    assert item["id"] == delivery.pk and [a["status_code"] for a in item["recent_attempts"]] == [
        500,
        503,
        503,
    ]

    replayed = client.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/replay")
    assert replayed.status_code == 200, replayed.content
    assert replayed.json()["status"] == OutboundStatus.QUEUED and replayed.json()["attempts"] == 0
    again = client.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/replay")
    assert again.status_code == 409
    assert deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == OutboundStatus.SENT
    assert receiver.requests[-1].json == receiver.requests[0].json


def test_the_delivery_list_makes_a_fixed_number_of_queries(
    place: Place,
    admin: User,
    receiver: Receiver,
    api_client: Callable[[User | None], Client],
    django_assert_max_num_queries: Any,
) -> None:
    WebhookSubscription.objects.create(
        department=place.urban, name="x", url=receiver.url, secret="s" * 40, event_types=EVENTS
    )
    for _ in range(4):
        case = dispatched_case(place, place.urban.pk)
        workflow.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)
    receiver.statuses = [500] * 3
    deliver_due()
    client = api_client(admin)
    client.get("/api/v1/webhooks/deliveries")  # warm the session and the scope
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/webhooks/deliveries")
    assert response.json()["count"] == 8


def test_only_administrators_of_the_department_manage_its_webhooks(
    place: Place, admin: User, make_user: Callable[..., User], api_client: Callable[[User | None], Client]
) -> None:
    humen_admin = make_user(Role.ADMINISTRATOR, grid=place.city["441900101"])
    assert subscribe(api_client(humen_admin), place.urban.pk, "https://urban.example/hook").status_code == 403
    assert (
        subscribe(api_client(place.handler), place.urban.pk, "https://urban.example/hook").status_code == 403
    )
    bad = subscribe(api_client(admin), place.urban.pk, "https://urban.example/hook", ["case.nonsense"])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_event_types"
    assert not WebhookSubscription.objects.exists()

    created = subscribe(api_client(admin), place.urban.pk, "https://urban.example/hook")
    assert created.status_code == 201
    assert api_client(humen_admin).get("/api/v1/webhooks/subscriptions").json()["count"] == 0
    mine = api_client(admin).get("/api/v1/webhooks/subscriptions").json()
    assert mine["count"] == 1 and "secret" not in mine["items"][0]

    sub_id = created.json()["id"]
    paused = api_client(admin).patch(
        f"/api/v1/webhooks/subscriptions/{sub_id}",
        data={"is_active": False, "rotate_secret": True},
        content_type="application/json",
    )
    assert paused.status_code == 200 and paused.json()["secret"] not in ("", created.json()["secret"])
    outsider = api_client(humen_admin).patch(
        f"/api/v1/webhooks/subscriptions/{sub_id}", data={"is_active": True}, content_type="application/json"
    )
    assert outsider.status_code == 403
    assert WebhookSubscription.objects.get().is_active is False


def test_the_admin_action_replays_deliveries(place: Place, receiver: Receiver, superuser: User) -> None:
    WebhookSubscription.objects.create(
        department=place.urban, name="x", url=receiver.url, secret="s" * 40, event_types=EVENTS
    )
    dispatched_case(place, place.urban.pk)
    deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == OutboundStatus.SENT
    client = Client()
    client.force_login(superuser)
    session = client.session
    session["zhiwang_second_factor_ok"] = True
    session.save()

    response = client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )

    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == OutboundStatus.QUEUED
    assert deliver_due() == 1 and len(receiver.requests) == 2
