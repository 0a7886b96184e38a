"""Reliable delivery of signed messages, the way `zhiwang.notifications` delivers its outbox.

A message row is written in the transaction of the change it announces; a periodic job claims each
due row in a short transaction of its own (counting the attempt and taking a lease), sends it outside
any transaction, and settles the outcome only if nobody claimed the row again meanwhile. A retryable
failure waits `retry_delay(attempts)`; after `max_attempts` the row is dead; a final refusal marks it
failed. Administrators queue failed, dead or delivered rows again (a replay).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from zhiwang.webhooks.models import OutboundMessage, OutboundStatus
from zhiwang.webhooks.signing import SendError

logger = logging.getLogger("zhiwang.webhooks")

M = TypeVar("M", bound=OutboundMessage)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# Far longer than any HTTP timeout: a row is never handed to two workers at once.
CLAIM_LEASE = timedelta(minutes=5)
ERROR_MAX = 2000


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, 4 min, … at most 1 h."""
    return min(BACKOFF_BASE * (1 << min(max(attempts - 1, 0), 20)), BACKOFF_CAP)


def claim_next(due: QuerySet[M], now: datetime) -> M | None:
    """Take the next due row of `due` for one attempt, in a short transaction of its own."""
    with transaction.atomic():
        rows = due.filter(status=OutboundStatus.QUEUED, next_attempt_at__lte=now).order_by(
            "next_attempt_at", "pk"
        )
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        message = rows.first()
        if message is None:
            return None
        message.attempts += 1
        message.next_attempt_at = now + CLAIM_LEASE
        message.save(update_fields=["attempts", "next_attempt_at"])
        return message


def settle(message: OutboundMessage, **fields: object) -> bool:
    """Record an attempt's outcome, unless the row was claimed again since."""
    updated = (
        type(message)
        ._default_manager.filter(pk=message.pk, status=OutboundStatus.QUEUED, attempts=message.attempts)
        .update(**fields)
    )
    if not updated:
        logger.warning(
            "%s %s was claimed again before its attempt finished.", type(message).__name__, message.pk
        )
    return bool(updated)


def attempt(message: M, now: datetime, send: Callable[[M], int], max_attempts: int) -> bool:
    """One attempt at a claimed row; True when it was delivered."""
    if message.attempts > max_attempts:  # the last attempt was abandoned (a worker died in it)
        settle(message, status=OutboundStatus.DEAD, last_error=message.last_error or "Attempt abandoned.")
        return False
    code: int | None = None
    try:
        code = send(message)
    except SendError as exc:
        error, retryable, code = str(exc), exc.retryable, exc.status_code
    except Exception as exc:  # a bug or the database: log it, try again later
        logger.exception("Delivering %s %s failed unexpectedly.", type(message).__name__, message.pk)
        error, retryable = f"{type(exc).__name__}: {exc}", True
    else:
        return settle(message, status=OutboundStatus.SENT, sent_at=now, last_error="", last_status_code=code)
    error = error[:ERROR_MAX]
    if not retryable:
        settle(message, status=OutboundStatus.FAILED, last_error=error, last_status_code=code)
    elif message.attempts >= max_attempts:
        settle(message, status=OutboundStatus.DEAD, last_error=error, last_status_code=code)
    else:
        settle(
            message,
            next_attempt_at=now + retry_delay(message.attempts),
            last_error=error,
            last_status_code=code,
        )
    return False


def deliver_due(
    due: QuerySet[M],
    send: Callable[[M], int],
    *,
    max_attempts: int,
    now: datetime | None = None,
    limit: int = 100,
) -> int:
    """Attempt up to `limit` rows of `due` that are due at `now`; return how many were delivered.
    Do not call it inside a transaction: the claims must commit."""
    sent = 0
    for _ in range(limit):
        moment = now or timezone.now()
        try:
            message = claim_next(due, moment)
        except OperationalError as exc:  # SQLite's writer lock stayed busy: the next round goes on
            logger.warning("Could not claim an outbound message: %s", exc)
            break
        if message is None:
            break
        if attempt(message, moment, send, max_attempts):
            sent += 1
    return sent


def requeue(rows: QuerySet[M], *, now: datetime | None = None) -> list[int]:
    """Queue these rows again (due now, attempts counted afresh), except those queued already (one may
    be in the middle of an attempt). Call inside a transaction; returns the ids queued."""
    ids = list(
        rows.select_for_update()
        .exclude(status=OutboundStatus.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rows.model._default_manager.filter(pk__in=ids).update(
        status=OutboundStatus.QUEUED, attempts=0, next_attempt_at=now or timezone.now()
    )
    return ids
