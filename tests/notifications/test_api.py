"""The inbox and outbox endpoints, through the router (the lead mounts it at /api/v1/notifications)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from ninja.testing import TestClient

from zhiwang.accounts.models import Role, User
from zhiwang.common.errors import ApplicationError, NotFound, PermissionDenied
from zhiwang.grids.models import GridNode
from zhiwang.notifications.api import router
from zhiwang.notifications.models import Notification, OutboxMessage, OutboxStatus
from zhiwang.notifications.schemas import mask_address
from zhiwang.notifications.services import deliver_due, notification_mark_read, notify

client = TestClient(router)


def _inbox_of(*users: User) -> None:
    with transaction.atomic():
        for n, user in enumerate(users):
            notify(
                recipients=[user],
                subject=f"案件待核查 {n}",
                body="请到现场核查。",
                link=f"/console/cases/{n}/",
                object_type="cases.case",
                object_id=str(n),
            )
    deliver_due()


def _status(call: Callable[[], Any]) -> int:
    try:
        return int(call().status_code)
    except ApplicationError as exc:  # zhiwang.api turns these into the HTTP answer
        return exc.status


def test_everyone_reads_only_their_own_notifications(make_user: Callable[..., User]) -> None:
    me, other = make_user(), make_user()
    _inbox_of(me, other, me)

    response = client.get("", user=me)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["title"] for i in items] == ["案件待核查 2", "案件待核查 0"]
    assert {i["is_read"] for i in items} == {False}
    assert response.json()["count"] == 2


def test_marking_read_and_the_unread_filter(make_user: Callable[..., User]) -> None:
    me = make_user()
    _inbox_of(me, me)
    first, second = Notification.objects.filter(recipient=me).order_by("pk")

    response = client.post(f"/{first.pk}/read", user=me)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == first.pk and body["is_read"] and body["read_at"]
    read_at = body["read_at"]
    # Again: no change.
    assert client.post(f"/{first.pk}/read", user=me).json()["read_at"] == read_at

    unread = client.get("?unread=true", user=me).json()["items"]
    assert [i["id"] for i in unread] == [second.pk]


def test_others_notifications_are_not_found(make_user: Callable[..., User]) -> None:
    me, other = make_user(), make_user()
    _inbox_of(other)
    theirs = Notification.objects.get(recipient=other)

    assert _status(lambda: client.post(f"/{theirs.pk}/read", user=me)) == 404
    assert _status(lambda: client.post("/999999/read", user=me)) == 404  # same as one that does not exist
    with pytest.raises(NotFound):
        notification_mark_read(actor=me, notification_id=theirs.pk)
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.get("", user=me).json()["count"] == 0


def test_anonymous_callers_are_refused(db: None) -> None:
    # The mounted API answers 401 before the handler; the service refuses on its own as well.
    with pytest.raises(PermissionDenied):
        client.get("")


def test_the_outbox_is_for_administrators(
    city: dict[str, GridNode], make_user: Callable[..., User], superuser: User, settings: Any
) -> None:
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,sms"
    settings.ZHIWANG_SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"  # closed: the SMS waits for a retry
    recipient = make_user(Role.GRID_WORKER, grid=city["441900003001001"])
    recipient.phone = "13800138000"
    recipient.save()
    _inbox_of(recipient)

    for role, node in [
        (Role.GRID_WORKER, "441900003001001"),
        (Role.TOWN_COMMANDER, "441900003"),
        (Role.CITY_COMMANDER, "441900"),
        (Role.LEADER, "441900003"),
    ]:
        reader = make_user(role, grid=city[node])
        assert _status(lambda: client.get("/outbox", user=reader)) == 403  # noqa: B023
    assert _status(lambda: client.get("/outbox", user=make_user())) == 403  # no role at all

    admin = make_user(Role.ADMINISTRATOR, grid=city["441900003001"])  # a community's administrator
    for reader in (admin, superuser):
        response = client.get("/outbox", user=reader)
        assert response.status_code == 200
        rows = {row["channel"]: row for row in response.json()["items"]}
        assert rows["inapp"]["status"] == OutboxStatus.SENT
        sms = rows["sms"]
        assert (sms["status"], sms["attempts"]) == (OutboxStatus.QUEUED, 1)
        assert "could not be reached" in sms["last_error"]
        assert sms["address"] == "138****8000"  # enough to tell recipients apart, not to call them
        assert sms["recipient_username"] == recipient.username
    failed = client.get("/outbox?status=queued", user=admin).json()["items"]
    assert [row["channel"] for row in failed] == ["sms"]
    assert _status(lambda: client.get("/outbox?status=bogus", user=admin)) == 400
    assert OutboxMessage.objects.count() == 2


def test_address_masking() -> None:
    assert mask_address("sms", "13800138000") == "138****8000"
    assert mask_address("wechat", "oAbCdEf123") == "oAbC…"
    assert mask_address("sms", "123") == "…"
    assert mask_address("inapp", "") == ""
