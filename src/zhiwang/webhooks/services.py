"""Webhook writes: subscriptions (administrators), deliveries queued with each case event, delivery
by the periodic job, and replays."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from zhiwang.accounts.models import Department, User
from zhiwang.audit.services import audit_record
from zhiwang.cases.models import CaseEvent
from zhiwang.common.errors import Conflict, NotFound, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.webhooks import events, outbox
from zhiwang.webhooks.models import EventType, WebhookAttempt, WebhookDelivery, WebhookSubscription
from zhiwang.webhooks.permissions import Actor, check_can_manage_webhooks, check_manages_department
from zhiwang.webhooks.signing import SendError, encode, post_signed

EVENT_HEADER = "X-Zhiwang-Event"
DELIVERY_HEADER = "X-Zhiwang-Delivery"
DEFAULT_MAX_ATTEMPTS = 8


def max_attempts() -> int:
    return int(
        getattr(settings, "ZHIWANG_WEBHOOK_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS) or DEFAULT_MAX_ATTEMPTS
    )


def http_timeout() -> float:
    return float(getattr(settings, "ZHIWANG_NOTIFY_HTTP_TIMEOUT", 10) or 10)


# --- subscriptions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    subscription: WebhookSubscription
    secret: str  # shown once, to be configured in the receiving system


def _clean_url(url: str) -> str:
    url = url.strip()
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise ValidationFailed("Give an http(s) URL.", code="bad_url") from exc
    return url


def _clean_event_types(event_types: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(t).strip() for t in event_types))
    unknown = sorted(set(chosen) - set(EventType.values))
    if not chosen or unknown:
        raise ValidationFailed(
            "Choose one or more known event types.",
            code="bad_event_types",
            details={"unknown": unknown, "allowed": list(EventType.values)},
        )
    return chosen


def _department(department_id: int) -> Department:
    department = Department.objects.select_related("jurisdiction").filter(pk=department_id).first()
    if department is None:
        raise ValidationFailed("No such department.", code="bad_department")
    return department


def subscription_create(
    *, actor: Actor, department_id: int, name: str, url: str, event_types: Iterable[str], origin: Origin
) -> Created:
    check_can_manage_webhooks(actor)
    department = _department(department_id)
    check_manages_department(actor, department.jurisdiction.path)
    if not name.strip():
        raise ValidationFailed("Name the receiving system.", code="name_required")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            department=department,
            name=name.strip()[:100],
            url=_clean_url(url),
            secret=secret,
            event_types=_clean_event_types(event_types),
            created_by=actor if isinstance(actor, User) else None,
        )
        _audit(actor, "webhooks.subscription_create", origin, subscription)
    return Created(subscription, secret)


def subscription_update(
    *,
    actor: Actor,
    subscription_id: int,
    origin: Origin,
    name: str | None = None,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    is_active: bool | None = None,
    rotate_secret: bool = False,
) -> Created:
    """Change a subscription; with `rotate_secret` a new secret is made and returned (else "")."""
    check_can_manage_webhooks(actor)
    with transaction.atomic():
        subscription = (
            WebhookSubscription.objects.select_for_update(of=("self",))
            .select_related("department__jurisdiction")
            .filter(pk=subscription_id)
            .first()
        )
        if subscription is None:
            raise NotFound("No such subscription.")
        check_manages_department(actor, subscription.department.jurisdiction.path)
        if name is not None:
            if not name.strip():
                raise ValidationFailed("Name the receiving system.", code="name_required")
            subscription.name = name.strip()[:100]
        if url is not None:
            subscription.url = _clean_url(url)
        if event_types is not None:
            subscription.event_types = _clean_event_types(event_types)
        if is_active is not None:
            subscription.is_active = is_active
        secret = ""
        if rotate_secret:
            secret = subscription.secret = secrets.token_urlsafe(32)
        subscription.save()
        _audit(actor, "webhooks.subscription_update", origin, subscription, rotated=rotate_secret)
    return Created(subscription, secret)


def _audit(
    actor: Actor, action: str, origin: Origin, subscription: WebhookSubscription, **details: object
) -> None:
    audit_record(
        actor=actor,
        action=action,
        origin=origin,
        obj=subscription,
        scope_path=subscription.department.jurisdiction.path,
        details={
            "department": subscription.department.code,
            "url": subscription.url,
            "event_types": subscription.event_types,
            "is_active": subscription.is_active,
            **details,
        },
    )


# --- deliveries -------------------------------------------------------------------------------


def deliveries_queue(event: CaseEvent, *, department_id: int | None) -> list[WebhookDelivery]:
    """Queue the event for every active subscription of `department_id` (the case's department) that
    wants its type. Runs inside the transaction that wrote the event (a `post_save` receiver)."""
    event_type = events.event_type_of(event.kind)
    if event_type is None or department_id is None:
        return []
    subscriptions = [
        s
        for s in WebhookSubscription.objects.select_related("department").filter(
            department_id=department_id, is_active=True
        )
        if event_type in (s.event_types or [])
    ]
    if not subscriptions:
        return []
    return WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            subscription=s,
            event_type=event_type,
            case_id=event.case_id,
            case_event_id=event.pk,
            payload=events.event_body(event, event_type, s.department.code),
        )
        for s in subscriptions
    )


def _send(delivery: WebhookDelivery) -> int:
    """POST one delivery, signed with its subscription's secret, and log the attempt."""
    subscription = delivery.subscription
    started = time.monotonic()
    at = timezone.now()
    try:
        code = post_signed(
            subscription.url,
            encode(delivery.payload),
            secret=subscription.secret,
            timeout=http_timeout(),
            headers={EVENT_HEADER: delivery.event_type, DELIVERY_HEADER: str(delivery.pk)},
        )
    except SendError as exc:
        _log_attempt(delivery, at, started, exc.status_code, str(exc))
        raise
    _log_attempt(delivery, at, started, code, "")
    return code


def _log_attempt(
    delivery: WebhookDelivery, at: datetime, started: float, code: int | None, error: str
) -> None:
    WebhookAttempt.objects.create(
        delivery=delivery,
        at=at,
        status_code=code,
        error=error[:2000],
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Send the deliveries due at `now` (the `webhooks.deliver_due` periodic job)."""
    due = WebhookDelivery.objects.select_related("subscription")
    return outbox.deliver_due(due, _send, max_attempts=max_attempts(), now=now, limit=limit)


def delivery_replay(*, actor: Actor, delivery_id: int, origin: Origin) -> WebhookDelivery:
    """Send a delivery again (failed, dead or delivered), due now with a fresh count of attempts."""
    check_can_manage_webhooks(actor)
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_related("subscription__department__jurisdiction")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFound("No such delivery.")
        check_manages_department(actor, delivery.subscription.department.jurisdiction.path)
        replayed = outbox.requeue(WebhookDelivery.objects.filter(pk=delivery.pk))
        if not replayed:
            raise Conflict("The delivery is queued already.", code="already_queued")
        audit_record(
            actor=actor,
            action="webhooks.delivery_replay",
            origin=origin,
            obj=delivery,
            scope_path=delivery.subscription.department.jurisdiction.path,
            details={"event_type": delivery.event_type},
        )
        delivery.refresh_from_db()
    return delivery
