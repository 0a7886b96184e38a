"""What every console page shares: its guard and the htmx request check."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase

from zhiwang.common.errors import ApplicationError, NotFound

View = Callable[..., HttpResponseBase]
Refusal = Callable[[HttpRequest, ApplicationError], HttpResponseBase]


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def guarded(refuse: Refusal, check: Callable[[HttpRequest], object] | None = None) -> Callable[[View], View]:
    """A decorator for console views: signed-in users only; `check` runs first (it raises to refuse);
    anything out of scope is a 404, any other refusal the page `refuse` renders."""

    def decorator(view: View) -> View:
        @login_required
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
            try:
                if check is not None:
                    check(request)
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except ApplicationError as exc:
                return refuse(request, exc)

        return wrapped

    return decorator
