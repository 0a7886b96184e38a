"""Reads for the Open311 API. Everything here is public: services come from the taxonomy, requests
and updates from cases and their timelines, loaded with their public fields only (the reporter's
name and phone are never even read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery

from zhiwang.cases.models import FINAL_STATUSES, OPEN_STATUSES, Case, CaseEvent, CasePhoto
from zhiwang.common.errors import NotFound
from zhiwang.grids.locate import home_city_id
from zhiwang.grids.models import GridNode, Layer, Level
from zhiwang.open311.models import RequestToken
from zhiwang.open311.params import Page, Window
from zhiwang.open311.wording import STEP_WORDS
from zhiwang.taxonomy.models import Category, TaxonomyRevision
from zhiwang.taxonomy.selectors import category_by_code, category_tree

# The case fields an answer may show. Nothing about the reporter is among them.
PUBLIC_CASE_FIELDS = (
    "number",
    "status",
    "channel",
    "description",
    "address",
    "lat",
    "lon",
    "reported_at",
    "updated_at",
    "due_at",
    "category__code",
    "category__name",
    "category__time_limit",
    "category__time_unit",
    "department__name",
    "community__name",
    "grid__code",
    "open311_request__token",
    "open311_request__media_url",
    "open311_request__media_photo_id",
)
PUBLIC_STATUSES = {"open": sorted(OPEN_STATUSES), "closed": sorted(FINAL_STATUSES)}


@dataclass(frozen=True)
class Service:
    category: Category
    group: str


def service_list() -> list[Service]:
    """Every active 小类 under an active 大类, in the taxonomy's order (one query)."""
    return [
        Service(category=minor, group=branch.major.name)
        for branch in category_tree(active=True)
        for minor in branch.minors
    ]


def service_get(code: str) -> Category:
    """An active 小类 under an active 大类, by its code (the cached taxonomy)."""
    category = category_by_code(code)
    if category is None or category.parent is None or not category.is_active or not category.parent.is_active:
        raise NotFound(f"service_code {code} not found.", code="service_not_found")
    return category


def _public_cases() -> QuerySet[Case]:
    return (
        Case.objects.select_related("category", "department", "community", "grid", "open311_request")
        .filter(city_id=home_city_id())
        .only(*PUBLIC_CASE_FIELDS)
        .annotate(
            merged_into_number=Subquery(
                Case.objects.filter(city_id=OuterRef("city_id"), pk=OuterRef("merged_into_id")).values(
                    "number"
                )
            )
        )
    )


def request_list(
    *,
    numbers: list[str],
    service_codes: list[str],
    statuses: list[str],
    window: Window,
    page: Page,
) -> list[Case]:
    """Requests, newest first. Listed numbers override every other filter (as the spec says)."""
    cases = _public_cases().filter(number__isnull=False)
    if numbers:
        cases = cases.filter(number__in=numbers)
    else:
        cases = cases.filter(reported_at__gte=window.start, reported_at__lte=window.end)
        if service_codes:
            cases = cases.filter(category__code__in=service_codes)
        if statuses:
            wanted = [status for name in statuses for status in PUBLIC_STATUSES[name]]
            cases = cases.filter(status__in=wanted)
    cases = cases.order_by("-reported_at", "-id")
    return list(cases[page.offset : page.offset + page.size])


def request_get(number: str) -> Case:
    case = _public_cases().filter(number=number).first()
    if case is None:
        raise NotFound(f"service_request_id {number} not found.", code="request_not_found")
    return case


def token_get(token: str) -> RequestToken:
    found = RequestToken.objects.filter(token=token).first()
    if found is None:
        raise NotFound(f"token {token} not found.", code="token_not_found")
    return with_case(found)


def with_case(token: RequestToken) -> RequestToken:
    """The token with its case read by the case's city (never through a join or a lazy read)."""
    if token.case_id is not None:
        token.case = (
            Case.objects.select_related("category").filter(city_id=home_city_id(), pk=token.case_id).first()
        )
    return token


def media_photo_of(token: str) -> RequestToken:
    found = RequestToken.objects.filter(token=token, media_photo__isnull=False).first()
    photo = (
        CasePhoto.objects.filter(city_id=home_city_id(), pk=found.media_photo_id).first()
        if found is not None and found.media_photo_id is not None
        else None
    )
    if found is None or photo is None:
        raise NotFound("No such media.", code="media_not_found")
    found.media_photo = photo
    return found


def update_list(*, numbers: list[str], window: Window, page: Page) -> list[CaseEvent]:
    """Public steps of every request's timeline that happened in the window, oldest first."""
    city = home_city_id()
    events = (
        CaseEvent.objects.filter(kind__in=sorted(STEP_WORDS), at__gte=window.start, at__lte=window.end)
        .filter(city_id=city, case__city_id=city, case__number__isnull=False)
        .select_related("case")
        .only("id", "kind", "at", "to_status", "case__number", "case__status")
    )
    if numbers:
        events = events.filter(case__number__in=numbers)
    events = events.order_by("at", "id")
    return list(events[page.offset : page.offset + page.size])


def case_for_update(number: str) -> Case:
    case = (
        Case.objects.select_related("open311_request")
        .only("id", "city_id", "number", "open311_request__application_id")
        .filter(city_id=home_city_id(), number=number)
        .first()
    )
    if case is None:
        raise NotFound(f"service_request_id {number} not found.", code="request_not_found")
    return case


# --- places for a request without a coordinate -------------------------------------------------


@dataclass(frozen=True)
class Place:
    lon: float
    lat: float
    label: str


def _current_admin() -> QuerySet[GridNode]:
    return GridNode.objects.filter(layer=Layer.ADMIN, valid_to__isnull=True)


def place_of_grid(code: str) -> Place | None:
    """The label point of the current base grid with this code (an `address_id`)."""
    row = (
        _current_admin()
        .filter(level=Level.GRID, code=code)
        .values_list("label_lon", "label_lat", "name")
        .first()
    )
    return Place(row[0], row[1], row[2]) if row else None


def _names_down_to(row: Any, by_id: dict[int, Any]) -> list[str]:
    names: list[str] = []
    node = row
    while node is not None:
        names.append(str(node[3]))
        node = by_id.get(node[1])
    return names


def place_of_address(text: str) -> Place | None:
    """The deepest division (town, community, base grid) whose names, from the town down, all
    appear in the address; at each depth only a single match counts (two are ambiguous)."""
    rows = list(
        _current_admin()
        .filter(Q(level=Level.TOWN) | Q(level=Level.COMMUNITY) | Q(level=Level.GRID))
        .values_list("id", "parent_id", "level", "name", "label_lon", "label_lat")
    )
    by_id = {row[0]: row for row in rows}
    depth_of: dict[str, int] = {Level.TOWN: 1, Level.COMMUNITY: 2, Level.GRID: 3}
    matches: dict[int, list[Any]] = {}
    for row in rows:
        if all(name and name in text for name in _names_down_to(row, by_id)):
            matches.setdefault(depth_of[row[2]], []).append(row)
    for depth in sorted(matches, reverse=True):
        if len(matches[depth]) == 1:
            row = matches[depth][0]
            return Place(float(row[4]), float(row[5]), str(row[3]))
    return None


def changeset() -> datetime:
    """When the list of services last changed (the taxonomy's last write)."""
    changed = TaxonomyRevision.objects.filter(pk=1).values_list("changed_at", flat=True).first()
    return changed or datetime(2026, 1, 1, tzinfo=UTC)
