"""Periodic jobs of the notifications app, found by `zhiwang worker` (see `zhiwang.common.periodic`)."""

from __future__ import annotations

import logging

from zhiwang.common import periodic
from zhiwang.notifications.services import deliver_due

logger = logging.getLogger("zhiwang.notifications")


@periodic.register("notifications.deliver_due", every_seconds=30)
def deliver_due_messages() -> None:
    """The safety net under the `deliver_outbox` task: retries that came due, enqueues that failed."""
    sent = deliver_due()
    if sent:
        logger.info("Delivered %s outbox message(s).", sent)
