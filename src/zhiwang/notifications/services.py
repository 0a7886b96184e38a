"""Writing notifications: queueing them in the outbox, delivering them, reading them.

`notify` is called by workflows inside their own transaction: the outbox rows commit or roll back
with the change they announce, and delivery is scheduled only after commit. `deliver_due` runs in
the background (the `deliver_outbox` task and the `notifications.deliver_due` periodic job) and
delivers each message at least once and, barring a crash in the middle of an attempt, exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import OperationalError, transaction
from django.utils import timezone

from zhiwang.accounts.models import User
from zhiwang.accounts.permissions import require_authenticated
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import NotFound, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.notifications.adapters import DeliveryError, adapter_for, enabled_channels
from zhiwang.notifications.models import Channel, Notification, OutboxMessage, OutboxStatus
from zhiwang.notifications.permissions import check_can_manage_outbox
from zhiwang.notifications.tasks import deliver_outbox

Actor = AbstractBaseUser | AnonymousUser | None
logger = logging.getLogger("zhiwang.notifications")

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# How long an attempt may take before the message counts as abandoned and is tried again. Far longer
# than any gateway timeout, so a message is never handed to two workers at once.
CLAIM_LEASE = timedelta(minutes=5)
SUBJECT_MAX = 200
LINK_MAX = 500


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, 4 min, … at most 1 h."""
    return min(BACKOFF_BASE * (1 << min(max(attempts - 1, 0), 20)), BACKOFF_CAP)


# --- queueing ---------------------------------------------------------------------------------


def _address(channel: str, user: User) -> str | None:
    """Where `channel` reaches `user`: "" when no address is needed, None when it cannot."""
    if channel == Channel.SMS:
        return (user.phone or "").strip() or None
    if channel == Channel.WECHAT:
        # No account field holds an openid yet; a deployment that adds `wechat_openid` gets WeChat.
        return str(getattr(user, "wechat_openid", "") or "").strip() or None
    return ""


def _channels(requested: Sequence[str] | None) -> list[str]:
    enabled = enabled_channels()
    if requested is None:
        return enabled
    unknown = set(requested) - set(Channel.values)
    if unknown:
        raise ValueError(f"Unknown notification channels: {sorted(unknown)}")
    # The inbox always gets its copy; the others only when asked for and enabled here.
    return [c for c in enabled if c == Channel.INAPP or c in requested]


def notify(
    *,
    recipients: Iterable[User],
    subject: str,
    body: str,
    link: str = "",
    object_type: str = "",
    object_id: str = "",
    channels: Sequence[str] | None = None,
) -> list[OutboxMessage]:
    """Queue a notification for every recipient over every enabled channel; deliver after commit.

    Call inside the transaction of the change being announced: if it rolls back, nothing is queued
    and nothing is sent. Each active recipient gets one outbox row per channel: always the in-app
    inbox, and each other enabled channel (`channels` limits them) that can reach them (SMS needs
    a phone number). Inactive and repeated recipients are skipped.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify() must be called inside the caller's transaction.atomic() block.")
    if len(link) > LINK_MAX:
        raise ValueError(f"A notification link is at most {LINK_MAX} characters.")
    subject = _short(subject)
    wanted = _channels(channels)
    seen: set[int] = set()
    rows: list[OutboxMessage] = []
    for user in recipients:
        if user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        for channel in wanted:
            address = _address(channel, user)
            if address is None:
                continue
            rows.append(
                OutboxMessage(
                    channel=channel,
                    recipient=user,
                    address=address,
                    subject=subject,
                    body=body,
                    link=link,
                    object_type=object_type,
                    object_id=str(object_id),
                )
            )
    return _queue(rows)


def _short(subject: str) -> str:
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def _queue(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Write the outbox rows in the caller's transaction; delivery is scheduled after commit."""
    if not rows:
        return []
    messages = OutboxMessage.objects.bulk_create(rows)
    # Robust: should enqueueing fail, the periodic `notifications.deliver_due` job still delivers.
    transaction.on_commit(_schedule_delivery, robust=True)
    return messages


def notify_phones(
    *, phones: Iterable[str], subject: str, body: str, object_type: str = "", object_id: str = ""
) -> list[OutboxMessage]:
    """Queue a text message to people without an account (residents who reported by phone).

    Goes out by SMS where the SMS gateway is enabled, and on the console channel where that is on (the
    demo); there is no inbox to put it in. Same transaction rule as `notify`.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify_phones() must be called inside the caller's transaction.atomic() block.")
    subject = _short(subject)
    channels = [c for c in enabled_channels() if c in (Channel.SMS, Channel.CONSOLE)]
    numbers = list(dict.fromkeys(p.strip() for p in phones if p and p.strip()))
    rows = [
        OutboxMessage(
            channel=channel,
            address=number,
            subject=subject,
            body=body,
            object_type=object_type,
            object_id=str(object_id),
        )
        for number in numbers
        for channel in channels
    ]
    return _queue(rows)


def _schedule_delivery() -> None:
    deliver_outbox.enqueue()


# --- delivery ---------------------------------------------------------------------------------


def _claim_next(now: datetime) -> OutboxMessage | None:
    """Take the next due message for one attempt, in a short transaction of its own.

    The claim counts the attempt and moves `next_attempt_at` to the end of a lease, so the message
    is no longer due for anyone else; the attempt itself runs outside any transaction. PostgreSQL
    skips rows another worker is claiming (`SKIP LOCKED`); SQLite serialises writers (the project
    opens every transaction IMMEDIATE), so a claim there always sees the previous one.
    """
    with transaction.atomic():
        due = OutboxMessage.objects.filter(status=OutboxStatus.QUEUED, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "pk"
        )
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        message = due.first()
        if message is None:
            return None
        message.attempts += 1
        message.next_attempt_at = now + CLAIM_LEASE
        message.save(update_fields=["attempts", "next_attempt_at"])
        return message


def _settle(message: OutboxMessage, **fields: object) -> bool:
    """Record the outcome of an attempt, unless another worker has claimed the message since."""
    updated = OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxStatus.QUEUED, attempts=message.attempts
    ).update(**fields)
    if not updated:
        logger.warning("Outbox message %s was claimed again before its attempt finished.", message.pk)
    return bool(updated)


def _attempt(message: OutboxMessage, now: datetime) -> bool:
    """One delivery attempt of a claimed message; True when it was sent."""
    if message.attempts > MAX_ATTEMPTS:
        # Its last attempt was abandoned (the worker died in the middle of it).
        _settle(message, status=OutboxStatus.DEAD, last_error=message.last_error or "Attempt abandoned.")
        return False
    try:
        adapter_for(message.channel).send(message)
    except DeliveryError as exc:
        error, retryable = str(exc), exc.retryable
    except Exception as exc:  # an adapter's bug or the database: log it, try again later
        logger.exception("Delivering outbox message %s failed unexpectedly.", message.pk)
        error, retryable = f"{type(exc).__name__}: {exc}", True
    else:
        return _settle(message, status=OutboxStatus.SENT, sent_at=now, last_error="")
    error = error[:2000]
    if not retryable:
        logger.warning("Outbox message %s failed for good: %s", message.pk, error)
        _settle(message, status=OutboxStatus.FAILED, last_error=error)
    elif message.attempts >= MAX_ATTEMPTS:
        logger.warning("Outbox message %s is dead after %s attempts: %s", message.pk, message.attempts, error)
        _settle(message, status=OutboxStatus.DEAD, last_error=error)
    else:
        _settle(message, next_attempt_at=now + retry_delay(message.attempts), last_error=error)
    return False


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Attempt up to `limit` queued messages that are due at `now`; return how many were sent.

    Each message is claimed in its own short transaction and then sent, so concurrent workers (the
    task and the periodic job, or several processes) never send one message twice. A retryable
    failure waits `retry_delay(attempts)` and the message is dead after `MAX_ATTEMPTS`; any other
    failure marks it failed. Do not call it inside a transaction: the claims must commit.
    """
    sent = 0
    for _ in range(limit):
        moment = now or timezone.now()
        try:
            message = _claim_next(moment)
        except OperationalError as exc:
            # SQLite's writer lock stayed busy past its timeout: the next round goes on.
            logger.warning("Could not claim an outbox message: %s", exc)
            break
        if message is None:
            break
        if _attempt(message, moment):
            sent += 1
    return sent


# --- the inbox and the outbox -----------------------------------------------------------------


def notification_mark_read(*, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's own notifications read (again: no change). Others' are not found."""
    scope = require_authenticated(actor)
    notification = Notification.objects.filter(pk=notification_id, recipient_id=scope.user_id).first()
    if notification is None:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def outbox_retry(*, actor: Actor, message_ids: Iterable[int], origin: Origin) -> int:
    """Queue failed and dead messages again, due now, with a fresh count of attempts.

    Queued messages are left alone: one may be in the middle of an attempt right now.
    """
    check_can_manage_outbox(actor)
    ids = sorted({int(i) for i in message_ids})
    if not ids:
        raise ValidationFailed("Choose the messages to retry.", code="nothing_chosen")
    with transaction.atomic():
        retried = list(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=ids, status__in=(OutboxStatus.FAILED, OutboxStatus.DEAD))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        count = OutboxMessage.objects.filter(pk__in=retried).update(
            status=OutboxStatus.QUEUED, attempts=0, next_attempt_at=timezone.now()
        )
        if count:
            audit_record(
                actor=actor,
                action="notifications.outbox_retry",
                origin=origin,
                object_type="notifications.outboxmessage",
                object_id=retried[0] if len(retried) == 1 else "",
                details={"ids": retried},
            )
            transaction.on_commit(_schedule_delivery, robust=True)
    return count
