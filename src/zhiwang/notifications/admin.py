from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import origin_from_request
from zhiwang.notifications.models import Notification, OutboxMessage
from zhiwang.notifications.services import outbox_retry


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin[Notification]):
    list_display = ("created_at", "recipient", "title", "object_type", "object_id", "read_at")
    list_filter = ("object_type",)
    search_fields = ("title", "recipient__username", "object_id")
    raw_id_fields = ("recipient",)
    readonly_fields = ("created_at", "source")
    date_hierarchy = "created_at"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    list_display = (
        "created_at",
        "channel",
        "recipient",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
    )
    list_filter = ("status", "channel")
    search_fields = ("subject", "recipient__username", "object_id")
    raw_id_fields = ("recipient",)
    readonly_fields = ("status", "attempts", "next_attempt_at", "last_error", "created_at", "sent_at")
    date_hierarchy = "created_at"
    actions = ("retry_now",)

    @admin.action(description="Retry now (failed and dead messages)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        try:
            count = outbox_retry(
                actor=request.user,
                message_ids=queryset.values_list("pk", flat=True),
                origin=origin_from_request(request, channel="web"),
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)
