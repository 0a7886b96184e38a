"""The resident portal (mobile H5): report a problem, follow it, rate the outcome; no account.

Thin: forms in, `cases.resident` services and `portal.selectors` reads do the work. A resident who
reported a case or looked it up with its tracking code and phone may reopen its page from the same
browser for a while (the pair is kept on the server, keyed by the browser's cookie, never in a URL).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhiwang.cases import resident
from zhiwang.common.errors import ApplicationError, Conflict, NotFound
from zhiwang.common.origin import origin_from_request
from zhiwang.portal import abuse, selectors
from zhiwang.portal.forms import RateForm, ReportForm, TrackForm
from zhiwang.portal.wording import GENERIC_REFUSAL, REPORT_REFUSALS, STATUS_WORDS, STEP_WORDS

TRACKED_KEY = "zhiwang_portal_tracked"  # tracking code -> the phone digits the resident gave
REMEMBERED = 10
MAP_ZOOM = 13


# --- the cases this browser may reopen ------------------------------------------------------------


def _remember(request: HttpRequest, code: str, phone: str) -> None:
    tracked = dict(request.session.get(TRACKED_KEY, {}))
    tracked.pop(code, None)
    tracked[code] = phone
    request.session[TRACKED_KEY] = dict(list(tracked.items())[-REMEMBERED:])


def _remembered(request: HttpRequest, code: str) -> str | None:
    phone = request.session.get(TRACKED_KEY, {}).get(code)
    return str(phone) if phone else None


def _forget(request: HttpRequest, code: str) -> None:
    tracked = dict(request.session.get(TRACKED_KEY, {}))
    if tracked.pop(code, None) is not None:
        request.session[TRACKED_KEY] = tracked


def _limited(request: HttpRequest, wait_seconds: int) -> HttpResponse:
    minutes = max(1, (wait_seconds + 59) // 60)
    response = render(request, "portal/limited.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(wait_seconds)
    return response


def _track_url(code: str = "") -> str:
    return reverse("portal:track") + (f"?code={code}" if code else "")


# --- report -----------------------------------------------------------------------------------


def _map_config(form: ReportForm) -> dict[str, Any]:
    pin = None
    if form.is_bound and form["lon"].value() and form["lat"].value():
        try:
            pin = [float(str(form["lat"].value())), float(str(form["lon"].value()))]
        except ValueError:
            pin = None
    return {
        "centre": list(selectors.map_centre()),
        "zoom": MAP_ZOOM,
        "pin": pin,
        "tileUrl": settings.ZHIWANG_TILE_URL,
        "tileAttribution": settings.ZHIWANG_TILE_ATTRIBUTION,
        "labels": {
            "located": _("Your position is marked. Drag the pin if the problem is elsewhere."),
            "choose": _("Tap the map where the problem is."),
            "moved": _("The pin is where the problem is."),
            "failed": _("Your position is not available. Tap the map where the problem is."),
        },
    }


def _report_page(
    request: HttpRequest, form: ReportForm, challenge: abuse.Challenge, *, status: int = 200
) -> HttpResponse:
    context = {
        "form": form,
        "challenge": challenge,
        "keep_answer": form.answer_kept and challenge is form.checked,
        "photo_dropped": form.is_bound and bool(request.FILES.get("photo")),
        "map_config": _map_config(form),
    }
    return render(request, "portal/report.html", context, status=status)


def _refuse(form: ReportForm, exc: ApplicationError) -> None:
    field, words = REPORT_REFUSALS.get(exc.code, (None, GENERIC_REFUSAL))
    form.add_error(field, str(words))


def _submit(request: HttpRequest, form: ReportForm) -> str | None:
    """Create the case (or find the one this form already created); its tracking code."""
    data = form.cleaned_data
    assert form.checked is not None  # a valid form carries a valid challenge
    try:
        reported = resident.case_report_by_resident(
            lon=data["lon"],
            lat=data["lat"],
            description=data["description"],
            phone=data["phone"],
            address=data["address"],
            category_code=data["category"] or None,
            name=data["name"],
            photo=data["photo"],
            idempotency_key=form.checked.key,
            origin=origin_from_request(request),
        )
    except ApplicationError as exc:
        _refuse(form, exc)
        return None
    case = reported.case
    if not reported.created and not resident.phone_matches(case.reporter_phone, data["phone"]):
        form.add_error(None, _("This form was already sent. Start a new report."))
        form.checked = None
        return None
    if reported.created:
        abuse.limit_count(abuse.report_limit(), abuse.client_ip(request))
    _remember(request, case.tracking_code, data["phone"])
    return case.tracking_code


@never_cache
@require_http_methods(["GET", "POST"])
def report_view(request: HttpRequest) -> HttpResponse:
    categories = selectors.category_groups()
    if request.method != "POST":
        return _report_page(request, ReportForm(categories=categories), abuse.challenge_new())
    ip = abuse.client_ip(request)
    wait = abuse.limit_reached(abuse.report_limit(), ip)
    if wait:
        return _limited(request, wait)
    form = ReportForm(request.POST, request.FILES, categories=categories)
    if form.is_valid():
        code = _submit(request, form)
        if code is not None:
            return redirect("portal:reported", code=code)
    if form.challenge_failed:
        abuse.limit_count(abuse.report_limit(), ip)
    if form.answer_kept and form.checked is not None:
        challenge = form.checked
    else:
        challenge = abuse.challenge_new(form.checked.key if form.checked else None)
    return _report_page(request, form, challenge, status=400)


@never_cache
@require_GET
def reported_view(request: HttpRequest, code: str) -> HttpResponse:
    if _remembered(request, code) is None:
        return redirect(_track_url(code))
    return render(request, "portal/reported.html", {"code": code})


# --- track and rate ---------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def track_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        form = TrackForm(initial={"code": request.GET.get("code", "")[:20]})
        return render(request, "portal/track.html", {"form": form})
    ip = abuse.client_ip(request)
    wait = abuse.limit_reached(abuse.lookup_limit(), ip)
    if wait:
        return _limited(request, wait)
    abuse.limit_count(abuse.lookup_limit(), ip)
    form = TrackForm(request.POST)
    if form.is_valid():
        code, phone = form.cleaned_data["code"], form.cleaned_data["phone"]
        try:
            selectors.tracked_case(tracking_code=code, phone=phone)
        except NotFound:
            form.add_error(None, _("No case matches this tracking code and phone number."))
            return render(request, "portal/track.html", {"form": form}, status=404)
        _remember(request, code, phone)
        return redirect("portal:tracked", code=code)
    return render(request, "portal/track.html", {"form": form}, status=400)


def _tracked_page(
    request: HttpRequest, code: str, phone: str, rate_form: RateForm | None = None, *, status: int = 200
) -> HttpResponse:
    try:
        case = selectors.tracked_case(tracking_code=code, phone=phone)
    except NotFound:
        _forget(request, code)
        return redirect(_track_url(code))
    progress = selectors.case_progress(case)
    context = {
        "progress": progress,
        "case": case,
        "status_words": STATUS_WORDS.get(case.status, case.status),
        "merged_words": STATUS_WORDS.get(progress.merged_status, "") if progress.merged_status else "",
        "steps": [(STEP_WORDS.get(step.kind, step.kind), step) for step in progress.steps],
        "rate_form": rate_form or (RateForm() if progress.can_rate else None),
    }
    return render(request, "portal/tracked.html", context, status=status)


@never_cache
@require_GET
def tracked_view(request: HttpRequest, code: str) -> HttpResponse:
    phone = _remembered(request, code)
    if phone is None:
        return redirect(_track_url(code))
    return _tracked_page(request, code, phone)


@never_cache
@require_POST
def rate_view(request: HttpRequest, code: str) -> HttpResponse:
    phone = _remembered(request, code)
    if phone is None:
        return redirect(_track_url(code))
    form = RateForm(request.POST)
    if not form.is_valid():
        return _tracked_page(request, code, phone, form, status=400)
    try:
        resident.case_rate_by_reporter(
            tracking_code=code,
            phone=phone,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
            origin=origin_from_request(request),
        )
    except NotFound:
        _forget(request, code)
        return redirect(_track_url(code))
    except Conflict:
        messages.warning(request, _("This case cannot be rated now."))
    else:
        messages.success(request, _("Thank you for your rating."))
    return redirect("portal:tracked", code=code)
