"""Holds a signed-in administrator or commander at the second-factor page until a TOTP code passes."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from zhiwang.accounts.models import User
from zhiwang.accounts.services import user_needs_second_factor

SESSION_KEY = "zhiwang_second_factor_ok"
OPEN_PREFIXES = ("/static/", "/accounts/", "/i18n/", "/favicon.ico", "/resident/", "/open311/")


def second_factor_pending(request: HttpRequest) -> bool:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    return not request.session.get(SESSION_KEY) and user_needs_second_factor(user)


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if second_factor_pending(request):
            if request.path.startswith("/api/"):
                # The API sees a half-signed-in session as no session at all.
                request.user = AnonymousUser()
            elif not request.path.startswith(OPEN_PREFIXES):
                return HttpResponseRedirect(reverse("accounts:second_factor") + f"?next={request.path}")
        return self.get_response(request)
