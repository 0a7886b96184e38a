"""REST endpoints for administrators: webhook subscriptions, deliveries and replays."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from zhiwang.common.origin import origin_from_request
from zhiwang.common.pagination import Pages
from zhiwang.webhooks import selectors, services
from zhiwang.webhooks.models import WebhookDelivery
from zhiwang.webhooks.schemas import (
    DeliveryOut,
    SubscriptionCreatedOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)

router = Router()


def _with_secret(created: services.Created) -> Any:
    subscription = created.subscription
    subscription.secret = created.secret  # the schema shows it this once
    return subscription


@router.get("/subscriptions", response=list[SubscriptionOut], summary="Webhook subscriptions")
@paginate(Pages)
def list_subscriptions(request: HttpRequest, department_id: int | None = None) -> Any:
    return selectors.subscription_list(actor=request.user, department_id=department_id)


@router.post(
    "/subscriptions", response={201: SubscriptionCreatedOut}, summary="Subscribe a department's system"
)
def create_subscription(request: HttpRequest, payload: SubscriptionIn) -> Status[Any]:
    created = services.subscription_create(
        actor=request.user,
        department_id=payload.department_id,
        name=payload.name,
        url=payload.url,
        event_types=payload.event_types,
        origin=origin_from_request(request),
    )
    return Status(201, _with_secret(created))


@router.patch(
    "/subscriptions/{int:subscription_id}",
    response=SubscriptionCreatedOut,
    summary="Change a subscription (the secret is returned only when rotated)",
)
def update_subscription(request: HttpRequest, subscription_id: int, payload: SubscriptionPatch) -> Any:
    updated = services.subscription_update(
        actor=request.user,
        subscription_id=subscription_id,
        origin=origin_from_request(request),
        name=payload.name,
        url=payload.url,
        event_types=payload.event_types,
        is_active=payload.is_active,
        rotate_secret=payload.rotate_secret,
    )
    return _with_secret(updated)


@router.get("/deliveries", response=list[DeliveryOut], summary="Deliveries with their latest attempts")
@paginate(Pages)
def list_deliveries(
    request: HttpRequest, status: str | None = None, subscription_id: int | None = None
) -> Any:
    return selectors.delivery_list(actor=request.user, status=status, subscription_id=subscription_id)


@router.post("/deliveries/{int:delivery_id}/replay", response=DeliveryOut, summary="Send a delivery again")
def replay_delivery(request: HttpRequest, delivery_id: int) -> WebhookDelivery:
    delivery = services.delivery_replay(
        actor=request.user, delivery_id=delivery_id, origin=origin_from_request(request)
    )
    return selectors.delivery_list(actor=request.user).get(pk=delivery.pk)
