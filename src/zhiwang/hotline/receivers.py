"""Case events of hotline cases become messages to the hotline in the transaction that records
them. Connected in `HotlineConfig.ready`: `zhiwang.cases` knows nothing of the hotline."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save

from zhiwang.cases.models import CaseEvent


def queue_messages(
    sender: type[CaseEvent], instance: CaseEvent, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if not created or raw:
        return
    from zhiwang.hotline.services import messages_queue

    messages_queue(instance)


def connect() -> None:
    post_save.connect(queue_messages, sender=CaseEvent, dispatch_uid="hotline.queue_messages")
