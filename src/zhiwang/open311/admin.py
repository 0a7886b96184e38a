"""Administrators manage the client applications: edit them, issue keys (shown once), revoke keys."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from zhiwang.common.origin import origin_from_request
from zhiwang.open311 import services
from zhiwang.open311.models import ApiKey, ClientApplication, RequestToken


class ApiKeyInline(admin.TabularInline[ApiKey, ClientApplication]):
    model = ApiKey
    extra = 0
    can_delete = False
    fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: ClientApplication | None = None) -> bool:
        return False


@admin.register(ClientApplication)
class ClientApplicationAdmin(admin.ModelAdmin[ClientApplication]):
    list_display = ("name", "contact", "is_active", "posts_per_minute", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "contact")
    inlines = [ApiKeyInline]
    actions = ["issue_key", "revoke_keys"]

    @admin.action(description=_("Create a new API key (shown once)"))
    def issue_key(self, request: HttpRequest, queryset: QuerySet[ClientApplication]) -> None:
        for application in queryset:
            issued = services.key_issue(
                application=application, origin=origin_from_request(request), actor=request.user
            )
            self.message_user(
                request,
                _("New API key for %(name)s (copy it now; it is not shown again): %(key)s")
                % {"name": application.name, "key": issued.key},
                messages.WARNING,
            )

    @admin.action(description=_("Revoke every key of the selected applications"))
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ClientApplication]) -> None:
        revoked = sum(
            services.application_revoke_keys(
                application=application, origin=origin_from_request(request), actor=request.user
            )
            for application in queryset
        )
        self.message_user(request, _("%(count)s keys revoked.") % {"count": revoked}, messages.SUCCESS)


@admin.register(RequestToken)
class RequestTokenAdmin(admin.ModelAdmin[RequestToken]):
    list_display = ("token", "application", "case", "created_at")
    list_filter = ("application",)
    search_fields = ("token", "case__number")
    readonly_fields = (
        "token",
        "application",
        "case",
        "fingerprint",
        "media_url",
        "media_photo",
        "email",
        "device_id",
        "account_id",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
