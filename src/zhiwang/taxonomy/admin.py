from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from zhiwang.taxonomy.models import Category


class MajorFilter(admin.SimpleListFilter):
    title = "大类"
    parameter_name = "major"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        majors = Category.objects.filter(parent__isnull=True).order_by("code")
        return [(m.code, f"{m.code} {m.name}") for m in majors]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(code__startswith=value)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin[Category]):
    """Read-only here: changes go through the import and edit services, which check the whole table,
    write the audit row and refresh the intake cache."""

    list_display = (
        "code",
        "name",
        "kind",
        "time_limit",
        "time_unit",
        "department_kind",
        "overlay_layer",
        "handled_by_community",
        "is_active",
    )
    list_filter = (
        "kind",
        MajorFilter,
        "time_unit",
        "department_kind",
        "overlay_layer",
        "handled_by_community",
        "urgency_default",
        "is_active",
    )
    search_fields = ("code", "name", "filing_criteria")
    ordering = ("code",)
    list_select_related = ("parent",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Category | None = None) -> bool:
        return False
