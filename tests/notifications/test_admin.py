"""The admin pages of the inbox and the outbox, and the outbox's "retry now" action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import checks
from django.db import transaction
from django.test import Client

from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.notifications.models import OutboxMessage, OutboxStatus
from zhiwang.notifications.services import notify


def test_admin_lists_and_retries_dead_messages(
    superuser: User, make_user: Callable[..., User], api_client: Callable[[User | None], Client]
) -> None:
    with transaction.atomic():
        (message,) = notify(recipients=[make_user()], subject="督办", body="请尽快处置。", channels=[])
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxStatus.DEAD, attempts=8)
    client = api_client(superuser)
    for url in ("/admin/notifications/outboxmessage/", "/admin/notifications/notification/"):
        assert client.get(url).status_code == 200
    assert client.get(f"/admin/notifications/outboxmessage/{message.pk}/change/").status_code == 200

    response = client.post(
        "/admin/notifications/outboxmessage/",
        {"action": "retry_now", "_selected_action": [message.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 message(s) queued again." in response.content.decode()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.QUEUED, 0)
    assert AuditEntry.objects.filter(action="notifications.outbox_retry", actor=superuser).exists()


def test_settings_checks(settings: Any) -> None:
    def ids() -> set[str]:
        return {m.id for m in checks.run_checks() if m.id and m.id.startswith("notifications.")}

    assert ids() == set()
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,sms,fax"
    settings.ZHIWANG_WECHAT_GATEWAY_URL = "ftp://gateway/"
    settings.ZHIWANG_NOTIFY_HTTP_TIMEOUT = 600
    assert ids() == {"notifications.E001", "notifications.W001", "notifications.E002", "notifications.E003"}
