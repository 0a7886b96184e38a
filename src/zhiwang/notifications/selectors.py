"""Reading notifications: everyone their own inbox; administrators the outbox."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from zhiwang.accounts.permissions import require_authenticated
from zhiwang.common.errors import NotFound, ValidationFailed
from zhiwang.notifications.models import Notification, OutboxMessage, OutboxStatus
from zhiwang.notifications.permissions import check_can_manage_outbox

Actor = AbstractBaseUser | AnonymousUser | None


def my_notifications(*, actor: Actor, unread_only: bool = False) -> QuerySet[Notification]:
    """The actor's own inbox, newest first."""
    scope = require_authenticated(actor)
    notifications = Notification.objects.filter(recipient_id=scope.user_id)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def unread_count(*, actor: Actor) -> int:
    return my_notifications(actor=actor, unread_only=True).count()


def notification_get(*, actor: Actor, notification_id: int) -> Notification:
    """One of the actor's own notifications; anyone else's does not exist for them."""
    notification = my_notifications(actor=actor).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound("No such notification.")
    return notification


def outbox_list(*, actor: Actor, status: str | None = None) -> QuerySet[OutboxMessage]:
    """Every outbox message, newest first, for administrators: attempts, failures, what is queued."""
    check_can_manage_outbox(actor)
    messages = OutboxMessage.objects.select_related("recipient")
    if status:
        if status not in OutboxStatus.values:
            raise ValidationFailed(
                f"Unknown status {status!r}.", code="invalid_status", details={"allowed": OutboxStatus.values}
            )
        messages = messages.filter(status=status)
    return messages.order_by("-created_at", "-id")
