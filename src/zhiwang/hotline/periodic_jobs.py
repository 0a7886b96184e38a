"""Periodic jobs of the hotline app, found by `zhiwang worker` (see `zhiwang.common.periodic`)."""

from __future__ import annotations

import logging

from zhiwang.common import periodic
from zhiwang.hotline.services import deliver_due

logger = logging.getLogger("zhiwang.hotline")


@periodic.register("hotline.deliver_due", every_seconds=15)
def deliver_due_messages() -> None:
    """Send the messages to the 12345 hotline that are due: new ones and retries whose wait is over."""
    sent = deliver_due()
    if sent:
        logger.info("Sent %s message(s) to the 12345 hotline.", sent)
