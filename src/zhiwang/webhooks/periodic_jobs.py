"""Periodic jobs of the webhooks app, found by `zhiwang worker` (see `zhiwang.common.periodic`)."""

from __future__ import annotations

import logging

from zhiwang.common import periodic
from zhiwang.webhooks.services import deliver_due

logger = logging.getLogger("zhiwang.webhooks")


@periodic.register("webhooks.deliver_due", every_seconds=15)
def deliver_due_webhooks() -> None:
    """Send the webhook deliveries that are due: new ones and retries whose wait is over."""
    sent = deliver_due()
    if sent:
        logger.info("Delivered %s webhook(s).", sent)
