"""Writes of the Open311 API: client applications and their keys, the rate limit on posts, a
posted service request (which becomes a case on the `app` channel through the one intake), and an
update a client posts to its own request (a comment or a photo from the reporter).

A retried identical post from the same application within the idempotency window
(`ZHIWANG_OPEN311_IDEMPOTENCY_SECONDS`, 10 minutes by default) answers with the request the first
post created: the submission's fingerprint (application, fields, media) finds it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from zhiwang.audit.services import audit_record
from zhiwang.cases import selectors as case_reads
from zhiwang.cases import steps
from zhiwang.cases.intake import case_report
from zhiwang.cases.models import Case, CaseEvent, CasePhoto, Channel
from zhiwang.cases.notices import tell
from zhiwang.cases.photos import photo_extension, photo_save
from zhiwang.cases.steps import Actor, lock_case, record_audit
from zhiwang.common.errors import ApplicationError, PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate as locating
from zhiwang.grids.locate import home_city_id
from zhiwang.open311 import selectors as reads
from zhiwang.open311.formats import w3c
from zhiwang.open311.models import ApiKey, ClientApplication, RequestToken
from zhiwang.open311.params import parse_w3c
from zhiwang.taxonomy.models import Category, ExtraFieldType

KEY_PREFIX = "o311_"
UPDATE_KIND = "open311_update"
POSTS_PER_MINUTE = 30
IDEMPOTENCY_SECONDS = 600
MAX_DESCRIPTION = 4000
MAX_STRING = 200
MAX_TEXT = 4000
MAX_NAME = 30
MAX_ID = 100
MAX_PHONE = 20
MAX_URL = 500


class TooManyRequests(ApplicationError):
    status = 429


# --- applications and keys ----------------------------------------------------------------------


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    application: ClientApplication
    api_key: ApiKey
    key: str  # shown once, never stored


def application_create(
    *, name: str, origin: Origin, contact: str = "", actor: Actor = None
) -> ClientApplication:
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationFailed("An application needs a name of 1–100 characters.", code="name_required")
    if ClientApplication.objects.filter(name=name).exists():
        raise ValidationFailed(f"There is already an application named {name!r}.", code="name_taken")
    with transaction.atomic():
        application = ClientApplication.objects.create(name=name, contact=contact.strip()[:200])
        audit_record(actor=actor, action="open311.application_create", origin=origin, obj=application)
    return application


def key_issue(
    *, application: ClientApplication, origin: Origin, revoke_others: bool = False, actor: Actor = None
) -> IssuedKey:
    """A new key for the application (shown once). `revoke_others` retires its earlier keys."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        if revoke_others:
            application.keys.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        api_key = ApiKey.objects.create(application=application, prefix=key[:10], key_hash=_hash_key(key))
        audit_record(
            actor=actor,
            action="open311.key_issue",
            origin=origin,
            obj=application,
            details={"prefix": api_key.prefix, "revoked_others": revoke_others},
        )
    return IssuedKey(application=application, api_key=api_key, key=key)


def key_issue_for(*, name: str, origin: Origin, contact: str = "", rotate: bool = False) -> IssuedKey:
    """A key for the application of this name, created when missing (the command and the demo).
    `rotate` retires the application's earlier keys."""
    application = ClientApplication.objects.filter(name=name.strip()).first()
    if application is None:
        application = application_create(name=name, contact=contact, origin=origin)
    return key_issue(application=application, origin=origin, revoke_others=rotate)


def key_revoke(*, prefix: str, origin: Origin, actor: Actor = None) -> int:
    """Revoke the keys starting with `prefix` (at least 8 characters); how many were revoked."""
    if len(prefix) < 8:
        raise ValidationFailed("Give at least the first 8 characters of the key.", code="prefix_too_short")
    keys = ApiKey.objects.filter(prefix__startswith=prefix[:10], revoked_at__isnull=True)
    return _revoke(list(keys.select_related("application")), origin, actor)


def application_revoke_keys(*, application: ClientApplication, origin: Origin, actor: Actor = None) -> int:
    keys = application.keys.filter(revoked_at__isnull=True).select_related("application")
    return _revoke(list(keys), origin, actor)


def _revoke(keys: list[ApiKey], origin: Origin, actor: Actor) -> int:
    with transaction.atomic():
        for api_key in keys:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at"])
            audit_record(
                actor=actor,
                action="open311.key_revoke",
                origin=origin,
                obj=api_key.application,
                details={"prefix": api_key.prefix},
            )
    return len(keys)


def key_authenticate(key: str) -> ClientApplication | None:
    """The active application behind a key, or None. Marks the key used (at most once a minute)."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    api_key = ApiKey.objects.select_related("application").filter(key_hash=_hash_key(key)).first()
    if api_key is None or api_key.revoked_at is not None or not api_key.application.is_active:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key.application


def rate_check(application: ClientApplication) -> None:
    """Posts per application per minute (Django's cache, fixed windows): over the limit, 429."""
    allowed = application.posts_per_minute or int(
        getattr(settings, "ZHIWANG_OPEN311_POSTS_PER_MINUTE", POSTS_PER_MINUTE)
    )
    bucket = f"open311:posts:{application.pk}:{int(timezone.now().timestamp()) // 60}"
    cache.add(bucket, 0, timeout=120)
    try:
        count = cache.incr(bucket)
    except ValueError:  # the entry expired between add and incr
        cache.set(bucket, 1, timeout=120)
        count = 1
    if count > allowed:
        raise TooManyRequests(
            f"This application may post {allowed} times a minute; try again in a minute.",
            code="rate_limited",
        )


# --- a posted service request -------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """A POSTed service request, as the client sent it (every value a string)."""

    service_code: str
    attributes: dict[str, list[str]] = field(default_factory=dict)
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    media_url: str = ""
    media: bytes | None = None


@dataclass(frozen=True)
class Submitted:
    token: RequestToken
    created: bool  # False when this is a retry of an earlier identical post


def idempotency_window() -> timedelta:
    return timedelta(
        seconds=int(getattr(settings, "ZHIWANG_OPEN311_IDEMPOTENCY_SECONDS", IDEMPOTENCY_SECONDS))
    )


def fingerprint(application: ClientApplication, values: dict[str, Any], media: bytes | None) -> str:
    """What makes two posts the same: the application, every field, the media's digest."""
    canonical = {
        "application": application.pk,
        "values": values,
        "media": hashlib.sha256(media).hexdigest() if media is not None else None,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def _limited(value: str, limit: int, name: str) -> str:
    text = value.strip()
    if len(text) > limit:
        raise ValidationFailed(f"{name} has at most {limit} characters.", code="too_long")
    return text


def _service(code: str) -> Category:
    if not code.strip():
        raise ValidationFailed("service_code was not provided.", code="service_code_required")
    return reads.service_get(code.strip())


def _number(raw: str) -> int | float | None:
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _attribute_value(spec: dict[str, Any], raw: list[str]) -> tuple[Any, str | None]:
    """The stored value of one attribute, or a problem."""
    code, datatype = spec["code"], spec["datatype"]
    keys = {value["key"] for value in spec.get("values") or []}
    if datatype == ExtraFieldType.MULTI:
        unknown = [value for value in raw if value not in keys]
        if unknown:
            return None, f"attribute {code}: {unknown[0][:40]!r} is not one of its values."
        return list(dict.fromkeys(raw)), None
    if len(raw) > 1:
        return None, f"attribute {code} takes one value."
    value = raw[0]
    if datatype == ExtraFieldType.SINGLE:
        return (
            (value, None)
            if value in keys
            else (None, f"attribute {code}: {value[:40]!r} is not one of its values.")
        )
    if datatype == ExtraFieldType.NUMBER:
        number = _number(value)
        return (number, None) if number is not None else (None, f"attribute {code} is a number.")
    if datatype == ExtraFieldType.DATETIME:
        try:
            return w3c(parse_w3c(value, name=f"attribute {code}")), None
        except ValidationFailed as exc:
            return None, exc.message
    limit = MAX_TEXT if datatype == ExtraFieldType.TEXT else MAX_STRING
    if len(value) > limit:
        return None, f"attribute {code} has at most {limit} characters."
    return value, None


def check_attributes(category: Category, given: dict[str, list[str]]) -> dict[str, Any]:
    """The category's extra fields from the posted attributes, checked against their datatypes.
    Attributes the service does not define are ignored; every problem is reported at once."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in category.extra_fields or []:
        raw = [value.strip() for value in given.get(spec["code"], []) if value.strip()]
        if not raw:
            if spec.get("required"):
                problems.append(f"required attribute missing: {spec['code']} ({spec['name']}).")
            continue
        value, problem = _attribute_value(spec, raw)
        if problem is not None:
            problems.append(problem)
        else:
            values[spec["code"]] = value
    if problems:
        raise ValidationFailed(problems[0], code="bad_attribute", details=problems)
    return values


def _coordinate(raw: str, name: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed(f"{name} is a number in decimal degrees.", code="bad_coordinate") from None
    if not low <= value <= high:
        raise ValidationFailed(f"{name} is between {low:g} and {high:g}.", code="bad_coordinate")
    return value


def _place(submission: Submission) -> tuple[float, float, str]:
    """(lon, lat, address) from lat/long, else address_id (a base grid's code), else the address."""
    address = _limited(submission.address_string, 200, "address_string")
    if submission.lat.strip() or submission.long.strip():
        if not (submission.lat.strip() and submission.long.strip()):
            raise ValidationFailed("lat and long are given together.", code="bad_coordinate")
        lat = _coordinate(submission.lat, "lat", -90, 90)
        lon = _coordinate(submission.long, "long", -180, 180)
        return lon, lat, address
    if submission.address_id.strip():
        place = reads.place_of_grid(submission.address_id.strip()[:32])
        if place is None:
            raise ValidationFailed(
                f"address_id {submission.address_id.strip()[:32]!r} is not a grid code.", code="bad_address"
            )
        return place.lon, place.lat, address or place.label
    if address:
        place = reads.place_of_address(address)
        if place is None:
            raise ValidationFailed(
                "address_string names no town, community or grid of this city; send lat and long.",
                code="bad_address",
            )
        return place.lon, place.lat, address
    raise ValidationFailed(
        "A location is required: lat and long, address_string or address_id.", code="location_required"
    )


def _media_url(raw: str) -> str:
    url = _limited(raw, MAX_URL, "media_url")
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ValidationFailed("media_url is not an http(s) URL.", code="bad_media_url") from None
    return url


def _email(raw: str) -> str:
    email = _limited(raw, 254, "email")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationFailed("email is not an e-mail address.", code="bad_email") from None
    return email


def _submission_values(submission: Submission) -> dict[str, Any]:
    values = {name: value for name, value in vars(submission).items() if name != "media"}
    values["attributes"] = {code: sorted(raw) for code, raw in sorted(submission.attributes.items())}
    return values


def request_submit(*, application: ClientApplication, submission: Submission, origin: Origin) -> Submitted:
    """A service request from a client application becomes a case on the app channel."""
    category = _service(submission.service_code)
    extra = check_attributes(category, submission.attributes)
    description = _limited(submission.description, MAX_DESCRIPTION, "description") or category.name
    email = _email(submission.email)
    first_name = _limited(submission.first_name, MAX_NAME, "first_name")
    last_name = _limited(submission.last_name, MAX_NAME, "last_name")
    phone = _limited(submission.phone, MAX_PHONE, "phone")
    device_id = _limited(submission.device_id, MAX_ID, "device_id")
    account_id = _limited(submission.account_id, MAX_ID, "account_id")
    media_url = _media_url(submission.media_url)
    extension = photo_extension(submission.media) if submission.media is not None else None
    lon, lat, address = _place(submission)
    if locating.locate(lon, lat).grid_id is None:
        raise ValidationFailed("The location is outside the area this city serves.", code="outside_city")

    digest = fingerprint(application, _submission_values(submission), submission.media)
    now = steps.now()
    window = idempotency_window()
    earlier = RequestToken.objects.filter(
        application=application, fingerprint=digest, created_at__gte=now - window
    ).first()
    if earlier is not None:
        return Submitted(reads.with_case(earlier), created=False)
    bucket = int(now.timestamp()) // int(window.total_seconds())
    token_value = secrets.token_hex(16)
    with transaction.atomic():
        reported = case_report(
            actor=None,
            channel=Channel.APP,
            lon=lon,
            lat=lat,
            origin=origin,
            description=description,
            address=address,
            category_code=category.code,
            urgency=category.urgency_default,
            idempotency_key=f"open311:{digest[:48]}:{bucket}",
            reporter_name=f"{first_name} {last_name}".strip(),
            reporter_phone=phone,
            external_ref=f"open311:{token_value}",
            extra=extra,
            at=now,
        )
        if not reported.created:  # an identical post raced this one and won
            same = RequestToken.objects.filter(case=reported.case).first()
            if same is not None:
                same.case = reported.case
                return Submitted(same, created=False)
        token = RequestToken.objects.create(
            token=token_value,
            application=application,
            case=reported.case,
            fingerprint=digest,
            media_url=media_url,
            email=email,
            device_id=device_id,
            account_id=account_id,
            created_at=now,
        )
        if submission.media is not None and extension is not None:
            token.media_photo = _store_photo(
                reported.case.pk, submission.media, extension, application, origin
            )
            token.save(update_fields=["media_photo"])
    return Submitted(token, created=True)


def _application_label(application: ClientApplication) -> str:
    return f"{application.name} (Open311)"[:150]


def _event(
    case: Case, kind: str, application: ClientApplication, *, note: str = "", **data: Any
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        city_id=case.city_id,
        kind=kind,
        at=steps.now(),
        actor=None,
        actor_label=_application_label(application),
        from_status=case.status,
        to_status=case.status,
        note=note,
        data=data,
    )


def _store_photo(
    case_id: int, content: bytes, extension: str, application: ClientApplication, origin: Origin
) -> CasePhoto:
    """A photo the reporter took, at the report stage of the case's photos."""
    with transaction.atomic():
        case = lock_case(case_id, Q(city_id=home_city_id()))
        photo = photo_save(case, CasePhoto.Stage.REPORT, content, extension, None, name="open311")
        _event(case, "photo", application, stage=CasePhoto.Stage.REPORT, photo=photo.pk, by="open311")
        record_audit(
            case, "photo", None, origin, stage=CasePhoto.Stage.REPORT, by=f"open311:{application.pk}"
        )
    return photo


# --- an update from the client --------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateSubmission:
    """A POSTed service request update (the `servicerequestupdates` extension)."""

    service_request_id: str
    description: str = ""
    status: str = ""
    update_id: str = ""
    updated_datetime: str = ""
    media_url: str = ""
    media: bytes | None = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Posted:
    event: CaseEvent
    created: bool


def _update_status(raw: str) -> str:
    status = raw.strip().lower()
    if status and status not in ("open", "closed"):
        raise ValidationFailed("status is open or closed.", code="bad_status")
    return status


def update_submit(*, application: ClientApplication, submission: UpdateSubmission, origin: Origin) -> Posted:
    """A comment or a photo from the reporter, on a request this application posted. It joins the
    case's timeline and its dispatchers are told; the case's state does not change."""
    number = submission.service_request_id.strip()
    if not number:
        raise ValidationFailed("service_request_id was not provided.", code="request_id_required")
    description = _limited(submission.description, MAX_DESCRIPTION, "description")
    status = _update_status(submission.status)
    media_url = _media_url(submission.media_url)
    client_update_id = _limited(submission.update_id, MAX_ID, "update_id")
    if submission.updated_datetime.strip():
        parse_w3c(submission.updated_datetime, name="updated_datetime")
    extension = photo_extension(submission.media) if submission.media is not None else None
    if not (description or media_url or submission.media is not None):
        raise ValidationFailed("An update needs a description or media.", code="update_empty")
    target = reads.case_for_update(number[:24])
    posted_by = getattr(getattr(target, "open311_request", None), "application_id", None)
    if posted_by != application.pk:
        raise PermissionDenied("Only the application that posted a request may post updates to it.")

    values = {k: v for k, v in vars(submission).items() if k not in ("media", "updated_datetime")}
    digest = fingerprint(application, values, submission.media)
    since = steps.now() - idempotency_window()
    with transaction.atomic():
        case = lock_case(target.pk, Q(city_id=target.city_id))
        earlier = case.events.filter(
            city_id=case.city_id, kind=UPDATE_KIND, at__gte=since, data__fingerprint=digest
        ).first()
        if earlier is not None:
            return Posted(earlier, created=False)
        photo_id = None
        if submission.media is not None and extension is not None:
            photo_id = _store_photo(case.pk, submission.media, extension, application, origin).pk
        event = _event(
            case,
            UPDATE_KIND,
            application,
            note=description,
            fingerprint=digest,
            status=status,
            media_url=media_url,
            photo=photo_id,
            update_id=client_update_id,
        )
        record_audit(case, "open311_update", None, origin, application=application.pk, event=event.pk)
        tell(
            case_reads.dispatchers_of(case),
            case,
            "报告人补充信息",
            f"案件 {case.number} 的报告人通过 {application.name} 补充了信息。",
        )
    return Posted(event, created=True)
