"""The REST API under /api/v1/: one NinjaAPI, one router per app, errors mapped in one place."""

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from zhiwang.accounts.api import router as accounts_router
from zhiwang.accounts.services import token_authenticate
from zhiwang.audit.api import router as audit_router
from zhiwang.cases.api import kpi_router, whistle_router
from zhiwang.cases.api import router as cases_router
from zhiwang.common.errors import ApplicationError
from zhiwang.grids.api import router as grids_router
from zhiwang.notifications.api import router as notifications_router
from zhiwang.registry.api import router as registry_router
from zhiwang.taxonomy.api import router as taxonomy_router
from zhiwang.workcalendar.api import router as calendar_router


class TokenAuth(HttpBearer):
    """`Authorization: Bearer zw_…` for machine clients; the token acts as its user."""

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="zhiwang API",
    version="1",
    description=(
        "Grid-based community governance: the grid registry, accounts and rights, cases from report to "
        "closure, the working calendar, categories, notifications, audit."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
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


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body("http_error", str(exc)), status=exc.status_code)
