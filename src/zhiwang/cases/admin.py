from django.contrib import admin

from zhiwang.cases.models import Case, CaseEvent, RoutingRule, Whistle


class EventInline(admin.TabularInline[CaseEvent, Case]):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "at", "actor_label", "from_status", "to_status", "note", "data")
    exclude = ("actor",)

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    list_display = ("number", "status", "channel", "category", "grid", "department", "reported_at", "due_at")
    list_filter = ("status", "channel", "urgency")
    search_fields = ("number", "tracking_code", "description", "address")
    raw_id_fields = ("grid", "category", "department", "community", "reporter", "handler", "merged_into")
    readonly_fields = ("status",)
    inlines = (EventInline,)

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin[RoutingRule]):
    list_display = ("category", "grid", "department", "priority", "is_active")
    raw_id_fields = ("category", "grid", "department")


@admin.register(Whistle)
class WhistleAdmin(admin.ModelAdmin[Whistle]):
    list_display = ("level", "node", "blown_at", "closed_at")
    raw_id_fields = ("case", "node")
