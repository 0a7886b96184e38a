"""Every write to the registry: one transaction each, with its audit row.

Personal numbers enter only through `sealed_id_number` / `sealed_phone`, which validate them and
return the encrypted value, its lookup hash and its masked form; nothing else of them is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from zhiwang.accounts.models import Department, User
from zhiwang.accounts.permissions import scope_for
from zhiwang.audit.services import audit_read, audit_record
from zhiwang.common.errors import Conflict, PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate as locating
from zhiwang.grids.models import GridNode, Layer, Level
from zhiwang.registry import crypto, selectors
from zhiwang.registry.models import (
    BUILDING_PHONE_COLUMN,
    ID_NUMBER_COLUMN,
    KEY_GROUP_TAGS,
    PERSON_PHONE_COLUMN,
    UNIT_PHONE_COLUMN,
    Address,
    Building,
    BuildingKind,
    Employment,
    EmploymentStatus,
    Facility,
    FacilityStatus,
    HealthStatus,
    InflowReason,
    MobilityStatus,
    PermitType,
    Person,
    PersonKind,
    PersonStatus,
    RentalStatus,
    RiskLevel,
    Room,
    RoomUse,
    Tenancy,
    TenancyKind,
    Unit,
    UnitKind,
)
from zhiwang.registry.permissions import (
    COLLECTORS,
    Actor,
    can_reveal,
    can_see_care_fields,
    check_collect,
    check_collect_visible,
    check_erase,
)
from zhiwang.registry.validation import (
    CodeError,
    check_component_code,
    check_credit_code,
    check_id_number,
    id_birth_date,
    id_sex,
    mask_id_number,
    mask_phone,
    normalise_phone,
)


@dataclass(frozen=True)
class Sealed:
    enc: str
    hash: str
    masked: str


def _invalid(exc: CodeError, field: str) -> ValidationFailed:
    return ValidationFailed(str(exc), code=exc.code, details={"field": field})


def sealed_id_number(value: str, ring: crypto.Keyring | None = None) -> tuple[str, Sealed]:
    try:
        number = check_id_number(value)
    except CodeError as exc:
        raise _invalid(exc, "id_number") from exc
    return number, Sealed(
        crypto.encrypt(number, ID_NUMBER_COLUMN, ring),
        crypto.lookup_hash(number, ID_NUMBER_COLUMN, ring),
        mask_id_number(number),
    )


def sealed_phone(value: str, column: str, ring: crypto.Keyring | None = None) -> Sealed:
    if not value.strip():
        return Sealed("", "", "")
    try:
        phone = normalise_phone(value)
    except CodeError as exc:
        raise _invalid(exc, "phone") from exc
    return Sealed(
        crypto.encrypt(phone, column, ring), crypto.lookup_hash(phone, column, ring), mask_phone(phone)
    )


def _choice(value: str, choices: list[str], field: str) -> str:
    if value not in choices:
        raise ValidationFailed(f"Unknown {field} {value!r}.", code="bad_choice", details={"field": field})
    return value


def _audit(actor: Actor, action: str, obj: Any, origin: Origin, path: str, **details: Any) -> None:
    audit_record(
        actor=actor, action=f"registry.{action}", origin=origin, obj=obj, scope_path=path, details=details
    )


def locate_base_grid(lon: float, lat: float, system: str = "wgs84") -> tuple[float, float, GridNode]:
    """The WGS-84 point and the current base grid it lies in; 400 outside every grid."""
    location = locating.locate(lon, lat, system)
    grid = (
        GridNode.objects.defer("geometry", "properties").filter(pk=location.grid_id).first()
        if location.grid_id
        else None
    )
    if grid is None:
        raise ValidationFailed("The point lies in no base grid.", code="outside_grids")
    return location.lon, location.lat, grid


def _next_code(model: type[Any], prefix: str, width: int) -> str:
    latest = model.objects.filter(code__startswith=prefix).aggregate(m=Max("code"))["m"]
    sequence = int(latest[len(prefix) : len(prefix) + width]) + 1 if latest else 1
    if sequence >= 10**width:
        raise Conflict("No codes are left under this parent.", code="codes_exhausted")
    return f"{prefix}{sequence:0{width}d}"


def _conflict_if_visible(visible: bool, message: str, code: str, **details: Any) -> Conflict:
    """A duplicate: its id when the actor may read it, nothing more otherwise."""
    return Conflict(message, code=code, details=details if visible else None)


# Places ------------------------------------------------------------------------------------------


def address_create(
    *,
    actor: Actor,
    road: str,
    door_number: str,
    lon: float,
    lat: float,
    origin: Origin,
    system: str = "wgs84",
    aliases: list[str] | None = None,
) -> Address:
    road, door_number = road.strip(), door_number.strip()
    if not road or not door_number:
        raise ValidationFailed(
            "An address needs its street or lane and its door number.", code="address_parts"
        )
    wlon, wlat, grid = locate_base_grid(lon, lat, system)
    check_collect(actor, grid.path)
    nodes = GridNode.objects.defer("geometry", "properties")
    community = nodes.filter(pk=grid.parent_id or 0, level=Level.COMMUNITY).first()
    town = nodes.filter(pk=community.parent_id or 0).first() if community else None
    if community is None or town is None:
        raise ValidationFailed("The base grid has no community above it.", code="no_community")
    with transaction.atomic():
        GridNode.objects.select_for_update().filter(pk=community.pk).values_list("pk").first()
        same = Address.objects.filter(community=community, road=road, door_number=door_number).first()
        if same is not None:
            visible = scope_for(actor).covers(same.grid_path)
            raise _conflict_if_visible(
                visible, "This door number is already registered.", "duplicate_address", id=same.pk
            )
        address = Address.objects.create(
            code=_next_code(Address, community.code, 5),
            town=town,
            community=community,
            road=road,
            door_number=door_number,
            full_text=f"{town.name}{community.name}{road}{door_number}",
            aliases=[a.strip() for a in aliases or [] if a.strip()],
            lon=wlon,
            lat=wlat,
            grid=grid,
            grid_path=grid.path,
        )
        _audit(actor, "address.create", address, origin, grid.path)
    return address


def building_create(
    *,
    actor: Actor,
    address_id: int,
    name: str,
    origin: Origin,
    kind: str = "residential",
    floors: int = 1,
    use: str = "",
    is_rental: bool = False,
    owner_name: str = "",
    manager_name: str = "",
    manager_phone: str = "",
) -> Building:
    address = selectors.address_get(actor=actor, address_id=address_id)
    check_collect(actor, address.grid_path)
    _choice(kind, BuildingKind.values, "kind")
    if not name.strip() or not 1 <= floors <= 200:
        raise ValidationFailed("A building needs a name and 1 to 200 floors.", code="building_fields")
    phone = sealed_phone(manager_phone, BUILDING_PHONE_COLUMN)
    with transaction.atomic():
        Address.objects.select_for_update().filter(pk=address.pk).values_list("pk").first()
        if Building.objects.filter(address=address, name=name.strip()).exists():
            raise Conflict("This building is already registered at this address.", code="duplicate_building")
        building = Building.objects.create(
            code=_next_code(Building, address.code, 3),
            address=address,
            name=name.strip(),
            kind=kind,
            floors=floors,
            use=use.strip(),
            is_rental=is_rental,
            owner_name=owner_name.strip(),
            manager_name=manager_name.strip(),
            manager_phone_enc=phone.enc,
            manager_phone_hash=phone.hash,
            manager_phone_masked=phone.masked,
            lon=address.lon,
            lat=address.lat,
            grid_id=address.grid_id,
            grid_path=address.grid_path,
        )
        _audit(actor, "building.create", building, origin, building.grid_path)
    return building


def room_create(
    *,
    actor: Actor,
    building_id: int,
    number: str,
    origin: Origin,
    unit: str = "",
    floor: int | None = None,
    use: str = RoomUse.RESIDENTIAL,
    rental_status: str = RentalStatus.SELF_OCCUPIED,
) -> Room:
    building = selectors.building_get(actor=actor, building_id=building_id)
    check_collect(actor, building.grid_path)
    _choice(use, RoomUse.values, "use")
    _choice(rental_status, RentalStatus.values, "rental_status")
    if not number.strip():
        raise ValidationFailed("A room needs its number.", code="room_number")
    with transaction.atomic():
        Building.objects.select_for_update().filter(pk=building.pk).values_list("pk").first()
        if Room.objects.filter(building=building, unit=unit.strip(), number=number.strip()).exists():
            raise Conflict("This room is already registered in this building.", code="duplicate_room")
        room = Room.objects.create(
            code=_next_code(Room, building.code, 4),
            building=building,
            unit=unit.strip(),
            number=number.strip(),
            floor=floor,
            use=use,
            rental_status=rental_status,
            grid_path=building.grid_path,
        )
        _audit(actor, "room.create", room, origin, room.grid_path)
    return room


# Persons -----------------------------------------------------------------------------------------


@dataclass
class PersonFields:
    """The GB/T 31000 base fields a collector records; validated by `person_fields_check`."""

    name: str
    id_number: str
    phone: str = ""
    ethnicity: str = ""
    registered_address: str = ""
    residence_matches: bool = False
    employer_name: str = ""
    kind: str = PersonKind.REGISTERED
    inflow_reason: str = ""
    permit_type: str = ""
    health_status: str = ""
    employment_status: str = ""
    mobility_status: str = MobilityStatus.RESIDENT
    tags: tuple[str, ...] = ()


def person_fields_check(fields: PersonFields) -> None:
    if not fields.name.strip():
        raise ValidationFailed("A person needs a name.", code="name_required", details={"field": "name"})
    _choice(fields.kind, PersonKind.values, "kind")
    if fields.kind == PersonKind.MIGRANT:
        _choice(fields.inflow_reason or "other", InflowReason.values, "inflow_reason")
        _choice(fields.permit_type or "none", PermitType.values, "permit_type")
    elif fields.inflow_reason or fields.permit_type:
        raise ValidationFailed(
            "Inflow reason and permit type are recorded for migrants only.", code="migrant_fields_only"
        )
    _choice(fields.health_status, HealthStatus.values, "health_status")
    _choice(fields.employment_status, EmploymentStatus.values, "employment_status")
    _choice(fields.mobility_status, MobilityStatus.values, "mobility_status")
    for tag in fields.tags:
        _choice(tag, list(KEY_GROUP_TAGS), "tags")


def _fill_person(person: Person, fields: PersonFields, today: date) -> None:
    person.name = fields.name.strip()[:50]
    person.ethnicity = fields.ethnicity.strip()[:20]
    person.registered_address = fields.registered_address.strip()[:200]
    person.residence_matches = fields.residence_matches
    person.employer_name = fields.employer_name.strip()[:100]
    person.kind = fields.kind
    person.inflow_reason = fields.inflow_reason if fields.kind == PersonKind.MIGRANT else ""
    person.permit_type = fields.permit_type if fields.kind == PersonKind.MIGRANT else ""
    for status in ("health", "employment", "mobility"):
        value = getattr(fields, f"{status}_status")
        if getattr(person, f"{status}_status") != value:
            setattr(person, f"{status}_status", value)
            setattr(person, f"{status}_since", today if value else None)
    person.tags = sorted(set(fields.tags))


def _move_away(existing: Person, actor: Actor, origin: Origin, today: date) -> None:
    """Another grid registered this person: their registration here ends (nothing says where)."""
    existing.status = PersonStatus.MOVED_OUT
    existing.mobility_status = MobilityStatus.MOVED_OUT
    existing.mobility_since = today
    existing.moved_out_at = timezone.now()
    existing.save(update_fields=["status", "mobility_status", "mobility_since", "moved_out_at", "updated_at"])
    Tenancy.objects.filter(person=existing, ends_on__isnull=True).update(ends_on=today)
    _audit(actor, "person.moved_away", existing, origin, existing.grid_path)


def person_create(
    *,
    actor: Actor,
    room_id: int,
    fields: PersonFields,
    origin: Origin,
    tenancy_kind: str = TenancyKind.OWNER,
    moved_in_on: date | None = None,
) -> Person:
    """Register a person at a room of the actor's grid.

    An ID number already living in the actor's scope is a 409 naming that record. One living
    elsewhere is a move: that registration ends (its grid sees "moved out", not where to) and this
    one starts from what the actor recorded, so the answer is the same as for a new person.
    """
    room = selectors.room_get(actor=actor, room_id=room_id)
    scope = check_collect(actor, room.grid_path)
    person_fields_check(fields)
    _choice(tenancy_kind, TenancyKind.values, "tenancy_kind")
    if fields.tags and not can_see_care_fields(scope, room.grid_path):
        raise PermissionDenied("Your role does not record key-group tags.", code="registry_no_care_access")
    number, sealed = sealed_id_number(fields.id_number)
    phone = sealed_phone(fields.phone, PERSON_PHONE_COLUMN)
    today = moved_in_on or timezone.localdate()
    with transaction.atomic():
        existing = (
            Person.objects.select_for_update().filter(id_number_hash=sealed.hash, status="active").first()
        )
        if existing is not None:
            if scope.covers(existing.grid_path):
                raise Conflict(
                    "A person with this ID number already lives here.",
                    code="duplicate_person",
                    details={"id": existing.pk},
                )
            _move_away(existing, actor, origin, today)
        born = id_birth_date(number)
        person = Person(
            id_number_enc=sealed.enc,
            id_number_hash=sealed.hash,
            id_number_masked=sealed.masked,
            sex=id_sex(number),
            birth_date=born,
            birth_year=born.year if born else None,
            registered_region=number[:6],
            phone_enc=phone.enc,
            phone_hash=phone.hash,
            phone_masked=phone.masked,
            room=room,
            grid_id=room.building.grid_id,
            grid_path=room.grid_path,
            created_by=actor if isinstance(actor, User) else None,
        )
        _fill_person(person, fields, today)
        person.save()
        Tenancy.objects.create(
            person=person, room=room, kind=tenancy_kind, starts_on=today, grid_path=room.grid_path
        )
        Employment.objects.filter(person__isnull=True, person_id_hash=sealed.hash).update(person=person)
        _audit(actor, "person.create", person, origin, person.grid_path)
    return person


def person_update(*, actor: Actor, person_id: int, changes: dict[str, Any], origin: Origin) -> Person:
    """Change a living person's recorded fields (not the ID number: that is a new registration)."""
    person = selectors.person_get(actor=actor, person_id=person_id)
    scope = check_collect_visible(actor, person.grid_path)
    if person.status != PersonStatus.ACTIVE:
        raise Conflict("Only a person living here can be changed.", code="person_not_active")
    care = {"health_status", "tags"} & set(changes)
    if care and not can_see_care_fields(scope, person.grid_path):
        raise PermissionDenied(
            "Your role does not record health or key-group tags.", code="registry_no_care_access"
        )
    fields = PersonFields(
        name=person.name,
        id_number="",
        ethnicity=person.ethnicity,
        registered_address=person.registered_address,
        residence_matches=person.residence_matches,
        employer_name=person.employer_name,
        kind=person.kind,
        inflow_reason=person.inflow_reason,
        permit_type=person.permit_type,
        health_status=person.health_status,
        employment_status=person.employment_status,
        mobility_status=person.mobility_status,
        tags=tuple(person.tags),
    )
    unknown = set(changes) - set(PersonFields.__dataclass_fields__) - {"phone"} | (
        {"id_number"} & set(changes)
    )
    if unknown:
        raise ValidationFailed(
            f"These fields cannot be changed: {', '.join(sorted(unknown))}.", code="bad_fields"
        )
    for key, value in changes.items():
        if key != "phone":
            setattr(fields, key, tuple(value) if key == "tags" else value)
    person_fields_check(fields)
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        _fill_person(locked, fields, timezone.localdate())
        if "phone" in changes:
            phone = sealed_phone(str(changes["phone"] or ""), PERSON_PHONE_COLUMN)
            locked.phone_enc, locked.phone_hash, locked.phone_masked = phone.enc, phone.hash, phone.masked
        locked.save()
        _audit(actor, "person.update", locked, origin, locked.grid_path, fields=sorted(changes))
    return selectors.person_get(actor=actor, person_id=person.pk)


def person_move(
    *,
    actor: Actor,
    person_id: int,
    origin: Origin,
    room_id: int | None = None,
    tenancy_kind: str = TenancyKind.OWNER,
    on: date | None = None,
) -> Person:
    """Move a person to another room of the actor's scope, or out (`room_id` None)."""
    person = selectors.person_get(actor=actor, person_id=person_id)
    check_collect_visible(actor, person.grid_path)
    if person.status != PersonStatus.ACTIVE:
        raise Conflict("Only a person living here can move.", code="person_not_active")
    room = None
    if room_id is not None:
        room = selectors.room_get(actor=actor, room_id=room_id)
        check_collect(actor, room.grid_path)
        _choice(tenancy_kind, TenancyKind.values, "tenancy_kind")
    day = on or timezone.localdate()
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        Tenancy.objects.filter(person=locked, ends_on__isnull=True).update(ends_on=day)
        if room is None:
            locked.status = PersonStatus.MOVED_OUT
            locked.mobility_status, locked.mobility_since = MobilityStatus.MOVED_OUT, day
            locked.moved_out_at = timezone.now()
        else:
            Tenancy.objects.create(
                person=locked, room=room, kind=tenancy_kind, starts_on=day, grid_path=room.grid_path
            )
            locked.room, locked.grid_path = room, room.grid_path
            locked.grid_id = room.building.grid_id
            locked.mobility_status, locked.mobility_since = MobilityStatus.RESIDENT, day
        locked.save()
        _audit(actor, "person.move", locked, origin, locked.grid_path, room=room.code if room else None)
    return locked


def person_read_recorded(*, actor: User, person: Person, origin: Origin) -> None:
    """Every read of one person's record (masked as it is) leaves an audit row."""
    audit_read(
        actor=actor,
        origin=origin,
        object_type="registry.person",
        object_ids=[person.pk],
        action="registry.person.read",
    )


def person_reveal(*, actor: Actor, person_id: int, reason: str, origin: Origin) -> dict[str, str]:
    """The whole ID and phone numbers of one person, for a collector of their grid; audited."""
    person = selectors.person_get(actor=actor, person_id=person_id)
    if not can_reveal(scope_for(actor), person.grid_path):
        raise PermissionDenied(
            "Only grid workers and community dispatchers of the residence see whole numbers.",
            code="registry_no_reveal",
        )
    if len(reason.strip()) < 2:
        raise ValidationFailed("Say why you need the whole numbers.", code="reason_required")
    with transaction.atomic():
        _audit(
            actor,
            "person.reveal",
            person,
            origin,
            person.grid_path,
            fields=["id_number", "phone"],
            reason=reason.strip()[:200],
        )
    return {
        "id_number": crypto.decrypt(person.id_number_enc, ID_NUMBER_COLUMN),
        "phone": crypto.decrypt(person.phone_enc, PERSON_PHONE_COLUMN),
    }


def person_anonymise(*, actor: Actor, person_id: int, reason: str, origin: Origin) -> Person:
    """Delete a person's personal data; a tombstone keeps what statistics need (sex, birth year,
    kind, region of registration, grid, statuses) and the residence history."""
    person = selectors.person_get(actor=actor, person_id=person_id)
    check_erase(actor, person.grid_path)
    if person.status == PersonStatus.ANONYMISED:
        raise Conflict("This record is already deleted.", code="already_anonymised")
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        for name in (
            "id_number_enc",
            "id_number_hash",
            "id_number_masked",
            "name",
            "registered_address",
            "phone_enc",
            "phone_hash",
            "phone_masked",
            "employer_name",
        ):
            setattr(locked, name, "")
        locked.birth_date = None
        locked.tags = []
        locked.health_status, locked.health_since = "", None
        locked.status = PersonStatus.ANONYMISED
        locked.anonymised_at = timezone.now()
        locked.save()
        Employment.objects.filter(person=locked).update(person_id_hash="")
        _audit(actor, "person.anonymise", locked, origin, locked.grid_path, reason=reason.strip()[:200])
    return locked


# Units, employment, facilities -------------------------------------------------------------------


def _enterprise_grid(grid_id: int | None, overlay_ids: tuple[int, ...]) -> GridNode | None:
    query = GridNode.objects.defer("geometry", "properties").filter(
        layer=Layer.ENTERPRISE, valid_to__isnull=True
    )
    if grid_id is not None:
        node = query.filter(pk=grid_id).first()
        if node is None:
            raise ValidationFailed("No such enterprise grid.", code="bad_enterprise_grid")
        return node
    return query.filter(pk__in=overlay_ids).order_by("code").first()


def unit_create(
    *,
    actor: Actor,
    name: str,
    lon: float,
    lat: float,
    origin: Origin,
    system: str = "wgs84",
    kind: str = UnitKind.ENTERPRISE,
    credit_code: str = "",
    industry: str = "",
    address_id: int | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    headcount: int = 0,
    risk_level: str = "low",
    enterprise_grid_id: int | None = None,
) -> Unit:
    if not name.strip():
        raise ValidationFailed("A unit needs its name.", code="name_required")
    _choice(kind, UnitKind.values, "kind")
    _choice(risk_level, RiskLevel.values, "risk_level")
    code = None
    if credit_code.strip():
        try:
            code = check_credit_code(credit_code)
        except CodeError as exc:
            raise _invalid(exc, "credit_code") from exc
    location = locating.locate(lon, lat, system)
    wlon, wlat, grid = locate_base_grid(lon, lat, system)
    check_collect(actor, grid.path)
    address = selectors.address_get(actor=actor, address_id=address_id) if address_id is not None else None
    enterprise = _enterprise_grid(enterprise_grid_id, location.overlay_ids)
    phone = sealed_phone(contact_phone, UNIT_PHONE_COLUMN)
    with transaction.atomic():
        if code is not None:
            same = Unit.objects.filter(credit_code=code).first()
            if same is not None:
                visible = selectors.unit_list(actor=actor).filter(pk=same.pk).exists()
                raise _conflict_if_visible(
                    visible, "A unit with this credit code is registered.", "duplicate_unit", id=same.pk
                )
        unit = Unit.objects.create(
            name=name.strip(),
            kind=kind,
            credit_code=code,
            industry=industry.strip(),
            address=address,
            contact_name=contact_name.strip(),
            contact_phone_enc=phone.enc,
            contact_phone_hash=phone.hash,
            contact_phone_masked=phone.masked,
            headcount=max(headcount, 0),
            risk_level=risk_level,
            enterprise_grid=enterprise,
            enterprise_grid_path=enterprise.path if enterprise else "",
            lon=wlon,
            lat=wlat,
            grid=grid,
            grid_path=grid.path,
        )
        _audit(actor, "unit.create", unit, origin, grid.path)
    return unit


def _check_unit_collector(actor: Actor, unit: Unit) -> None:
    scope = scope_for(actor)
    paths = [p for p in (unit.grid_path, unit.enterprise_grid_path) if p]
    if not any(scope.covers(p, COLLECTORS) for p in paths):
        check_collect(actor, unit.grid_path)


@dataclass(frozen=True)
class EmploymentResult:
    employment: Employment
    created: bool


def employment_create(
    *,
    actor: Actor,
    unit_id: int,
    origin: Origin,
    person_id: int | None = None,
    id_number: str = "",
    position: str = "",
    starts_on: date | None = None,
) -> EmploymentResult:
    """Link a person to a unit, by a person the actor reads or by ID number.

    By ID number the link is made to whoever lives under that number anywhere (or, when nobody does
    yet, to whoever registers under it later); the answer is the same either way.
    """
    unit = selectors.unit_get(actor=actor, unit_id=unit_id)
    _check_unit_collector(actor, unit)
    if (person_id is None) == (not id_number):
        raise ValidationFailed("Give either a person or an ID number.", code="person_or_id_number")
    if person_id is not None:
        person: Person | None = selectors.person_get(actor=actor, person_id=person_id)
        assert person is not None
        id_hash = person.id_number_hash
    else:
        _, sealed = sealed_id_number(id_number)
        id_hash = sealed.hash
        person = Person.objects.filter(id_number_hash=id_hash, status=PersonStatus.ACTIVE).first()
    with transaction.atomic():
        Unit.objects.select_for_update().filter(pk=unit.pk).values_list("pk").first()
        same = Employment.objects.filter(unit=unit, person_id_hash=id_hash, ends_on__isnull=True).first()
        if same is not None:
            if person is not None and same.person_id != person.pk:
                # The person registered anew (moved): the link follows them.
                same.person = person
                same.save(update_fields=["person", "updated_at"])
            return EmploymentResult(same, created=False)
        employment = Employment.objects.create(
            person=person,
            person_id_hash=id_hash,
            unit=unit,
            position=position.strip()[:100],
            starts_on=starts_on or timezone.localdate(),
        )
        _audit(actor, "employment.create", employment, origin, unit.grid_path, unit=unit.pk)
    return EmploymentResult(employment, created=True)


def employment_end(
    *, actor: Actor, employment_id: int, origin: Origin, ends_on: date | None = None
) -> Employment:
    employment = selectors.employment_get(actor=actor, employment_id=employment_id)
    _check_unit_collector(actor, employment.unit)
    if employment.ends_on is not None:
        raise Conflict("This employment has already ended.", code="employment_ended")
    with transaction.atomic():
        employment.ends_on = ends_on or timezone.localdate()
        employment.save(update_fields=["ends_on", "updated_at"])
        _audit(actor, "employment.end", employment, origin, employment.unit.grid_path)
    return employment


def facility_create(
    *,
    actor: Actor,
    code: str,
    name: str,
    lon: float,
    lat: float,
    origin: Origin,
    system: str = "wgs84",
    owner_department_id: int | None = None,
    owner_name: str = "",
    maintainer_department_id: int | None = None,
    maintainer_name: str = "",
    status: str = FacilityStatus.INTACT,
    address_text: str = "",
) -> Facility:
    try:
        code = check_component_code(code)
    except CodeError as exc:
        raise _invalid(exc, "code") from exc
    _choice(status, FacilityStatus.values, "status")
    if not name.strip():
        raise ValidationFailed("A facility needs its name.", code="name_required")
    wlon, wlat, grid = locate_base_grid(lon, lat, system)
    check_collect(actor, grid.path)
    if code[:6] != grid.code[:6]:
        raise ValidationFailed(
            f"The code's area {code[:6]} is not the area of the grid it lies in ({grid.code[:6]}).",
            code="component_area",
        )
    departments = {
        d.pk: d for d in Department.objects.filter(pk__in=[owner_department_id, maintainer_department_id])
    }
    for field, dept_id in (
        ("owner_department_id", owner_department_id),
        ("maintainer_department_id", maintainer_department_id),
    ):
        if dept_id is not None and dept_id not in departments:
            raise ValidationFailed("No such department.", code="bad_department", details={"field": field})
    try:
        with transaction.atomic():
            facility = Facility.objects.create(
                code=code,
                name=name.strip(),
                major_code=code[6:8],
                minor_code=code[8:10],
                owner_department_id=owner_department_id,
                owner_name=owner_name.strip()
                or (departments[owner_department_id].name if owner_department_id else ""),
                maintainer_department_id=maintainer_department_id,
                maintainer_name=maintainer_name.strip()
                or (departments[maintainer_department_id].name if maintainer_department_id else ""),
                status=status,
                address_text=address_text.strip(),
                lon=wlon,
                lat=wlat,
                grid=grid,
                grid_path=grid.path,
            )
            _audit(actor, "facility.create", facility, origin, grid.path)
    except IntegrityError as exc:
        raise Conflict("A facility with this code is registered.", code="duplicate_facility") from exc
    return facility
