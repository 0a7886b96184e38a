"""Two workers delivering at once never send one message twice.

What this proves on each database:

- PostgreSQL: each worker claims with ``SELECT … FOR UPDATE SKIP LOCKED``; the threads really run
  side by side, and `test_a_locked_message_is_skipped_not_waited_for` shows a claim passing over a
  row another transaction holds instead of waiting for it.
- SQLite: the project opens every transaction ``IMMEDIATE``, so claims are serialised by the writer
  lock; sending happens outside any transaction, so the two threads' sends still interleave. A
  worker that finds the lock busy past its timeout stops its round; a later round picks up the rest.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from tests.notifications.conftest import RecordingAdapter
from zhiwang.accounts.models import User
from zhiwang.notifications.models import OutboxMessage, OutboxStatus
from zhiwang.notifications.services import deliver_due

pytestmark = pytest.mark.django_db(transaction=True)


def _queue(user: User, count: int) -> list[int]:
    rows = [OutboxMessage(channel="console", recipient=user, subject=f"m{i}", body="") for i in range(count)]
    return [m.pk for m in OutboxMessage.objects.bulk_create(rows)]


def test_two_concurrent_workers_send_each_message_once(
    make_user: Callable[..., User], console_adapter: RecordingAdapter
) -> None:
    ids = _queue(make_user(), 40)
    console_adapter.delay = 0.005  # a gateway that takes a moment: the workers overlap
    start = threading.Barrier(2)
    results: dict[str, int] = {}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            results[threading.current_thread().name] = deliver_due(limit=100)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, name=f"worker-{n}") for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    swept = deliver_due()  # whatever a worker left when it found the lock busy

    sent = Counter(pk for pk, _ in console_adapter.sent)
    assert set(sent) == set(ids) and max(sent.values()) == 1, "a message was sent twice"
    assert sum(results.values()) + swept == len(ids)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


def test_a_locked_message_is_skipped_not_waited_for(
    make_user: Callable[..., User], console_adapter: RecordingAdapter
) -> None:
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers instead")
    locked, free = _queue(make_user(), 2)
    holding, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                OutboxMessage.objects.select_for_update().get(pk=locked)
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        assert deliver_due() == 1  # returns at once, without the row another worker holds
        assert [pk for pk, _ in console_adapter.sent] == [free]
        assert OutboxMessage.objects.get(pk=locked).attempts == 0
    finally:
        release.set()
        holder.join(timeout=30)
    assert deliver_due() == 1
    assert sorted(pk for pk, _ in console_adapter.sent) == sorted([locked, free])
