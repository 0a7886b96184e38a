"""The steps a resident takes without an account: report a problem (with a photo), and rate the
outcome at the follow-up visit. Instead of a staff role, the resident proves their relation to a
case with its tracking code and the phone number they gave (the whole number or its last 4 digits).

Each step composes the same building blocks as `cases.services` (`steps.lock_case`,
`record_event`, `record_audit`, `notices.tell`), so a resident's rating moves the case exactly as
a dispatcher's follow-up visit does: satisfied closes, dissatisfied reopens it for rework.
"""

from __future__ import annotations

import hmac
import re

from django.db import transaction
from django.db.models import Q

from zhiwang.cases import selectors as reads
from zhiwang.cases import steps
from zhiwang.cases.intake import Reported, case_report
from zhiwang.cases.models import Case, CaseEvent, CasePhoto, Channel, Status
from zhiwang.cases.notices import tell, tell_reporters
from zhiwang.cases.permissions import cities_of
from zhiwang.cases.photos import photo_extension, photo_save
from zhiwang.cases.steps import lock_case, record_audit, record_event
from zhiwang.cases.workflow import TRANSITIONS
from zhiwang.common.errors import Conflict, NotFound, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate as locating

# How the timeline names a step the reporting resident took (they have no account).
REPORTER_LABEL = "居民（报告人）"
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
TRACKING_CODE_RE = re.compile(r"^[0-9A-Z]{6,16}$")


# --- who the resident is towards a case ---------------------------------------------------------


def phone_digits(value: str) -> str:
    """The digits of a phone number, without China's +86 country code."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def mobile_number(value: str) -> str | None:
    """A mainland mobile number as its 11 digits, or None when `value` is not one."""
    digits = phone_digits(value)
    return digits if MOBILE_RE.match(digits) else None


def normal_tracking_code(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def phone_matches(stored: str, given: str) -> bool:
    """`given` is the whole phone number stored on the case, or its last 4 digits."""
    have, want = phone_digits(stored), phone_digits(given)
    if len(have) < 4 or len(want) not in (4, len(have)):
        return False
    return hmac.compare_digest(have[-len(want) :], want)


def reporter_matches(case: Case, tracking_code: str, phone: str) -> bool:
    return hmac.compare_digest(case.tracking_code, normal_tracking_code(tracking_code)) and phone_matches(
        case.reporter_phone, phone
    )


# --- the report ---------------------------------------------------------------------------------


def case_report_by_resident(
    *,
    lon: float,
    lat: float,
    description: str,
    phone: str,
    origin: Origin,
    idempotency_key: str,
    address: str = "",
    category_code: str | None = None,
    name: str = "",
    photo: bytes | None = None,
) -> Reported:
    """A resident's report from the portal: a case on the resident channel, with the photo taken at
    report. Only points inside the city's base grids are taken (nobody would handle the others).
    A retried submission (same idempotency key) returns the first case and stores no second photo."""
    number = mobile_number(phone)
    if number is None:
        raise ValidationFailed("Give a mainland mobile number.", code="bad_phone")
    extension = photo_extension(photo) if photo is not None else None
    if locating.locate(lon, lat).grid_id is None:
        raise ValidationFailed("The place is outside the city's grids.", code="outside_city")
    reported = case_report(
        actor=None,
        channel=Channel.RESIDENT,
        lon=lon,
        lat=lat,
        origin=origin,
        description=description,
        address=address,
        category_code=category_code or None,
        idempotency_key=idempotency_key,
        reporter_name=name,
        reporter_phone=number,
    )
    if reported.created and photo is not None and extension is not None:
        _store_report_photo(reported.case, photo, extension, origin)
    return reported


def _store_report_photo(reported: Case, content: bytes, extension: str, origin: Origin) -> CasePhoto:
    with transaction.atomic():
        case = lock_case(reported.pk, Q(city_id=reported.city_id))
        photo = photo_save(case, CasePhoto.Stage.REPORT, content, extension, None)
        event = record_event(
            case, "photo", None, before=case.status, stage=CasePhoto.Stage.REPORT, photo=photo.pk
        )
        _label_reporter(event)
        record_audit(case, "photo", None, origin, stage=CasePhoto.Stage.REPORT, by="reporter")
    return photo


# --- the follow-up visit --------------------------------------------------------------------------


def _case_id_of(tracking_code: str) -> int:
    code = normal_tracking_code(tracking_code)
    case_id = (
        Case.objects.filter(cities_of(None), tracking_code=code).values_list("pk", flat=True).first()
        if TRACKING_CODE_RE.match(code)
        else None
    )
    if case_id is None:
        raise NotFound("No such case.")
    return case_id


def case_rate_by_reporter(
    *, tracking_code: str, phone: str, rating: int, origin: Origin, comment: str = ""
) -> Case:
    """回访 by the reporting resident: the same step as `services.case_revisit`, with the tracking
    code and phone in place of a dispatcher's role. Satisfied closes, dissatisfied reopens (重办)."""
    if not 1 <= rating <= 5:
        raise ValidationFailed("A rating runs from 1 to 5.", code="bad_rating")
    case_id = _case_id_of(tracking_code)
    with transaction.atomic():
        case = lock_case(case_id, cities_of(None))
        if not reporter_matches(case, tracking_code, phone):
            raise NotFound("No such case.")  # the same answer as an unknown code
        if case.status not in TRANSITIONS["revisit"].sources:
            raise Conflict(
                f"A case that is {case.status} cannot be rated now.",
                code="illegal_transition",
                details={"status": case.status},
            )
        before = case.status
        kind = steps.rate(case, rating, comment, steps.now())
        case.save()
        event = record_event(case, kind, None, before=before, note=comment, rating=rating, by="reporter")
        _label_reporter(event)
        record_audit(case, kind, None, origin, rating=rating, by="reporter")
        _tell_about_rating(case, rating)
    return case


def _tell_about_rating(case: Case, rating: int) -> None:
    dispatchers = reads.dispatchers_of(case)
    if case.status == Status.CLOSED:
        merged = list(case.merged.filter(city_id=case.city_id).select_related("reporter"))
        tell_reporters(merged, "案件已办结", f"您反映的问题（案件 {case.number}）已办结。")
        tell(dispatchers, case, "居民已评价", f"案件 {case.number} 的报告人评价 {rating} 分，案件已办结。")
    else:
        body = f"案件 {case.number} 的报告人评价 {rating} 分（不满意），请重新处置。"
        tell(reads.handlers_of(case), case, "案件重办", body)
        tell(dispatchers, case, "案件重办", body)


def _label_reporter(event: CaseEvent) -> None:
    """Name the reporting resident on a timeline entry written without a user."""
    event.actor_label = REPORTER_LABEL
    event.save(update_fields=["actor_label"])
