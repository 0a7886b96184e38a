"""Residents' self-service pages: residence registration (居住登记), the landlord's or tenant's
declaration (自主申报), the room-code lookup (房屋编码查询) and following a declaration.

Thin: forms in, `registry.declarations` does the work. Like a tracked case, a declaration this
browser sent or looked up (its code and the phone given) is kept on the server for a while, keyed by
the browser's cookie, never in a URL. The forms carry the portal's challenge; every form and lookup
counts against the portal's rate limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from zhiwang.common.errors import ApplicationError, NotFound
from zhiwang.common.origin import origin_from_request
from zhiwang.portal import abuse
from zhiwang.portal.selfservice_forms import (
    BAD_ID_NUMBER,
    DeclarationForm,
    FollowForm,
    HouseCodeForm,
    ResidenceForm,
    TenancyForm,
)
from zhiwang.registry import declarations
from zhiwang.registry.declarations import DeclarationFields
from zhiwang.registry.models import Declaration, DeclarationKind, DeclarationStatus, PersonKind

DECLARED_KEY = "zhiwang_portal_declared"  # declaration code -> the phone the declarant gave
REMEMBERED = 10

KIND_WORDS: dict[str, Promise] = {
    DeclarationKind.RESIDENCE: gettext_lazy("Residence registration"),
    DeclarationKind.LANDLORD: gettext_lazy("Landlord's declaration of a tenant"),
    DeclarationKind.TENANT: gettext_lazy("Tenant's declaration"),
}
STATUS_WORDS: dict[str, Promise] = {
    DeclarationStatus.PENDING: gettext_lazy("Waiting for the grid worker's review"),
    DeclarationStatus.APPROVED: gettext_lazy("Approved: the residence is registered"),
    DeclarationStatus.REJECTED: gettext_lazy("Not approved"),
}
# Refusals of the declaration service, by code: (form field, words).
REFUSALS: dict[str, tuple[str | None, Promise]] = {
    "unknown_room": ("room_code", gettext_lazy("No room has this code. Look it up from the address.")),
    "phone": ("phone", gettext_lazy("Enter a mainland mobile number: 11 digits starting with 1.")),
    "id_format": ("id_number", BAD_ID_NUMBER),
    "id_check_digit": ("id_number", BAD_ID_NUMBER),
    "id_birth_date": ("id_number", BAD_ID_NUMBER),
    "bad_date": ("moved_in_on", gettext_lazy("The day of moving in lies in the past.")),
}
GENERIC_REFUSAL = gettext_lazy("The declaration could not be taken. Check the form and try again.")


# --- the declarations this browser may reopen -----------------------------------------------------


def _remember(request: HttpRequest, code: str, phone: str) -> None:
    declared = dict(request.session.get(DECLARED_KEY, {}))
    declared.pop(code, None)
    declared[code] = phone
    request.session[DECLARED_KEY] = dict(list(declared.items())[-REMEMBERED:])


def _remembered(request: HttpRequest, code: str) -> str | None:
    phone = request.session.get(DECLARED_KEY, {}).get(code)
    return str(phone) if phone else None


def _forget(request: HttpRequest, code: str) -> None:
    declared = dict(request.session.get(DECLARED_KEY, {}))
    if declared.pop(code, None) is not None:
        request.session[DECLARED_KEY] = declared


def _limited(request: HttpRequest, wait_seconds: int) -> HttpResponse:
    minutes = max(1, (wait_seconds + 59) // 60)
    response = render(request, "portal/limited.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(wait_seconds)
    return response


def _follow_url(code: str = "") -> str:
    return reverse("portal:follow") + (f"?code={code}" if code else "")


@never_cache
@require_GET
def selfservice_view(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/selfservice.html")


# --- declare --------------------------------------------------------------------------------------


def _residence_fields(data: dict[str, Any]) -> DeclarationFields:
    return DeclarationFields(
        kind=DeclarationKind.RESIDENCE,
        room_code=data["room_code"],
        declarant_name=data["name"],
        declarant_phone=data["phone"],
        person_name=data["name"],
        id_number=data["id_number"],
        inflow_reason=data["inflow_reason"],
        employer_name=data["employer_name"],
        moved_in_on=data["moved_in_on"],
    )


def _tenancy_fields(data: dict[str, Any]) -> DeclarationFields:
    landlord = data["declarant"] == TenancyForm.LANDLORD
    return DeclarationFields(
        kind=DeclarationKind.LANDLORD if landlord else DeclarationKind.TENANT,
        room_code=data["room_code"],
        declarant_name=data["name"],
        declarant_phone=data["phone"],
        person_name=data["tenant_name"] if landlord else data["name"],
        id_number=data["id_number"],
        person_phone=data["tenant_phone"] if landlord else "",
        person_kind=data["person_kind"] or PersonKind.MIGRANT,
        moved_in_on=data["moved_in_on"],
    )


@dataclass(frozen=True)
class _Page:
    """One declaration page: its form, how the form becomes fields, its words and fields shown."""

    form: type[DeclarationForm]
    fields: Callable[[dict[str, Any]], DeclarationFields]
    title: Promise
    lead: Promise
    names: tuple[str, ...]


RESIDENCE = _Page(
    ResidenceForm,
    _residence_fields,
    gettext_lazy("Residence registration"),
    gettext_lazy(
        "New here? Register where you live. The grid worker checks it, and you can follow it with a code."
    ),
    ("room_code", "name", "id_number", "phone", "inflow_reason", "employer_name", "moved_in_on"),
)
TENANCY = _Page(
    TenancyForm,
    _tenancy_fields,
    gettext_lazy("Landlord or tenant declaration"),
    gettext_lazy(
        "Declare who lives in a rented room: a tenant declares themselves, a landlord their tenant."
    ),
    (
        "declarant",
        "room_code",
        "name",
        "phone",
        "tenant_name",
        "id_number",
        "tenant_phone",
        "person_kind",
        "moved_in_on",
    ),
)


def _declare_page(
    request: HttpRequest, page: _Page, form: DeclarationForm, challenge: abuse.Challenge, status: int = 200
) -> HttpResponse:
    context = {
        "page": page,
        "form": form,
        "fields": [form[name] for name in page.names],
        "challenge": challenge,
        "keep_answer": form.answer_kept and challenge is form.checked,
    }
    return render(request, "portal/declare.html", context, status=status)


def _submit(request: HttpRequest, page: _Page, form: DeclarationForm) -> str | None:
    """Record the declaration (or find the one this form already recorded); its code."""
    assert form.checked is not None
    fields = page.fields(form.cleaned_data)
    try:
        submitted = declarations.declaration_submit(
            fields=fields, idempotency_key=form.checked.key, origin=origin_from_request(request)
        )
    except ApplicationError as exc:
        field, words = REFUSALS.get(exc.code, (None, GENERIC_REFUSAL))
        form.add_error(field if field in form.fields else None, str(words))
        return None
    declaration = submitted.declaration
    if not submitted.created and not declarations.declarant_matches(declaration, fields.declarant_phone):
        form.add_error(None, _("This form was already sent. Start a new declaration."))
        form.checked = None
        return None
    if submitted.created:
        abuse.limit_count(abuse.declare_limit(), abuse.client_ip(request))
    _remember(request, declaration.code, fields.declarant_phone)
    return declaration.code


def _declare(request: HttpRequest, page: _Page) -> HttpResponse:
    if request.method != "POST":
        return _declare_page(request, page, page.form(), abuse.challenge_new())
    ip = abuse.client_ip(request)
    wait = abuse.limit_reached(abuse.declare_limit(), ip)
    if wait:
        return _limited(request, wait)
    form = page.form(request.POST)
    if form.is_valid():
        code = _submit(request, page, form)
        if code is not None:
            return redirect("portal:declared", code=code)
    if form.challenge_failed:
        abuse.limit_count(abuse.declare_limit(), ip)
    if form.answer_kept and form.checked is not None:
        challenge = form.checked
    else:
        challenge = abuse.challenge_new(form.checked.key if form.checked else None)
    return _declare_page(request, page, form, challenge, status=400)


@never_cache
@require_http_methods(["GET", "POST"])
def residence_view(request: HttpRequest) -> HttpResponse:
    return _declare(request, RESIDENCE)


@never_cache
@require_http_methods(["GET", "POST"])
def tenancy_view(request: HttpRequest) -> HttpResponse:
    return _declare(request, TENANCY)


@never_cache
@require_GET
def declared_view(request: HttpRequest, code: str) -> HttpResponse:
    if _remembered(request, code) is None:
        return redirect(_follow_url(code))
    return render(request, "portal/declared.html", {"code": code})


# --- the room-code lookup -------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def house_code_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "portal/house_code.html", {"form": HouseCodeForm()})
    ip = abuse.client_ip(request)
    wait = abuse.limit_reached(abuse.house_code_limit(), ip)
    if wait:
        return _limited(request, wait)
    abuse.limit_count(abuse.house_code_limit(), ip)
    form = HouseCodeForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/house_code.html", {"form": form}, status=400)
    try:
        found = declarations.room_code_lookup(**form.cleaned_data, origin=origin_from_request(request))
    except NotFound:
        form.add_error(None, _("No room matches this address. Check each part as it is on the door plate."))
        return render(request, "portal/house_code.html", {"form": form}, status=404)
    return render(request, "portal/house_code.html", {"form": form, "found": found})


# --- follow ---------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def follow_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = FollowForm(initial={"code": request.GET.get("code", "")[:20]})
        return render(request, "portal/follow.html", {"form": form})
    ip = abuse.client_ip(request)
    wait = abuse.limit_reached(abuse.lookup_limit(), ip)
    if wait:
        return _limited(request, wait)
    abuse.limit_count(abuse.lookup_limit(), ip)
    form = FollowForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/follow.html", {"form": form}, status=400)
    code, phone = form.cleaned_data["code"], form.cleaned_data["phone"]
    try:
        declarations.declaration_tracked(code=code, phone=phone)
    except NotFound:
        form.add_error(None, _("No declaration matches this code and phone number."))
        return render(request, "portal/follow.html", {"form": form}, status=404)
    _remember(request, code, phone)
    return redirect("portal:declaration", code=code)


def _public(declaration: Declaration) -> dict[str, Any]:
    """What the declarant reads: the kind, the room, the status and the reviewer's reason."""
    room = declaration.room
    return {
        "code": declaration.code,
        "kind": KIND_WORDS.get(declaration.kind, declaration.kind),
        "status": declaration.status,
        "status_words": STATUS_WORDS.get(declaration.status, declaration.status),
        "room_code": room.code,
        "address": declarations.room_address(room),
        "submitted_at": declaration.created_at,
        "reviewed_at": declaration.reviewed_at,
        "reason": declaration.reject_reason if declaration.status == DeclarationStatus.REJECTED else "",
    }


@never_cache
@require_GET
def declaration_view(request: HttpRequest, code: str) -> HttpResponse:
    phone = _remembered(request, code)
    if phone is None:
        return redirect(_follow_url(code))
    try:
        declaration = declarations.declaration_tracked(code=code, phone=phone)
    except NotFound:
        _forget(request, code)
        return redirect(_follow_url(code))
    return render(request, "portal/declaration.html", {"declaration": _public(declaration)})
