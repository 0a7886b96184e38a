"""The REST API under /api/v1/: one NinjaAPI, one router per app, errors mapped in one place."""

from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer, SessionAuth

from zhiwang.accounts.api import router as accounts_router
from zhiwang.accounts.services import token_authenticate
from zhiwang.audit.api import router as audit_router
from zhiwang.cases.api import kpi_router, whistle_router
from zhiwang.cases.api import router as cases_router
from zhiwang.common.errors import ApplicationError
from zhiwang.grids.api import router as grids_router
from zhiwang.hotline.api import router as hotline_router
from zhiwang.notifications.api import router as notifications_router
from zhiwang.registry.api import router as registry_router
from zhiwang.taxonomy.api import router as taxonomy_router
from zhiwang.webhooks.api import router as webhooks_router
from zhiwang.workcalendar.api import router as calendar_router


class TokenAuth(HttpBearer):
    """`Authorization: Bearer zw_…` for machine clients; the token acts as its user."""

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class LocalTimeEncoder(NinjaJSONEncoder):
    """Every moment in the answers is written in the city's time zone (2026-03-02T09:00:00+08:00),
    whether it was just written or read back from the database (which hands back UTC)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime) and timezone.is_aware(o):
            return timezone.localtime(o).isoformat()
        return super().default(o)


class LocalTimeRenderer(JSONRenderer):
    encoder_class = LocalTimeEncoder


api = NinjaAPI(
    title="zhiwang API",
    version="1",
    description=(
        "Grid-based community governance: the grid registry, accounts and rights, cases from report to "
        "closure, the working calendar, categories, notifications, audit."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    renderer=LocalTimeRenderer(),
)
api.add_router("/grids", grids_router, tags=["grids"])
api.add_router("/", accounts_router, tags=["accounts"])
api.add_router("/audit", audit_router, tags=["audit"])
api.add_router("/cases", cases_router, tags=["cases"])
api.add_router("/whistles", whistle_router, tags=["cases"])
api.add_router("/kpis", kpi_router, tags=["cases"])
api.add_router("/categories", taxonomy_router, tags=["categories"])
api.add_router("/calendar", calendar_router, tags=["calendar"])
api.add_router("/notifications", notifications_router, tags=["notifications"])
api.add_router("/registry", registry_router, tags=["registry"])
api.add_router("/hotline", hotline_router, tags=["hotline"])
api.add_router("/webhooks", webhooks_router, tags=["webhooks"])


@api.get("/ping", auth=None, response=dict[str, str], tags=["health"], summary="An empty endpoint (liveness)")
def ping(request: HttpRequest) -> dict[str, str]:
    return {}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, error_body(exc.code, exc.message, exc.details), status=exc.status)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, error_body("not_authenticated", "Sign in or send a valid token."), status=401
    )


@api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return api.create_response(
        request, error_body("invalid_request", "The request is not valid.", exc.errors), status=422
    )


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A number (an id, a count) too large for the database's columns: the request's fault."""
    return api.create_response(
        request, error_body("out_of_range", "A number in the request is out of range."), status=400
    )


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body("http_error", str(exc)), status=exc.status_code)
