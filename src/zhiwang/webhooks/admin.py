from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import origin_from_request
from zhiwang.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from zhiwang.webhooks.services import delivery_replay


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin[WebhookSubscription]):
    list_display = ("name", "department", "url", "is_active", "created_at")
    list_filter = ("is_active", "department")
    search_fields = ("name", "url", "department__code", "department__name")
    raw_id_fields = ("department", "created_by")
    readonly_fields = ("created_at", "updated_at", "created_by")


class WebhookAttemptInline(admin.TabularInline[WebhookAttempt, WebhookDelivery]):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("at", "status_code", "error", "duration_ms")
    ordering = ("-at", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = (
        "created_at",
        "subscription",
        "event_type",
        "case",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "event_type")
    search_fields = ("subscription__name", "case__number")
    raw_id_fields = ("subscription", "case")
    readonly_fields = (
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "last_status_code",
        "created_at",
        "sent_at",
        "payload",
        "case_event_id",
    )
    date_hierarchy = "created_at"
    inlines = (WebhookAttemptInline,)
    actions = ("replay",)

    @admin.action(description="Replay (send again)")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        origin = origin_from_request(request, channel="web")
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                delivery_replay(actor=request.user, delivery_id=pk, origin=origin)
            except ApplicationError as exc:
                self.message_user(request, f"#{pk}: {exc.message}", messages.WARNING)
            else:
                done += 1
        self.message_user(request, f"{done} delivery(ies) queued again.", messages.SUCCESS)
