"""The 12345 hotline exchange: work orders received, the mapping of the hotline's categories to ours,
and the outbox of messages sent back to the hotline."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from zhiwang.webhooks.models import OutboundMessage


class HotlineOrder(models.Model):
    """A work order (工单) of the 12345 hotline and the case it became."""

    order_no = models.CharField(max_length=64, unique=True)
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="hotline_order")
    hotline_category = models.CharField(max_length=64, blank=True)
    time_limit = models.CharField(max_length=64, blank=True)  # as the hotline states it
    due_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    raw = models.JSONField(default=dict)  # the order as received (kept for disputes)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return self.order_no


class HotlineCategoryMap(models.Model):
    """The hotline's classification code → our minor category (小类), edited by administrators."""

    hotline_code = models.CharField(max_length=64, unique=True)
    hotline_name = models.CharField(max_length=100, blank=True)
    category = models.ForeignKey("taxonomy.Category", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["hotline_code"]
        verbose_name = _("hotline category mapping")

    def __str__(self) -> str:
        return f"{self.hotline_code} → {self.category_id}"


class MessageType(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Not accepted")
    DISPATCHED = "dispatched", _("Dispatched")
    RETURNED = "returned", _("Return requested (退单)")
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested (延期申请)")
    HANDLED = "handled", _("Handled")
    CLOSED = "closed", _("Closed")
    SATISFACTION = "satisfaction", _("Satisfaction (回访评价)")


class HotlineMessage(OutboundMessage):
    """One message to the hotline about one work order, kept after delivery as the record of it."""

    order = models.ForeignKey(HotlineOrder, on_delete=models.PROTECT, related_name="messages")
    type = models.CharField(max_length=24, choices=MessageType.choices)
    case_event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="hotline_message_due_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.order_id} #{self.pk}"
