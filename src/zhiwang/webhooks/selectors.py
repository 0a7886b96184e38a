"""Webhook reads, for administrators: the subscriptions and deliveries of the departments whose
jurisdiction they administer."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from zhiwang.accounts.permissions import CAN_ADMINISTER
from zhiwang.common.errors import ValidationFailed
from zhiwang.webhooks.models import OutboundStatus, WebhookAttempt, WebhookDelivery, WebhookSubscription
from zhiwang.webhooks.permissions import Actor, check_can_manage_webhooks


def _managed_q(actor: Actor, prefix: str) -> Q:
    scope = check_can_manage_webhooks(actor)
    return scope.grid_q(f"{prefix}department__jurisdiction__path", CAN_ADMINISTER)


def subscription_list(*, actor: Actor, department_id: int | None = None) -> QuerySet[WebhookSubscription]:
    subscriptions = WebhookSubscription.objects.filter(_managed_q(actor, "")).select_related("department")
    if department_id is not None:
        subscriptions = subscriptions.filter(department_id=department_id)
    return subscriptions.order_by("department__code", "name", "id")


def delivery_list(
    *, actor: Actor, status: str | None = None, subscription_id: int | None = None
) -> QuerySet[WebhookDelivery]:
    """Deliveries newest first, each with its attempts (newest first)."""
    deliveries = WebhookDelivery.objects.filter(_managed_q(actor, "subscription__")).select_related(
        "subscription__department"
    )
    if status:
        if status not in OutboundStatus.values:
            raise ValidationFailed(
                f"Unknown status {status!r}.",
                code="invalid_status",
                details={"allowed": OutboundStatus.values},
            )
        deliveries = deliveries.filter(status=status)
    if subscription_id is not None:
        deliveries = deliveries.filter(subscription_id=subscription_id)
    attempts = WebhookAttempt.objects.order_by("-at", "-id")
    return deliveries.prefetch_related(Prefetch("attempt_log", queryset=attempts)).order_by(
        "-created_at", "-id"
    )
