from django.contrib import admin

from zhiwang.grids.models import GridChange, GridNode


@admin.register(GridNode)
class GridNodeAdmin(admin.ModelAdmin[GridNode]):
    list_display = ("code", "name", "layer", "level", "valid_from", "valid_to")
    list_filter = ("layer", "level")
    search_fields = ("code", "name")
    exclude = ("geometry",)
    readonly_fields = (
        "path",
        "depth",
        "area_m2",
        "valid_from",
        "valid_to",
        "parent",
        "layer",
        "level",
        "code",
    )

    def has_add_permission(self, request: object) -> bool:
        return False  # grids are created by import, split and merge, which validate the map

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(GridChange)
class GridChangeAdmin(admin.ModelAdmin[GridChange]):
    list_display = ("kind", "effective_at", "actor_label", "reason")
    list_filter = ("kind",)

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
