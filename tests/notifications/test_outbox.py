"""The outbox: queued with the caller's transaction, delivered after commit, retried with backoff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.notifications.conftest import RecordingAdapter
from zhiwang.accounts.models import Role, User
from zhiwang.audit.models import AuditEntry
from zhiwang.common.errors import PermissionDenied
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode
from zhiwang.notifications import adapters, services
from zhiwang.notifications.adapters import DeliveryError, enabled_channels
from zhiwang.notifications.models import Notification, OutboxMessage, OutboxStatus
from zhiwang.notifications.services import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    deliver_due,
    notify,
    outbox_retry,
    retry_delay,
)


class Boom(Exception):
    pass


def _notify(users: list[User], **kwargs: Any) -> list[OutboxMessage]:
    params: dict[str, Any] = {
        "subject": "新派遣案件",
        "body": "案件 DG-1 已派遣给东城城管，请签收处置。",
        "link": "/console/cases/1/",
        "object_type": "cases.case",
        "object_id": "1",
        **kwargs,
    }
    with transaction.atomic():
        return notify(recipients=users, **params)


def test_a_rolled_back_transaction_queues_and_enqueues_nothing(
    make_user: Callable[..., User], django_capture_on_commit_callbacks: Any
) -> None:
    user = make_user()
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(Boom):
        with transaction.atomic():
            messages = notify(recipients=[user], subject="s", body="b")
            assert len(messages) == 2  # written inside the transaction…
            raise Boom
    assert callbacks == []  # …and gone with it: no delivery is scheduled
    assert not OutboxMessage.objects.exists()
    assert not DBTaskResult.objects.exists()
    assert not Notification.objects.exists()


def test_after_commit_delivery_fills_the_inbox_and_marks_the_rows_sent(
    make_user: Callable[..., User], django_capture_on_commit_callbacks: Any, capsys: Any
) -> None:
    user = make_user(username="wang")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        messages = _notify([user])
    assert [m.channel for m in messages] == ["inapp", "console"]
    assert {m.status for m in messages} == {OutboxStatus.QUEUED}
    assert not Notification.objects.exists()  # nothing is delivered inside the request

    # After commit exactly one delivery task was enqueued on the notifications queue.
    assert len(callbacks) == 1
    task = DBTaskResult.objects.get()
    assert task.queue_name == "notifications"
    assert task.task_path == "zhiwang.notifications.tasks.deliver_outbox"

    assert task.task.call() == 2  # what the worker does with it
    notification = Notification.objects.get()
    assert notification.recipient == user
    assert (notification.title, notification.link) == ("新派遣案件", "/console/cases/1/")
    assert (notification.object_type, notification.object_id) == ("cases.case", "1")
    assert notification.read_at is None and notification.source_id == messages[0].pk
    for message in OutboxMessage.objects.all():
        assert message.status == OutboxStatus.SENT and message.attempts == 1 and message.sent_at
    assert "→ wang: 新派遣案件" in capsys.readouterr().out  # the console channel of the demo
    assert deliver_due() == 0  # nothing is sent twice


def test_notify_outside_a_transaction_is_refused(
    make_user: Callable[..., User], transactional_db: None
) -> None:
    user = make_user()
    with pytest.raises(RuntimeError, match="inside the caller's transaction"):
        notify(recipients=[user], subject="s", body="b")
    assert not OutboxMessage.objects.exists()


def test_recipients_channels_and_addresses(make_user: Callable[..., User], settings: Any) -> None:
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,sms,console"
    settings.ZHIWANG_SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    with_phone, without_phone, inactive = make_user(), make_user(), make_user()
    with_phone.phone = " 13800138000 "
    with_phone.save()
    inactive.is_active = False
    inactive.save()
    assert enabled_channels() == ["inapp", "sms", "console"]

    messages = _notify([with_phone, without_phone, with_phone, inactive])
    rows = sorted((m.recipient_id, m.channel, m.address) for m in messages)
    assert rows == sorted(
        [
            (with_phone.pk, "inapp", ""),
            (with_phone.pk, "sms", "13800138000"),
            (with_phone.pk, "console", ""),
            (without_phone.pk, "inapp", ""),  # no phone: no SMS
            (without_phone.pk, "console", ""),
        ]
    )
    # Limiting the channels: the inbox always keeps its copy.
    limited = _notify([with_phone], channels=["sms"])
    assert sorted(m.channel for m in limited) == ["inapp", "sms"]
    with pytest.raises(ValueError, match="Unknown"):
        _notify([with_phone], channels=["pigeon"])
    assert _notify([]) == []


def test_without_a_gateway_url_no_sms_or_wechat_rows(make_user: Callable[..., User], settings: Any) -> None:
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,sms,wechat"
    user = make_user()
    user.phone = "13800138000"
    user.save()
    assert enabled_channels() == ["inapp"]
    assert [m.channel for m in _notify([user])] == ["inapp"]


def test_a_long_subject_is_shortened_and_a_long_link_refused(make_user: Callable[..., User]) -> None:
    user = make_user()
    (message, _) = _notify([user], subject="长" * 300)
    assert len(message.subject) == 200 and message.subject.endswith("…")
    with pytest.raises(ValueError, match="link"):
        _notify([user], link="/" + "x" * 600)


def test_retryable_failures_back_off_and_the_message_dies_after_the_maximum(
    make_user: Callable[..., User], console_adapter: RecordingAdapter
) -> None:
    _notify([make_user()], channels=["console"])
    console_adapter.errors = [DeliveryError("gateway down", retryable=True) for _ in range(MAX_ATTEMPTS)]
    message = OutboxMessage.objects.get(channel="console")
    now, waits = timezone.now(), []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliver_due(now=now) == (1 if attempt == 1 else 0)  # the first round sends the in-app copy
        message.refresh_from_db()
        assert message.attempts == attempt and message.last_error == "gateway down"
        if attempt == MAX_ATTEMPTS:
            break
        assert message.status == OutboxStatus.QUEUED
        assert deliver_due(now=message.next_attempt_at - timedelta(seconds=1)) == 0  # not yet due
        waits.append(int((message.next_attempt_at - now).total_seconds()))
        now = message.next_attempt_at
    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert message.status == OutboxStatus.DEAD and message.sent_at is None
    assert console_adapter.sent == []
    assert deliver_due(now=now + timedelta(days=1)) == 0  # the dead stay dead
    assert retry_delay(9) == retry_delay(50) == timedelta(hours=1)  # the cap


def test_a_retry_that_succeeds_marks_the_message_sent(
    make_user: Callable[..., User], console_adapter: RecordingAdapter
) -> None:
    _notify([make_user()], channels=["console"])
    console_adapter.errors = [DeliveryError("timeout", retryable=True)]
    now = timezone.now()
    assert deliver_due(now=now) == 1  # in-app sent, console failed once
    message = OutboxMessage.objects.get(channel="console")
    assert message.status == OutboxStatus.QUEUED and message.attempts == 1
    assert deliver_due(now=message.next_attempt_at) == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 2 and message.last_error == ""
    assert console_adapter.sent == [(message.pk, console_adapter.sent[0][1])]


def test_a_non_retryable_failure_marks_the_message_failed(
    make_user: Callable[..., User], console_adapter: RecordingAdapter
) -> None:
    _notify([make_user()], channels=["console"])
    console_adapter.errors = [DeliveryError("no such number", retryable=False)]
    deliver_due()
    message = OutboxMessage.objects.get(channel="console")
    assert (message.status, message.attempts, message.last_error) == (
        OutboxStatus.FAILED,
        1,
        "no such number",
    )
    assert deliver_due(now=timezone.now() + timedelta(days=1)) == 0


def test_an_unexpected_adapter_error_is_retried(
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch
) -> None:
    _notify([make_user()], channels=[])

    class Broken:
        channel = "inapp"

        def send(self, message: OutboxMessage) -> None:
            raise KeyError("bug")

    monkeypatch.setitem(adapters.ADAPTERS, "inapp", Broken)
    assert deliver_due() == 0
    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.QUEUED and message.attempts == 1
    assert message.last_error.startswith("KeyError")


def test_a_channel_switched_off_after_queueing_fails_the_message(
    make_user: Callable[..., User], settings: Any
) -> None:
    _notify([make_user()], channels=["console"])
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp"
    assert deliver_due() == 1
    message = OutboxMessage.objects.get(channel="console")
    assert message.status == OutboxStatus.FAILED and "not enabled" in message.last_error


def test_a_claimed_message_is_not_handed_out_again_until_its_lease_ends(
    make_user: Callable[..., User], console_adapter: RecordingAdapter
) -> None:
    """A worker that dies during an attempt: the message comes back after the lease, and the dead
    worker's late answer cannot overwrite the new attempt's."""
    _notify([make_user()], channels=[])
    now = timezone.now()
    claimed = services._claim_next(now)
    assert claimed is not None and claimed.attempts == 1
    assert deliver_due(now=now + CLAIM_LEASE - timedelta(seconds=1)) == 0  # still leased
    assert not Notification.objects.exists()

    assert deliver_due(now=now + CLAIM_LEASE) == 1  # the lease ran out: tried again
    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.SENT and message.attempts == 2
    # The first worker wakes up and reports a failure: refused, the message stays sent.
    assert services._settle(claimed, status=OutboxStatus.FAILED, last_error="late") is False
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.last_error == ""
    # Delivering the in-app copy twice would not make two inbox rows either.
    adapters.adapter_for("inapp").send(message)
    assert Notification.objects.count() == 1


def test_an_abandoned_last_attempt_makes_the_message_dead(make_user: Callable[..., User]) -> None:
    _notify([make_user()], channels=[])
    OutboxMessage.objects.update(attempts=MAX_ATTEMPTS, last_error="gateway down")
    assert deliver_due() == 0
    message = OutboxMessage.objects.get()
    assert message.status == OutboxStatus.DEAD and message.last_error == "gateway down"
    assert not Notification.objects.exists()


def test_retrying_failed_and_dead_messages(
    make_user: Callable[..., User], city: dict[str, GridNode], superuser: User
) -> None:
    user = make_user()
    failed, dead, queued = (_notify([user], channels=[])[0].pk for _ in range(3))
    OutboxMessage.objects.filter(pk=failed).update(status=OutboxStatus.FAILED, attempts=1)
    OutboxMessage.objects.filter(pk=dead).update(status=OutboxStatus.DEAD, attempts=MAX_ATTEMPTS)
    worker = make_user(Role.GRID_WORKER, grid=city["441900003001001"])
    with pytest.raises(PermissionDenied):
        outbox_retry(actor=worker, message_ids=[failed], origin=Origin.cli())

    admin = make_user(Role.ADMINISTRATOR, grid=city["441900003"])
    assert outbox_retry(actor=admin, message_ids=[failed, dead, queued], origin=Origin.cli()) == 2
    rows = {m.pk: m for m in OutboxMessage.objects.filter(pk__in=[failed, dead])}
    assert {(m.status, m.attempts) for m in rows.values()} == {(OutboxStatus.QUEUED, 0)}
    entry = AuditEntry.objects.get(action="notifications.outbox_retry")
    assert entry.actor == admin and entry.details == {"ids": [failed, dead]}
    assert deliver_due() == 3
