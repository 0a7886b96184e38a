"""Reads of the registry, always within the reader's scope.

Rows carry the path of their base grid, so scope is a prefix match (`Scope.grid_q`). Object loads
answer 404 for anything outside the scope, exactly as for objects that do not exist; searches by ID
or phone number go through the keyed hash and are filtered by scope like every other list.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from zhiwang.accounts.permissions import Scope, require_staff_role
from zhiwang.common.errors import NotFound, PermissionDenied, ValidationFailed
from zhiwang.grids.models import GridNode, Layer
from zhiwang.grids.selectors import grid_get
from zhiwang.registry import crypto
from zhiwang.registry.models import (
    ID_NUMBER_COLUMN,
    KEY_GROUP_TAGS,
    PERSON_PHONE_COLUMN,
    Address,
    Building,
    Declaration,
    Employment,
    Facility,
    ImportBatch,
    ImportJob,
    Person,
    PersonStatus,
    Room,
    Unit,
)
from zhiwang.registry.permissions import (
    CARERS,
    PERSON_READERS,
    REVIEWERS,
    Actor,
    require_person_reader,
    require_reviewer,
)
from zhiwang.registry.validation import CodeError, check_id_number, normalise_phone

GRID_SHAPES = ("grid__geometry", "grid__properties")


def person_visible_q(scope: Scope) -> Q:
    """Residents of the scope, and the workforce of units whose enterprise grid lies in the scope."""
    if scope.is_superuser:
        return Q()
    residents = scope.grid_q("grid_path", roles=PERSON_READERS)
    workforce_units = Unit.objects.filter(scope.grid_q("enterprise_grid_path", roles=PERSON_READERS))
    workers = Employment.objects.filter(
        ends_on__isnull=True, person__isnull=False, unit__in=workforce_units
    ).values("person_id")
    return residents | Q(pk__in=workers)


def _located(qs: QuerySet, scope: Scope) -> QuerySet:  # type: ignore[type-arg]
    return qs.filter(scope.grid_q("grid_path")).defer(*GRID_SHAPES)


# Places ------------------------------------------------------------------------------------------


def address_list(*, actor: Actor, search: str = "", community_id: int | None = None) -> QuerySet[Address]:
    scope = require_staff_role(actor)
    qs: QuerySet[Address] = _located(Address.objects.select_related("grid"), scope)
    if community_id is not None:
        qs = qs.filter(community_id=community_id)
    if search:
        qs = qs.filter(Q(code__startswith=search) | Q(full_text__icontains=search))
    return qs.order_by("code")


def address_get(*, actor: Actor, address_id: int) -> Address:
    scope = require_staff_role(actor)
    address = _located(Address.objects.select_related("grid"), scope).filter(pk=address_id).first()
    if address is None:
        raise NotFound("No such address.")
    return address  # type: ignore[no-any-return]


def building_list(
    *, actor: Actor, address_id: int | None = None, rental: bool | None = None
) -> QuerySet[Building]:
    scope = require_staff_role(actor)
    qs: QuerySet[Building] = _located(Building.objects.select_related("grid", "address"), scope)
    if address_id is not None:
        qs = qs.filter(address_id=address_id)
    if rental is not None:
        qs = qs.filter(is_rental=rental)
    return qs.order_by("code")


def building_get(*, actor: Actor, building_id: int) -> Building:
    scope = require_staff_role(actor)
    building = (
        _located(Building.objects.select_related("grid", "address"), scope).filter(pk=building_id).first()
    )
    if building is None:
        raise NotFound("No such building.")
    return building  # type: ignore[no-any-return]


def room_list(*, actor: Actor, building_id: int | None = None, code: str = "") -> QuerySet[Room]:
    scope = require_staff_role(actor)
    qs = Room.objects.filter(scope.grid_q("grid_path")).select_related("building")
    if building_id is not None:
        qs = qs.filter(building_id=building_id)
    if code:
        qs = qs.filter(code=code)
    return qs.order_by("code")


def room_get(*, actor: Actor, room_id: int) -> Room:
    scope = require_staff_role(actor)
    room = (
        Room.objects.filter(scope.grid_q("grid_path")).select_related("building").filter(pk=room_id).first()
    )
    if room is None:
        raise NotFound("No such room.")
    return room


# Persons -----------------------------------------------------------------------------------------


def _persons(scope: Scope) -> QuerySet[Person]:
    return (
        Person.objects.filter(person_visible_q(scope))
        .select_related("room__building__address", "grid")
        .defer(*GRID_SHAPES)
        .prefetch_related(
            Prefetch(
                "employments",
                queryset=Employment.objects.filter(ends_on__isnull=True).select_related("unit"),
                to_attr="current_employments",
            )
        )
    )


def id_number_hash(value: str) -> str:
    try:
        number = check_id_number(value)
    except CodeError as exc:
        raise ValidationFailed(str(exc), code=exc.code) from exc
    return crypto.lookup_hash(number, ID_NUMBER_COLUMN)


def phone_hash(value: str) -> str:
    try:
        phone = normalise_phone(value)
    except CodeError as exc:
        raise ValidationFailed(str(exc), code=exc.code) from exc
    return crypto.lookup_hash(phone, PERSON_PHONE_COLUMN)


def person_list(
    *,
    actor: Actor,
    id_number: str = "",
    phone: str = "",
    name: str = "",
    status: str | None = PersonStatus.ACTIVE,
    within_path: str = "",
    kind: str = "",
) -> QuerySet[Person]:
    """Persons the reader may see; `id_number` and `phone` search by exact match through the hash."""
    scope = require_person_reader(actor)
    qs = _persons(scope)
    if id_number:
        qs = qs.filter(id_number_hash=id_number_hash(id_number))
    if phone:
        qs = qs.filter(phone_hash=phone_hash(phone))
    if name:
        qs = qs.filter(name=name.strip())
    if status:
        qs = qs.filter(status=status)
    if within_path:
        qs = qs.filter(grid_path__startswith=within_path)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("id")


def person_get(*, actor: Actor, person_id: int) -> Person:
    scope = require_person_reader(actor)
    person = _persons(scope).filter(pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    return person


def person_history(person: Person, scope: Scope) -> list[object]:
    """The person's residences, only those inside the reader's scope (earlier homes stay private)."""
    return list(
        person.tenancies.filter(scope.grid_q("grid_path")).select_related("room").order_by("starts_on", "id")
    )


def community_residents(*, actor: Actor, grid_id: int) -> QuerySet[Person]:
    """The people living in a community (or any grid node): residents, with their employers."""
    require_person_reader(actor)
    node = grid_get(actor=actor, grid_id=grid_id)
    if node.layer != Layer.ADMIN:
        raise ValidationFailed("Residents are listed for an administrative grid node.", code="not_admin_grid")
    return person_list(actor=actor, within_path=node.path)


def enterprise_workforce(*, actor: Actor, grid_id: int) -> QuerySet[Employment]:
    """The people working for units of an enterprise grid, with where they live."""
    scope = require_person_reader(actor)
    node: GridNode = grid_get(actor=actor, grid_id=grid_id)
    if node.layer != Layer.ENTERPRISE:
        raise ValidationFailed("The workforce view is for an enterprise grid.", code="not_enterprise_grid")
    if not scope.covers(node.path, PERSON_READERS):
        raise NotFound("No such grid.")
    return (
        Employment.objects.filter(
            ends_on__isnull=True,
            person__isnull=False,
            unit__enterprise_grid_path__startswith=node.path,
        )
        .select_related("unit", "person__room__building__address", "person__grid")
        .defer(*(f"person__{f}" for f in GRID_SHAPES))
        .order_by("unit_id", "id")
    )


# Units, employment, facilities -------------------------------------------------------------------


def unit_visible_q(scope: Scope) -> Q:
    return scope.grid_q("grid_path") | scope.grid_q("enterprise_grid_path")


def unit_list(
    *, actor: Actor, kind: str = "", credit_code: str = "", enterprise_grid_id: int | None = None
) -> QuerySet[Unit]:
    scope = require_staff_role(actor)
    qs = Unit.objects.filter(unit_visible_q(scope)).select_related("grid", "enterprise_grid", "address")
    qs = qs.defer(*GRID_SHAPES, "enterprise_grid__geometry", "enterprise_grid__properties")
    if kind:
        qs = qs.filter(kind=kind)
    if credit_code:
        qs = qs.filter(credit_code=credit_code.strip().upper())
    if enterprise_grid_id is not None:
        qs = qs.filter(enterprise_grid_id=enterprise_grid_id)
    return qs.order_by("id")


def unit_get(*, actor: Actor, unit_id: int) -> Unit:
    unit = unit_list(actor=actor).filter(pk=unit_id).first()
    if unit is None:
        raise NotFound("No such unit.")
    return unit


def employment_get(*, actor: Actor, employment_id: int) -> Employment:
    scope = require_staff_role(actor)
    employment = (
        Employment.objects.filter(pk=employment_id, unit__in=Unit.objects.filter(unit_visible_q(scope)))
        .select_related("unit")
        .first()
    )
    if employment is None:
        raise NotFound("No such employment.")
    return employment


def facility_list(
    *, actor: Actor, major_code: str = "", status: str = "", department_id: int | None = None
) -> QuerySet[Facility]:
    scope = require_staff_role(actor)
    qs: QuerySet[Facility] = _located(Facility.objects.select_related("grid"), scope)
    if major_code:
        qs = qs.filter(major_code=major_code)
    if status:
        qs = qs.filter(status=status)
    if department_id is not None:
        qs = qs.filter(Q(owner_department_id=department_id) | Q(maintainer_department_id=department_id))
    return qs.order_by("code")


def facility_get(*, actor: Actor, facility_id: int) -> Facility:
    facility = facility_list(actor=actor).filter(pk=facility_id).first()
    if facility is None:
        raise NotFound("No such facility.")
    return facility


def import_batch_get(*, actor: Actor, batch_id: int) -> ImportBatch:
    """An import's report, for the person who ran it."""
    scope = require_staff_role(actor)
    batch = ImportBatch.objects.filter(pk=batch_id, actor_id=scope.user_id).first()
    if batch is None:
        raise NotFound("No such import.")
    return batch


def import_job_get(*, actor: Actor, job_id: int) -> ImportJob:
    """An import job, for the person who queued it."""
    scope = require_staff_role(actor)
    job = ImportJob.objects.select_related("batch").filter(pk=job_id, actor_id=scope.user_id).first()
    if job is None:
        raise NotFound("No such import.")
    return job


def import_jobs_of(*, actor: Actor, limit: int = 20) -> list[ImportJob]:
    """The person's latest import jobs."""
    scope = require_staff_role(actor)
    return list(ImportJob.objects.select_related("batch").filter(actor_id=scope.user_id)[:limit])


# Residents' declarations -------------------------------------------------------------------------


def _declarations(scope: Scope) -> QuerySet[Declaration]:
    return (
        Declaration.objects.filter(scope.grid_q("grid_path", roles=REVIEWERS))
        .select_related("room__building__address", "grid", "reviewed_by")
        .defer(*GRID_SHAPES)
    )


def declaration_queue(*, actor: Actor, status: str = "pending", kind: str = "") -> QuerySet[Declaration]:
    """The declarations of the grids the reviewer reviews, oldest first (`status` "" for all)."""
    scope = require_reviewer(actor)
    qs = _declarations(scope)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("created_at", "id")


def declaration_get(*, actor: Actor, declaration_id: int) -> Declaration:
    scope = require_reviewer(actor)
    declaration = _declarations(scope).filter(pk=declaration_id).first()
    if declaration is None:
        raise NotFound("No such declaration.")
    return declaration


# Console lists -----------------------------------------------------------------------------------


def _tag_q(tag: str) -> Q:
    """Persons whose key-group tags hold `tag` (a JSON containment where the database has one)."""
    if connection.features.supports_json_field_contains:
        return Q(tags__contains=[tag])
    return Q(tags__icontains=f'"{tag}"')  # the tags are a fixed set of plain words (KEY_GROUP_TAGS)


def resident_list(
    *,
    actor: Actor,
    within_path: str = "",
    kind: str = "",
    status: str | None = PersonStatus.ACTIVE,
    tag: str = "",
    id_number: str = "",
    phone: str = "",
) -> QuerySet[Person]:
    """`person_list`, and with `tag` only the persons carrying that key-group tag among those whose
    residence the reader cares for: a reader who sees no tags cannot sort persons by them either."""
    scope = require_person_reader(actor)
    qs = person_list(
        actor=actor, id_number=id_number, phone=phone, status=status, within_path=within_path, kind=kind
    )
    if tag:
        if tag not in KEY_GROUP_TAGS:
            raise ValidationFailed(
                f"Unknown key-group tag {tag!r}.", code="bad_choice", details={"field": "tag"}
            )
        if not scope.has_role(CARERS):
            raise PermissionDenied("Your role does not see key-group tags.", code="registry_no_care_access")
        qs = qs.filter(scope.grid_q("grid_path", roles=CARERS)).filter(_tag_q(tag))
    return qs


def unit_browse(
    *,
    actor: Actor,
    kinds: Collection[str] = (),
    within_path: str = "",
    enterprise_grid_id: int | None = None,
    name: str = "",
) -> QuerySet[Unit]:
    """`unit_list` narrowed to some kinds, to a subtree (where the unit lies or the enterprise grid
    it belongs to) and to a part of its name."""
    qs = unit_list(actor=actor, enterprise_grid_id=enterprise_grid_id)
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    if within_path:
        qs = qs.filter(Q(grid_path__startswith=within_path) | Q(enterprise_grid_path__startswith=within_path))
    if name.strip():
        qs = qs.filter(name__icontains=name.strip())
    return qs


def facility_browse(
    *, actor: Actor, within_path: str = "", major_code: str = "", status: str = "", search: str = ""
) -> QuerySet[Facility]:
    """`facility_list` narrowed to a subtree and to a code prefix or a part of the name."""
    qs = facility_list(actor=actor, major_code=major_code, status=status).select_related(
        "owner_department", "maintainer_department"
    )
    if within_path:
        qs = qs.filter(grid_path__startswith=within_path)
    if search.strip():
        qs = qs.filter(Q(code__startswith=search.strip()) | Q(name__icontains=search.strip()))
    return qs
