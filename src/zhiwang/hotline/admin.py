from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import origin_from_request
from zhiwang.hotline.models import HotlineCategoryMap, HotlineMessage, HotlineOrder
from zhiwang.hotline.services import messages_retry


@admin.register(HotlineCategoryMap)
class HotlineCategoryMapAdmin(admin.ModelAdmin[HotlineCategoryMap]):
    list_display = ("hotline_code", "hotline_name", "category")
    search_fields = ("hotline_code", "hotline_name", "category__code", "category__name")
    raw_id_fields = ("category",)


@admin.register(HotlineOrder)
class HotlineOrderAdmin(admin.ModelAdmin[HotlineOrder]):
    list_display = ("order_no", "case", "hotline_category", "received_at", "due_at")
    search_fields = ("order_no", "case__number")
    raw_id_fields = ("case",)
    readonly_fields = ("order_no", "case", "hotline_category", "time_limit", "due_at", "received_at", "raw")
    date_hierarchy = "received_at"


@admin.register(HotlineMessage)
class HotlineMessageAdmin(admin.ModelAdmin[HotlineMessage]):
    list_display = (
        "created_at",
        "order",
        "type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "type")
    search_fields = ("order__order_no",)
    raw_id_fields = ("order",)
    readonly_fields = (
        "order",
        "type",
        "payload",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "last_status_code",
        "created_at",
        "sent_at",
        "case_event_id",
    )
    actions = ("send_again",)

    @admin.action(description="Send again")
    def send_again(self, request: HttpRequest, queryset: QuerySet[HotlineMessage]) -> None:
        try:
            count = messages_retry(
                actor=request.user,
                message_ids=list(queryset.values_list("pk", flat=True)),
                origin=origin_from_request(request, channel="web"),
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)
