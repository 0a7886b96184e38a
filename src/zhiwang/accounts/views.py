"""Sign-in pages. Thin: forms in, services do the work."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from zhiwang.accounts import services
from zhiwang.accounts.forms import LoginForm, SecondFactorForm
from zhiwang.accounts.middleware import SESSION_KEY
from zhiwang.accounts.models import User
from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import origin_from_request


def login_message(code: str) -> str:
    """The sign-in pages' wording for a refusal code."""
    messages = {
        "bad_credentials": _("Wrong username or password."),
        "locked": _("Too many failed attempts. The account is locked for a while; try again later."),
        "bad_totp": _("That code is not right. Check your authenticator app and try again."),
    }
    return str(messages.get(code, _("Sign-in failed.")))


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("home")


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_authenticate(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                origin=origin_from_request(request),
            )
        except ApplicationError as exc:
            form.add_error(None, login_message(exc.code))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            if services.user_needs_second_factor(user):
                return HttpResponseRedirect(reverse("accounts:second_factor") + f"?next={_next_url(request)}")
            return HttpResponseRedirect(_next_url(request))
    return render(request, "accounts/login.html", {"form": form, "next": _next_url(request)})


@require_http_methods(["GET", "POST"])
def second_factor_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return redirect("accounts:login")
    if request.session.get(SESSION_KEY) or not services.user_needs_second_factor(user):
        return HttpResponseRedirect(_next_url(request))
    if not user.totp_secret:
        services.totp_start_enrolment(user=user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_verify(
                user=user, code=form.cleaned_data["code"], origin=origin_from_request(request)
            )
        except ApplicationError as exc:
            form.add_error("code", login_message(exc.code))
        else:
            request.session.cycle_key()
            request.session[SESSION_KEY] = True
            return HttpResponseRedirect(_next_url(request))
    context = {
        "form": form,
        "next": _next_url(request),
        "enrolling": user.totp_confirmed_at is None,
        "secret": user.totp_secret if user.totp_confirmed_at is None else "",
        "uri": services.totp_provisioning_uri(user) if user.totp_confirmed_at is None else "",
    }
    return render(request, "accounts/second_factor.html", context)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")
