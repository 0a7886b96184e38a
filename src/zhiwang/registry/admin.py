"""The registry in the admin site: to look things up, never to change them.

Every write to base data goes through `registry.services` (scope, checks, codes, sealing, the audit
row), so these pages are read-only, and the sealed columns (`*_enc`, `*_hash`) are never shown: the
masked forms are. Persons and residents' declarations are not here at all: they are read on the
console, where reading a person is recorded and whole numbers are shown only with a reason.
"""

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from zhiwang.registry.models import Address, Building, Facility, ImportBatch, Room, Unit

SEALED_SUFFIXES = ("_enc", "_hash")
M = TypeVar("M", bound=models.Model)


def shown_fields(model: type[models.Model]) -> tuple[str, ...]:
    """Every column but the id and the sealed ones."""
    return tuple(
        f.name for f in model._meta.concrete_fields if f.name != "id" and not f.name.endswith(SEALED_SUFFIXES)
    )


class ReadOnlyAdmin(admin.ModelAdmin[M]):
    def get_fields(self, request: HttpRequest, obj: M | None = None) -> tuple[str, ...]:
        return shown_fields(self.model)

    def get_readonly_fields(self, request: HttpRequest, obj: M | None = None) -> tuple[str, ...]:
        return shown_fields(self.model)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: M | None = None) -> bool:
        return False


@admin.register(Address)
class AddressAdmin(ReadOnlyAdmin[Address]):
    list_display = ("code", "full_text", "grid_path")
    search_fields = ("code", "full_text")


@admin.register(Building)
class BuildingAdmin(ReadOnlyAdmin[Building]):
    list_display = ("code", "name", "kind", "floors", "is_rental", "manager_phone_masked")
    list_filter = ("kind", "is_rental")
    search_fields = ("code", "name")


@admin.register(Room)
class RoomAdmin(ReadOnlyAdmin[Room]):
    list_display = ("code", "unit", "number", "floor", "use", "rental_status")
    list_filter = ("use", "rental_status")
    search_fields = ("code",)


@admin.register(Unit)
class UnitAdmin(ReadOnlyAdmin[Unit]):
    list_display = ("name", "kind", "credit_code", "risk_level", "headcount", "contact_phone_masked")
    list_filter = ("kind", "risk_level")
    search_fields = ("name", "credit_code")


@admin.register(Facility)
class FacilityAdmin(ReadOnlyAdmin[Facility]):
    list_display = ("code", "name", "status", "owner_name", "maintainer_name")
    list_filter = ("status",)
    search_fields = ("code", "name")


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin[ImportBatch]):
    list_display = ("created_at", "kind", "status", "rows_total", "rows_imported", "actor")
    list_filter = ("kind", "status")
