"""Reads of cases, always within the reader's scope: queues, one case with its timeline, duplicates."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from zhiwang.accounts.models import Department, Role, RoleAssignment, User
from zhiwang.accounts.permissions import Scope, assignment_active_q, require_staff_role
from zhiwang.cases import clock
from zhiwang.cases.models import OPEN_STATUSES, Case, CaseEvent, CasePhoto, Extension, Status
from zhiwang.cases.permissions import relation
from zhiwang.cases.routing import Route, route
from zhiwang.common.errors import NotFound
from zhiwang.grids.models import GridNode, city_of, path_prefixes
from zhiwang.workcalendar.selectors import working_calendar

Actor = AbstractBaseUser | AnonymousUser | None
EARTH_RADIUS_M = 6_371_008.8
# Related grids are loaded for their codes and paths, never for their polygons.
GRID_SHAPES = ("grid__geometry", "grid__properties", "community__geometry", "community__properties")


def visible_q(scope: Scope) -> Q:
    """Cases a reader may see: in their grid scope, dispatched to their department, or reported by them."""
    if scope.is_superuser:
        return Q()
    query = scope.grid_q("grid_path")
    if scope.department_ids:
        query |= Q(department_id__in=sorted(scope.department_ids))
    if scope.user_id is not None:
        query |= Q(reporter_id=scope.user_id)
    return query


def merged_number() -> Subquery:
    """The number of the case a case was merged into, read within the case's own city."""
    merged = Case.objects.filter(city_id=OuterRef("city_id"), pk=OuterRef("merged_into_id"))
    return Subquery(merged.values("number"))


def case_get(*, actor: Actor, case_id: int) -> Case:
    scope = require_staff_role(actor)
    case = (
        Case.objects.select_related("category", "grid", "department", "community", "handler", "reporter")
        .defer(*GRID_SHAPES)
        .filter(scope.city_q(), pk=case_id)
        .annotate(merged_into_number=merged_number())
        .first()
    )
    if case is None or not relation(actor, case).reader:
        raise NotFound("No such case.")
    return case


def case_timeline(case: Case) -> QuerySet[CaseEvent]:
    return case.events.filter(city_id=case.city_id).order_by("at", "id")


QUEUES = {
    "to_accept": Q(status=Status.REPORTED),
    "to_dispatch": Q(status__in=[Status.ACCEPTED, Status.RETURNED]),
    "to_sign": Q(status=Status.DISPATCHED),
    "in_hand": Q(status=Status.SIGNED),
    "to_verify": Q(status=Status.HANDLED),
    "to_revisit": Q(status=Status.REVISIT),
    "parked": Q(status=Status.PARKED),
    "open": Q(status__in=sorted(OPEN_STATUSES)),
}


def case_cohort(
    *,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    within_path: str | None = None,
    department_id: int | None = None,
    reporter_id: int | None = None,
) -> QuerySet[Case]:
    """The cases the reader may see, reported in [since, until), in a subtree, of a department or
    reporter: the base of the work queues and of the KPIs."""
    scope = require_staff_role(actor)
    cases = Case.objects.filter(scope.city_q(), visible_q(scope))
    if since:
        cases = cases.filter(reported_at__gte=since)
    if until:
        cases = cases.filter(reported_at__lt=until)
    if within_path:
        cases = cases.filter(city_id=city_of(within_path) or 0, grid_path__startswith=within_path)
    if department_id is not None:
        cases = cases.filter(department_id=department_id)
    if reporter_id is not None:
        cases = cases.filter(reporter_id=reporter_id)
    return cases


def case_list(
    *,
    actor: Actor,
    queue: str | None = None,
    status: str | None = None,
    light: str | None = None,
    category: str | None = None,
    within_path: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> QuerySet[Case]:
    cases = case_cohort(actor=actor, since=since, until=until, within_path=within_path)
    if queue:
        if queue == "overdue":
            cases = cases.filter(
                status__in=sorted(OPEN_STATUSES),
                due_at__lt=now or timezone.now(),
                paused_since__isnull=True,
                handled_at__isnull=True,
            )
        elif queue in QUEUES:
            cases = cases.filter(QUEUES[queue])
        else:
            cases = cases.none()
    if status:
        cases = cases.filter(status=status)
    if category:
        cases = cases.filter(Q(category__code=category) | Q(category__parent__code=category))
    if channel:
        cases = cases.filter(channel=channel)
    if light:
        cases = filter_by_light(cases, light, now or timezone.now())
    return (
        cases.select_related("category", "grid", "department", "community")
        .defer(*GRID_SHAPES)
        .order_by("-reported_at", "-id")
    )


def filter_by_light(cases: QuerySet[Case], light: str, now: datetime) -> QuerySet[Case]:
    """Lights in the database: red is past the deadline; yellow is past 80% of the budget."""
    running = cases.filter(
        due_at__isnull=False,
        paused_since__isnull=True,
        handled_at__isnull=True,
        status__in=sorted(OPEN_STATUSES),
    )
    if light == "red":
        return running.filter(due_at__lt=now)
    if light == "stopped":
        return cases.filter(paused_since__isnull=False)
    calendar = working_calendar()
    ids = [
        c.pk
        for c in running.filter(due_at__gte=now).only(
            "pk",
            "clock_started_at",
            "limit_seconds",
            "extension_seconds",
            "paused_seconds",
            "paused_since",
            "handled_at",
            "due_at",
        )
        if clock.light(c, now, calendar) == light
    ]
    return cases.filter(pk__in=ids)


# --- who hears about a case -------------------------------------------------------------------


def users_with(role: str, paths: Iterable[str] = (), department_id: int | None = None) -> list[User]:
    assignments = RoleAssignment.objects.filter(assignment_active_q(), role=role)
    if department_id is not None:
        assignments = assignments.filter(department_id=department_id)
    else:
        assignments = assignments.filter(grid__path__in=list(paths))
    return list(User.objects.filter(is_active=True, pk__in=assignments.values("user_id")).order_by("pk"))


def handlers_of(case: Case) -> list[User]:
    if case.department_id is not None:
        return users_with(Role.DEPARTMENT_HANDLER, department_id=case.department_id)
    if case.community is not None:
        return users_with(Role.COMMUNITY_DISPATCHER, [case.community.path])
    return []


def dispatchers_of(case: Case) -> list[User]:
    """The dispatch level the case has reached: community, then town, then city commanders."""
    return commanders_at(case, case.escalation_level)


def commanders_at(case: Case, level: int) -> list[User]:
    """Who dispatches at a level above the case: 0 community, 1 town, 2 city."""
    role = [Role.COMMUNITY_DISPATCHER, Role.TOWN_COMMANDER, Role.CITY_COMMANDER][min(level, 2)]
    return users_with(role, path_prefixes(case.grid_path))


def finders_of(case: Case) -> list[User]:
    if case.reporter is not None and case.channel == "grid_worker":
        return [case.reporter]
    return users_with(Role.GRID_WORKER, path_prefixes(case.grid_path)) if case.grid_path else []


# --- duplicates -------------------------------------------------------------------------------


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def duplicate_candidates(*, actor: Actor, case: Case, limit: int = 5) -> list[tuple[Case, float]]:
    """Open cases likely to be the same problem: same category family, nearby, recent, similar text.

    Score = 0.4 × closeness + 0.3 × text similarity + 0.3 × recency, each in [0, 1]; only cases
    inside the radius and the time window are considered.
    """
    scope = require_staff_role(actor)
    radius = settings.ZHIWANG_DUPLICATE_RADIUS_M
    window = timedelta(hours=settings.ZHIWANG_DUPLICATE_WINDOW_HOURS)
    dlat = radius / 111_320
    dlon = radius / (111_320 * max(0.1, math.cos(math.radians(case.lat))))
    candidates = (
        Case.objects.filter(visible_q(scope), city_id=case.city_id)
        .filter(status__in=sorted(OPEN_STATUSES), merged_into__isnull=True)
        .exclude(pk=case.pk)
        .filter(lon__range=(case.lon - dlon, case.lon + dlon), lat__range=(case.lat - dlat, case.lat + dlat))
        .filter(reported_at__range=(case.reported_at - window, case.reported_at + window))
        .select_related("category")
    )
    family = case.category.parent_id or case.category_id if case.category else None
    scored = []
    for other in candidates:
        if family is not None and other.category is not None:
            if (other.category.parent_id or other.category_id) != family:
                continue
        distance = distance_m(case.lon, case.lat, other.lon, other.lat)
        if distance > radius:
            continue
        similarity = SequenceMatcher(None, case.description, other.description).ratio()
        age = abs((case.reported_at - other.reported_at).total_seconds()) / window.total_seconds()
        score = 0.4 * (1 - distance / radius) + 0.3 * similarity + 0.3 * (1 - age)
        scored.append((other, round(score, 3)))
    scored.sort(key=lambda pair: (-pair[1], pair[0].pk))
    return scored[:limit]


def photo_get(*, actor: Actor, case_id: int, photo_id: int) -> CasePhoto:
    """A photo of a case the actor may read."""
    case = case_get(actor=actor, case_id=case_id)
    photo = CasePhoto.objects.filter(city_id=case.city_id, case=case, pk=photo_id).first()
    if photo is None:
        raise NotFound("No such photo.")
    return photo


# --- the console: work queues and the case page -------------------------------------------------

QUEUE_ORDER = (
    "to_accept",
    "to_dispatch",
    "to_sign",
    "in_hand",
    "overdue",
    "to_verify",
    "to_revisit",
    "parked",
    "open",
)


def overdue_q(now: datetime) -> Q:
    """Open cases past their deadline with the clock running (the "overdue" queue of `case_list`)."""
    return Q(
        status__in=sorted(OPEN_STATUSES),
        due_at__lt=now,
        paused_since__isnull=True,
        handled_at__isnull=True,
    )


def own_work_q(scope: Scope) -> Q:
    """A department handler without a dispatch or command role works the cases of their departments;
    everyone else works every case they can see."""
    if scope.is_superuser or scope.roles - {Role.DEPARTMENT_HANDLER} or not scope.department_ids:
        return Q()
    return Q(department_id__in=sorted(scope.department_ids))


def case_queue(
    *,
    actor: Actor,
    queue: str | None = None,
    status: str | None = None,
    light: str | None = None,
    category: str | None = None,
    within_path: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Case]:
    """A work queue of the console: `case_list`, narrowed for department handlers to their own cases."""
    scope = require_staff_role(actor)
    cases = case_list(
        actor=actor,
        queue=queue,
        status=status,
        light=light,
        category=category,
        within_path=within_path,
        channel=channel,
        since=since,
        until=until,
    )
    return cases.filter(own_work_q(scope))


def queue_counts(*, actor: Actor, queues: Iterable[str], now: datetime | None = None) -> dict[str, int]:
    """How many cases wait in each named queue, in one aggregate query."""
    scope = require_staff_role(actor)
    now = now or timezone.now()
    conditions = {name: overdue_q(now) if name == "overdue" else QUEUES[name] for name in queues}
    if not conditions:
        return {}
    cases = case_cohort(actor=actor).filter(own_work_q(scope))
    totals = cases.aggregate(**{name: Count("pk", filter=q) for name, q in conditions.items()})
    return {name: int(totals[name] or 0) for name in conditions}


def pending_extension(case: Case) -> Extension | None:
    """The extension request of a case waiting for a decision, if any."""
    return Extension.objects.pending_for(case).select_related("requested_by").first()


def case_photos(case: Case) -> QuerySet[CasePhoto]:
    return case.photos.filter(city_id=case.city_id).order_by("uploaded_at", "id")


def case_overlay_codes(case: Case) -> list[str]:
    return list(case.overlay_grids.order_by("code").values_list("code", flat=True))


def case_grid_outline(case: Case) -> dict[str, Any] | None:
    """The polygon of the base grid a case lies in (for a case the caller has already loaded)."""
    if case.grid_id is None:
        return None
    geometry: dict[str, Any] | None = (
        GridNode.objects.filter(pk=case.grid_id).values_list("geometry", flat=True).first()
    )
    return geometry


def case_id_by_number(*, actor: Actor, number: str) -> int:
    """The id of a case the actor may see, by its number; 404 for a number they cannot see."""
    found = case_cohort(actor=actor).filter(number=number.strip()).values_list("pk", flat=True).first()
    if found is None:
        raise NotFound("No such case.")
    return int(found)


@dataclass(frozen=True)
class DispatchOptions:
    """Where a case may be dispatched, and where routing would send it."""

    departments: list[Department]
    community: GridNode | None
    suggestion: Route | None


def dispatch_options(*, actor: Actor, case: Case, suggest: bool = True) -> DispatchOptions:
    """Active departments whose jurisdiction holds the case or lies in the actor's scope (nearest
    first), the community the case lies in, and the routing suggestion."""
    scope = require_staff_role(actor)
    prefixes = path_prefixes(case.grid_path) if case.grid_path else []
    departments = list(
        Department.objects.filter(is_active=True)
        .filter(Q(jurisdiction__path__in=prefixes) | scope.grid_q("jurisdiction__path"))
        .select_related("jurisdiction")
        .defer("jurisdiction__geometry", "jurisdiction__properties")
        .order_by("-jurisdiction__depth", "code")
    )
    community = (
        GridNode.objects.filter(path__in=prefixes, level="community", valid_to__isnull=True)
        .defer("geometry", "properties")
        .first()
    )
    suggestion = route(case) if suggest and case.category_id is not None else None
    return DispatchOptions(departments=departments, community=community, suggestion=suggestion)
