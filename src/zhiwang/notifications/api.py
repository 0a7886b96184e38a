"""REST endpoints of the inbox (every signed-in user, their own) and the outbox (administrators)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from zhiwang.common.pagination import Pages
from zhiwang.notifications import selectors, services
from zhiwang.notifications.models import Notification
from zhiwang.notifications.schemas import NotificationOut, OutboxMessageOut

router = Router()


@router.get("", response=list[NotificationOut], summary="My notifications, newest first")
@paginate(Pages)
def list_mine(request: HttpRequest, unread: bool = False) -> Any:
    return selectors.my_notifications(actor=request.user, unread_only=unread)


@router.post("/{int:notification_id}/read", response=NotificationOut, summary="Mark one of mine read")
def mark_read(request: HttpRequest, notification_id: int) -> Notification:
    return services.notification_mark_read(actor=request.user, notification_id=notification_id)


@router.get("/outbox", response=list[OutboxMessageOut], summary="The outbox: attempts and failures")
@paginate(Pages)
def list_outbox(request: HttpRequest, status: str | None = None) -> Any:
    return selectors.outbox_list(actor=request.user, status=status)
