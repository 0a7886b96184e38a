"""Webhooks: departments' own systems hear about their cases without polling.

`WebhookSubscription` (a department, the event types it wants, where and with which secret);
`WebhookDelivery`, one per matching subscription and case event, written in the transaction of the
event and delivered by a periodic job; `WebhookAttempt`, the record of each try. `OutboundMessage`
is the delivery state both this app and `zhiwang.hotline` share.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhiwang.accounts.models import Department


class OutboundStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Delivered")
    FAILED = "failed", _("Failed")  # refused for good (a non-retryable answer)
    DEAD = "dead", _("Dead")  # every attempt failed


class OutboundMessage(models.Model):
    """A signed message to another system and the state of its delivery."""

    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=OutboundStatus.choices, default=OutboundStatus.QUEUED)
    # Attempts started so far (counted when an attempt claims the row).
    attempts = models.PositiveIntegerField(default=0)
    # When a queued row is due; while an attempt runs, the end of its lease.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class EventType(models.TextChoices):
    ACCEPTED = "case.accepted", _("Case accepted")
    DISPATCHED = "case.dispatched", _("Case dispatched")
    SIGNED = "case.signed", _("Case signed for")
    RETURNED = "case.returned", _("Case returned")
    EXTENSION_REQUESTED = "case.extension_requested", _("Extension requested")
    EXTENSION_DECIDED = "case.extension_decided", _("Extension decided")
    HANDLED = "case.handled", _("Case handled")
    VERIFIED = "case.verified", _("Case verified")
    REWORK = "case.rework", _("Case sent back for rework")
    REOPENED = "case.reopened", _("Case reopened")
    CLOSED = "case.closed", _("Case closed")
    SUPERVISED = "case.supervised", _("Case supervised")
    PARKED = "case.parked", _("Case parked")
    UNPARKED = "case.unparked", _("Case unparked")


# CaseEvent.kind → the event type a subscription hears it as (kinds not listed are not sent).
EVENT_TYPES: dict[str, str] = {
    "accept": EventType.ACCEPTED,
    "dispatch": EventType.DISPATCHED,
    "sign": EventType.SIGNED,
    "return": EventType.RETURNED,
    "request_extension": EventType.EXTENSION_REQUESTED,
    "approve_extension": EventType.EXTENSION_DECIDED,
    "refuse_extension": EventType.EXTENSION_DECIDED,
    "handle": EventType.HANDLED,
    "verify_pass": EventType.VERIFIED,
    "verify_fail": EventType.REWORK,
    "reopen": EventType.REOPENED,
    "close": EventType.CLOSED,
    "supervise": EventType.SUPERVISED,
    "park": EventType.PARKED,
    "unpark": EventType.UNPARKED,
}


class WebhookSubscription(models.Model):
    """A department's system listening to some event types of the department's cases."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # The HMAC key shared with the receiving system (it must be readable to sign each delivery).
    secret = models.CharField(max_length=128)
    event_types = models.JSONField(default=list, help_text='Event types, e.g. ["case.dispatched"].')
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["department_id", "name", "id"]
        indexes = [models.Index(fields=["department", "is_active"], name="webhook_sub_dept_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.department_id})"


class WebhookDelivery(OutboundMessage):
    """One event sent to one subscription (the same row is sent again when replayed)."""

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    case_event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["subscription", "created_at"], name="webhook_delivery_sub_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "case_event_id"], name="one_delivery_per_subscription_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} #{self.pk}"


class WebhookAttempt(models.Model):
    """One try at delivering: when, what the receiver answered, how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error[:40]}"
