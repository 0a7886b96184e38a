from django.contrib import admin

from zhiwang.workcalendar.models import CalendarDay, CalendarYear

# Read-mostly: a year is published through `calendar_publish_year` (validated, audited) and the
# package's years are loaded by `zhiwang seed-calendar`; the admin only shows them.


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin[CalendarYear]):
    list_display = ("year", "source", "published_at", "note")
    list_filter = ("source",)
    readonly_fields = ("year", "source", "note", "published_at", "created_at", "updated_at")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin[CalendarDay]):
    list_display = ("day", "name", "is_workday", "source")
    list_filter = ("is_workday", "source")
    search_fields = ("name",)
    date_hierarchy = "day"

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
