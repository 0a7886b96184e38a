"""The webhooks' part of the scope matrix (tests/test_scope_matrix.py): endpoints for administrators,
acting on a subscription and a delivery of a department on each side, built on first use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhiwang.webhooks.models import OutboundStatus, WebhookDelivery, WebhookSubscription

Call = Callable[[Any, bool], tuple[str, dict[str, Any] | None]]
W = "/api/v1/webhooks"


def _department(w: Any, i: bool) -> Any:
    return w.departments["inside" if i else "outside"]


def _subscription(w: Any, i: bool) -> WebhookSubscription:
    built: dict[bool, WebhookSubscription] | None = getattr(w, "webhook_subscriptions", None)
    if built is None:
        built = {
            side: WebhookSubscription.objects.create(
                department=_department(w, side),
                name="system",
                url="https://dept.example/hook",
                secret="s" * 40,
                event_types=["case.dispatched"],
            )
            for side in (True, False)
        }
        w.webhook_subscriptions = built
    return built[i]


def _delivery(w: Any, i: bool) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        subscription=_subscription(w, i), event_type="case.dispatched", payload={}, status=OutboundStatus.DEAD
    )


WEBHOOK_ENDPOINTS: list[tuple[str, str, str, Call]] = [
    ("GET", "webhooks/subscriptions", "admin_list", lambda w, i: (f"{W}/subscriptions", None)),
    (
        "POST",
        "webhooks/subscriptions",
        "write",
        lambda w, i: (
            f"{W}/subscriptions",
            {
                "department_id": _department(w, i).pk,
                "name": "业务系统",
                "url": "https://dept.example/hook",
                "event_types": ["case.dispatched"],
            },
        ),
    ),
    (
        "PATCH",
        "webhooks/subscriptions/{int:subscription_id}",
        "write",
        lambda w, i: (f"{W}/subscriptions/{_subscription(w, i).pk}", {"is_active": False}),
    ),
    ("GET", "webhooks/deliveries", "admin_list", lambda w, i: (f"{W}/deliveries", None)),
    (
        "POST",
        "webhooks/deliveries/{int:delivery_id}/replay",
        "write",
        lambda w, i: (f"{W}/deliveries/{_delivery(w, i).pk}/replay", None),
    ),
]
