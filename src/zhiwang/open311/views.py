"""The GeoReport v2 endpoints. Each view builds one document and `formats` writes it as JSON or XML
(the URL's extension chooses); every refusal is the spec's error list with its HTTP status."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import FileResponse, HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from zhiwang.cases.photos import MAX_PHOTO_BYTES
from zhiwang.common.errors import ApplicationError, PermissionDenied, ValidationFailed
from zhiwang.common.origin import origin_from_request
from zhiwang.open311 import documents, params, selectors, services
from zhiwang.open311.formats import JSON, XML, Document, errors_document, respond
from zhiwang.open311.models import ClientApplication

# A post carries at most one photo and a few short fields.
MAX_BODY_BYTES = MAX_PHOTO_BYTES + 1024 * 1024
ATTRIBUTE_RE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
JURISDICTION_ID = "zhiwang"

View = Callable[..., "Answer"]


@dataclass(frozen=True)
class Answer:
    document: Document
    status: int = 200


class MethodNotAllowed(ApplicationError):
    status = 405


class TooLarge(ApplicationError):
    status = 413


def jurisdiction_id() -> str:
    return str(getattr(settings, "ZHIWANG_OPEN311_JURISDICTION_ID", "") or JURISDICTION_ID)


def _errors(exc: ApplicationError) -> list[str]:
    details = exc.details
    if isinstance(details, list) and details and all(isinstance(item, str) for item in details):
        return details
    return [exc.message]


def _check_request(request: HttpRequest, methods: tuple[str, ...]) -> None:
    if request.method not in methods:
        raise MethodNotAllowed(f"Use {' or '.join(methods)} here.", code="method_not_allowed")
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise TooLarge(
                f"A request body may be at most {MAX_BODY_BYTES // (1024 * 1024)} MB.", code="too_large"
            )
    given = _params(request).get("jurisdiction_id", "").strip()
    if given and given != jurisdiction_id():
        raise ApplicationError(f"jurisdiction_id {given[:40]} not found.", code="jurisdiction", status=404)


def _params(request: HttpRequest) -> QueryDict:
    return request.POST if request.method == "POST" else request.GET


def endpoint(*methods: str) -> Callable[[View], Callable[..., HttpResponse]]:
    """Check the method, the body's size and the jurisdiction; answer refusals in the spec's form."""

    def wrap(view: View) -> Callable[..., HttpResponse]:
        @wraps(view)
        def handle(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            try:
                _check_request(request, methods)
                answer = view(request, fmt, **kwargs)
            except ApplicationError as exc:
                response = respond(errors_document(exc.status, _errors(exc)), fmt, status=exc.status)
                if isinstance(exc, MethodNotAllowed):
                    response["Allow"] = ", ".join(methods)
                return response
            except RequestDataTooBig:
                return respond(errors_document(413, ["The request body is too large."]), fmt, status=413)
            except TooManyFieldsSent:
                return respond(errors_document(400, ["The request has too many fields."]), fmt, status=400)
            return respond(answer.document, fmt, status=answer.status)

        return csrf_exempt(handle)

    return wrap


def base_url(request: HttpRequest) -> str:
    path = reverse("open311:services", kwargs={"fmt": JSON})
    return request.build_absolute_uri(path.rsplit("/", 1)[0] + "/")


# --- services ---------------------------------------------------------------------------------


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str) -> Answer:
    return Answer(
        documents.discovery(
            base_url=base_url(request),
            contact=str(getattr(settings, "ZHIWANG_OPEN311_CONTACT", "")),
            changeset=selectors.changeset(),
        )
    )


@endpoint("GET")
def service_list(request: HttpRequest, fmt: str) -> Answer:
    return Answer(documents.services(selectors.service_list()))


@endpoint("GET")
def service_definition(request: HttpRequest, fmt: str, code: str) -> Answer:
    return Answer(documents.service_definition(selectors.service_get(code)))


# --- requests ---------------------------------------------------------------------------------


def _application(request: HttpRequest) -> ClientApplication:
    application = services.key_authenticate(request.POST.get("api_key", "").strip())
    if application is None:
        raise PermissionDenied("api_key was not provided or is invalid.", code="bad_api_key")
    services.rate_check(application)
    return application


def _attributes(data: QueryDict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in data:
        match = ATTRIBUTE_RE.match(key)
        if match is not None:
            found.setdefault(match.group(1), []).extend(data.getlist(key))
    return found


def _media(request: HttpRequest) -> bytes | None:
    upload = request.FILES.get("media")
    if upload is None:
        return None
    if upload.size is not None and upload.size > MAX_PHOTO_BYTES:
        raise ValidationFailed("A photo may be at most 10 MB.", code="photo_too_large")
    content: bytes = upload.read()
    return content


def _fields(data: QueryDict, names: tuple[str, ...]) -> dict[str, str]:
    return {name: data.get(name, "") for name in names}


SUBMISSION_FIELDS = (
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "description",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "media_url",
)
UPDATE_FIELDS = (
    "service_request_id",
    "description",
    "status",
    "update_id",
    "updated_datetime",
    "media_url",
    "first_name",
    "last_name",
    "email",
    "phone",
)


def _create_request(request: HttpRequest) -> Answer:
    application = _application(request)
    submission = services.Submission(
        **_fields(request.POST, SUBMISSION_FIELDS),
        attributes=_attributes(request.POST),
        media=_media(request),
    )
    submitted = services.request_submit(
        application=application, submission=submission, origin=origin_from_request(request, channel="api")
    )
    document = documents.submitted(submitted.token, documents.submitted_notice(submitted.token))
    return Answer(document, status=201 if submitted.created else 200)


def _list_requests(request: HttpRequest) -> Answer:
    query = request.GET
    statuses = params.comma_list(query.get("status"), name="status")
    unknown = [status for status in statuses if status not in selectors.PUBLIC_STATUSES]
    if unknown:
        raise ValidationFailed(f"status is open or closed, not {unknown[0][:20]!r}.", code="bad_status")
    cases = selectors.request_list(
        numbers=params.comma_list(query.get("service_request_id"), name="service_request_id"),
        service_codes=params.comma_list(query.get("service_code"), name="service_code"),
        statuses=[status.lower() for status in statuses],
        window=params.window(query.get("start_date"), query.get("end_date")),
        page=params.page(query.get("page"), query.get("page_size")),
    )
    return Answer(documents.requests(cases, base_url(request)))


@endpoint("GET", "POST")
def requests(request: HttpRequest, fmt: str) -> Answer:
    return _create_request(request) if request.method == "POST" else _list_requests(request)


@endpoint("GET")
def request_detail(request: HttpRequest, fmt: str, number: str) -> Answer:
    return Answer(documents.requests([selectors.request_get(number)], base_url(request)))


@endpoint("GET")
def token_detail(request: HttpRequest, fmt: str, token: str) -> Answer:
    return Answer(documents.token(selectors.token_get(token)))


# --- updates ----------------------------------------------------------------------------------


def _post_update(request: HttpRequest) -> Answer:
    application = _application(request)
    submission = services.UpdateSubmission(**_fields(request.POST, UPDATE_FIELDS), media=_media(request))
    posted = services.update_submit(
        application=application, submission=submission, origin=origin_from_request(request, channel="api")
    )
    return Answer(documents.update_posted(posted.event), status=201 if posted.created else 200)


def _list_updates(request: HttpRequest) -> Answer:
    query = request.GET
    events = selectors.update_list(
        numbers=params.comma_list(query.get("service_request_id"), name="service_request_id"),
        window=params.window(query.get("start_date"), query.get("end_date")),
        page=params.page(query.get("page"), query.get("page_size")),
    )
    return Answer(documents.updates(events))


@endpoint("GET", "POST")
def updates(request: HttpRequest, fmt: str) -> Answer:
    return _post_update(request) if request.method == "POST" else _list_updates(request)


# --- media and everything else ------------------------------------------------------------------


def media(request: HttpRequest, token: str) -> HttpResponseBase:
    """The photo a client application posted with a request (public, as the request is)."""
    try:
        found = selectors.media_photo_of(token)
    except ApplicationError as exc:
        return respond(errors_document(exc.status, [exc.message]), XML, status=exc.status)
    assert found.media_photo is not None
    return FileResponse(found.media_photo.file.open("rb"))


def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    fmt = JSON if rest.endswith(".json") else XML
    return respond(errors_document(404, [f"No such resource: {rest[:80]}"]), fmt, status=404)
