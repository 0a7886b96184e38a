"""The in-app inbox and the outbox every notification passes through.

A workflow writes `OutboxMessage` rows in its own transaction (`services.notify`); after commit a
background task delivers them (`services.deliver_due`), so a crash never loses a notification and a
slow gateway never slows a request. The in-app channel's delivery is the `Notification` row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    INAPP = "inapp", _("In-app")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    CONSOLE = "console", _("Console (demo)")


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")  # refused for good (a non-retryable error)
    DEAD = "dead", _("Dead")  # every attempt failed


class OutboxMessage(models.Model):
    """One message to one recipient over one channel, kept after delivery as the record of it."""

    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_messages",
    )
    # Phone number (SMS), openid (WeChat) or empty (in-app, console), as it was when queued.
    address = models.CharField(max_length=128, blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    # Delivery attempts started so far (counted when an attempt claims the message).
    attempts = models.PositiveIntegerField(default=0)
    # When a queued message is due; while an attempt runs, the end of its lease.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notif_outbox_due_idx"),
            models.Index(fields=["object_type", "object_id"], name="notif_outbox_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} → {self.recipient_id or self.address}: {self.subject}"


class Notification(models.Model):
    """A message in a user's in-app inbox."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # The outbox message this row delivers: at most one row per message, however often it is retried.
    source = models.OneToOneField(
        OutboxMessage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notification",
        editable=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notif_inbox_unread_idx")]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
