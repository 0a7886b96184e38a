"""Background tasks of the notifications app (django-tasks, run by `zhiwang worker`)."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="notifications")
def deliver_outbox() -> int:
    """Deliver the outbox messages that are due; enqueued after every commit that queues some."""
    from zhiwang.notifications.services import deliver_due

    return deliver_due()
