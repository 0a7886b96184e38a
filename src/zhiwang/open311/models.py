"""Open311 GeoReport v2: the client applications that post service requests, their API keys, and
the request tokens that tie each posted request to the case it became.

Keys are shown once when issued and kept only as SHA-256 hashes (as `accounts.ApiToken`). What a
client sends about the reporter beyond name and phone (e-mail, device, account) is kept on the
request token for the follow-up and never returned by the API.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from zhiwang.cases.models import Case, CasePhoto


class ClientApplication(models.Model):
    """A third-party app (a city app, FixMyStreet, SeeClickFix, ...) allowed to post requests."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    posts_per_minute = models.PositiveIntegerField(
        _("posts per minute"),
        null=True,
        blank=True,
        help_text=_("Empty: the site's default limit."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("Open311 client application")
        verbose_name_plural = _("Open311 client applications")

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A key of a client application. Only a hash of the key is kept."""

    application = models.ForeignKey(
        ClientApplication, on_delete=models.CASCADE, related_name="keys", verbose_name=_("application")
    )
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("Open311 API key")
        verbose_name_plural = _("Open311 API keys")

    def __str__(self) -> str:
        return f"{self.prefix}…"


class RequestToken(models.Model):
    """One service request a client application posted, and the case it became.

    ``fingerprint`` identifies the submission (application, fields and media), so a retried
    identical post within the idempotency window answers with this request instead of a new case.
    """

    token = models.CharField(max_length=32, unique=True)
    application = models.ForeignKey(ClientApplication, on_delete=models.PROTECT, related_name="requests")
    case = models.OneToOneField(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="open311_request"
    )
    fingerprint = models.CharField(max_length=64)
    media_url = models.URLField(max_length=500, blank=True)
    media_photo = models.ForeignKey(
        CasePhoto, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The reporter's contact details as the application sent them (personal: never returned).
    email = models.EmailField(blank=True)
    device_id = models.CharField(max_length=100, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["application", "fingerprint", "created_at"])]
        verbose_name = _("Open311 request token")
        verbose_name_plural = _("Open311 request tokens")

    def __str__(self) -> str:
        return self.token
