"""Reads for the resident portal. A resident sees one case only, after giving its tracking code and
their phone number, and only its public side: the steps, the handling unit, the result. Nobody's
name, no staff, no internal notes, nothing of other reporters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Min

from zhiwang.cases.models import Case, Status
from zhiwang.cases.resident import TRACKING_CODE_RE, normal_tracking_code, reporter_matches
from zhiwang.common.errors import NotFound
from zhiwang.grids.locate import home_city_id
from zhiwang.grids.models import GridNode, Layer, Level
from zhiwang.taxonomy.selectors import category_tree

# Dongguan's centre, for a map drawn before any grid is imported.
DEFAULT_CENTRE = (23.02, 113.75)

# Timeline steps a resident sees; warnings, escalations, supervision, whistles, photos, extension
# requests and merged-in reports of other people stay inside.
PUBLIC_KINDS = frozenset(
    {
        "report",
        "accept",
        "reject",
        "merge",
        "dispatch",
        "sign",
        "return",
        "approve_extension",
        "park",
        "unpark",
        "handle",
        "verify_pass",
        "verify_fail",
        "self_handle",
        "close",
        "reopen",
    }
)
# Statuses in which the handler's account of what was done is shown.
RESULT_STATUSES = frozenset({Status.HANDLED, Status.REVISIT, Status.CLOSED})


@dataclass(frozen=True)
class PublicStep:
    kind: str
    at: datetime
    detail: str = ""  # the handling unit of a dispatch, the reason of a refusal


@dataclass(frozen=True)
class Progress:
    case: Case
    steps: list[PublicStep]
    result: str  # what the handler did, once handled
    can_rate: bool
    merged_status: str  # the status of the case this one was merged into, or ""


def tracked_case(*, tracking_code: str, phone: str) -> Case:
    """The case with this tracking code whose reporter gave this phone (whole, or its last 4
    digits). An unknown code and a wrong phone get the same NotFound."""
    code = normal_tracking_code(tracking_code)
    case = (
        Case.objects.select_related("category", "department")
        .filter(city_id=home_city_id(), tracking_code=code)
        .first()
        if TRACKING_CODE_RE.match(code)
        else None
    )
    if case is None or not reporter_matches(case, code, phone):
        raise NotFound("No such case.")
    return case


def _public_step(kind: str, at: datetime, note: str, data: dict[str, object]) -> PublicStep:
    if kind == "dispatch":
        return PublicStep(kind, at, str(data.get("to") or ""))
    if kind == "reject":  # the reason is addressed to the reporter
        return PublicStep(kind, at, note)
    return PublicStep(kind, at)


def case_progress(case: Case) -> Progress:
    """The public timeline of `case` (one query; one more for a merged case)."""
    rows = list(
        case.events.filter(city_id=case.city_id, kind__in=sorted(PUBLIC_KINDS))
        .order_by("at", "id")
        .values_list("kind", "at", "note", "data")
    )
    steps = [_public_step(kind, at, note, data or {}) for kind, at, note, data in rows]
    handled = [note for kind, _at, note, _data in rows if kind == "handle"]
    result = handled[-1] if handled and case.status in RESULT_STATUSES else ""
    merged_status = ""
    if case.status == Status.MERGED and case.merged_into_id is not None:
        merged_status = (
            Case.objects.filter(city_id=case.city_id, pk=case.merged_into_id)
            .values_list("status", flat=True)
            .first()
            or ""
        )
    return Progress(
        case=case,
        steps=steps,
        result=result,
        can_rate=case.status == Status.REVISIT,
        merged_status=merged_status,
    )


def category_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The active 小类 grouped by their 大类, for the report form's picker."""
    return [
        (branch.major.name, [(minor.code, minor.name) for minor in branch.minors])
        for branch in category_tree(active=True)
        if branch.minors
    ]


def map_centre() -> tuple[float, float]:
    """The centre (lat, lon) of the city's current outline, where the report map starts."""
    box = GridNode.objects.filter(layer=Layer.ADMIN, level=Level.CITY, valid_to__isnull=True).aggregate(
        west=Min("min_lon"), east=Max("max_lon"), south=Min("min_lat"), north=Max("max_lat")
    )
    if box["west"] is None:
        return DEFAULT_CENTRE
    return ((box["south"] + box["north"]) / 2, (box["west"] + box["east"]) / 2)
