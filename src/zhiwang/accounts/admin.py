from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from zhiwang.accounts.models import ApiToken, Department, RoleAssignment, User


class AssignmentInline(admin.TabularInline[RoleAssignment, User]):
    model = RoleAssignment
    fk_name = "user"
    extra = 0
    raw_id_fields = ("grid", "department")


@admin.register(User)
class ZhiwangUserAdmin(UserAdmin[User]):
    list_display = ("username", "display_name", "is_active", "last_login", "locked_until")
    inlines = (AssignmentInline,)
    fieldsets = (*(UserAdmin.fieldsets or ()), ("zhiwang", {"fields": ("display_name", "phone")}))


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    list_display = ("code", "name", "kind", "jurisdiction")
    raw_id_fields = ("jurisdiction", "overlay_grids")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
