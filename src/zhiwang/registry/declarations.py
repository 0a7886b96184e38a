"""Residents' self-service: declarations (居住登记, 自主申报) and the room-code lookup (房屋编码查询).

A resident without an account declares that someone lives in a room (a migrant themselves, a tenant
themselves, or a landlord their tenant). The declaration waits for a grid worker (or community
dispatcher) of the room's grid, who approves it (the person is registered, or moved into the room,
through `services.person_create` / `services.person_move`) or rejects it with a reason the declarant
reads. The declarant follows it with the declaration's code and their phone.

Nothing here tells a resident about anyone else: the lookup answers a room's code only for an
address typed to match it exactly, and the same "not found" for a wrong address as for an unknown one.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Concat
from django.utils import timezone

from zhiwang.accounts.models import User
from zhiwang.accounts.permissions import scope_for
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.notifications.services import notify_phones
from zhiwang.registry import crypto, selectors, services
from zhiwang.registry.models import (
    DECLARATION_ID_NUMBER_COLUMN,
    DECLARATION_PERSON_PHONE_COLUMN,
    DECLARATION_PHONE_COLUMN,
    ID_NUMBER_COLUMN,
    Address,
    Declaration,
    DeclarationKind,
    DeclarationStatus,
    InflowReason,
    PermitType,
    Person,
    PersonKind,
    PersonStatus,
    RentalStatus,
    Room,
    TenancyKind,
)
from zhiwang.registry.permissions import REVIEWERS, Actor
from zhiwang.registry.validation import CodeError, check_id_number, mask_id_number, normalise_phone

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 10
DECLARANT_LABEL = "居民（申报人）"  # how the audit names a declarant (they have no account)
# Suffixes a resident may or may not type after a building, unit or room number.
_SUFFIXES = ("单元", "栋", "幢", "座", "号楼", "楼", "室", "房", "号")


@dataclass(frozen=True)
class DeclarationFields:
    """What a declarant gives. For a migrant's or a tenant's own declaration the person is the
    declarant; for a landlord's, the person is the tenant."""

    kind: str
    room_code: str
    declarant_name: str
    declarant_phone: str
    person_name: str
    id_number: str
    person_phone: str = ""
    person_kind: str = PersonKind.MIGRANT
    inflow_reason: str = ""
    employer_name: str = ""
    moved_in_on: date | None = None


@dataclass(frozen=True)
class Submitted:
    declaration: Declaration
    created: bool  # False when the idempotency key had already created it


@dataclass(frozen=True)
class RoomCode:
    code: str
    address: str  # the registered address of the room, which the resident's words matched


def _invalid(message: str, code: str, field: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={"field": field})


def _audit(actor: Actor, action: str, declaration: Declaration, origin: Origin, **details: object) -> None:
    audit_record(
        actor=actor,
        action=f"registry.declaration.{action}",
        origin=origin,
        obj=declaration,
        scope_path=declaration.grid_path,
        details=details,
        actor_label="" if isinstance(actor, User) else DECLARANT_LABEL,
    )


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(value: str) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


# --- submit -------------------------------------------------------------------------------------


def _check_fields(fields: DeclarationFields) -> None:
    if fields.kind not in DeclarationKind.values:
        raise _invalid("Unknown kind of declaration.", "bad_choice", "kind")
    for field in ("declarant_name", "person_name"):
        if not getattr(fields, field).strip():
            raise _invalid("A name is needed.", "name_required", field)
    if fields.person_kind not in PersonKind.values:
        raise _invalid("Unknown kind of resident.", "bad_choice", "person_kind")
    if fields.inflow_reason and fields.inflow_reason not in InflowReason.values:
        raise _invalid("Unknown reason for coming here.", "bad_choice", "inflow_reason")
    if fields.moved_in_on is not None and not date(1900, 1, 1) <= fields.moved_in_on <= timezone.localdate():
        raise _invalid("The day of moving in lies in the past.", "bad_date", "moved_in_on")


def _sealed_phone(value: str, column: str, field: str) -> services.Sealed:
    try:
        normalise_phone(value)
    except CodeError as exc:
        raise _invalid(str(exc), exc.code, field) from exc
    return services.sealed_phone(value, column)


def _sealed_id_number(value: str) -> services.Sealed:
    try:
        number = check_id_number(value)
    except CodeError as exc:
        raise _invalid(str(exc), exc.code, "id_number") from exc
    return services.Sealed(
        crypto.encrypt(number, DECLARATION_ID_NUMBER_COLUMN),
        crypto.lookup_hash(number, DECLARATION_ID_NUMBER_COLUMN),
        mask_id_number(number),
    )


def declaration_submit(*, fields: DeclarationFields, idempotency_key: str, origin: Origin) -> Submitted:
    """Record a resident's declaration, pending review. A repeated idempotency key returns the
    declaration the first submission created (the caller checks it was the same declarant)."""
    same = Declaration.objects.filter(idempotency_key=idempotency_key).first()
    if same is not None:
        return Submitted(same, created=False)
    _check_fields(fields)
    room = Room.objects.select_related("building").filter(code=normal_code(fields.room_code)).first()
    if room is None:
        raise _invalid("No room has this code.", "unknown_room", "room_code")
    declarant_phone = _sealed_phone(fields.declarant_phone, DECLARATION_PHONE_COLUMN, "declarant_phone")
    person_phone = services.Sealed("", "", "")
    if fields.kind == DeclarationKind.LANDLORD and fields.person_phone.strip():
        person_phone = _sealed_phone(fields.person_phone, DECLARATION_PERSON_PHONE_COLUMN, "person_phone")
    id_number = _sealed_id_number(fields.id_number)
    with transaction.atomic():
        declaration = Declaration.objects.create(
            code=_new_code(),
            idempotency_key=idempotency_key,
            kind=fields.kind,
            room=room,
            grid_id=room.building.grid_id,
            grid_path=room.grid_path,
            declarant_name=fields.declarant_name.strip()[:50],
            declarant_phone_enc=declarant_phone.enc,
            declarant_phone_hash=declarant_phone.hash,
            declarant_phone_masked=declarant_phone.masked,
            person_name=fields.person_name.strip()[:50],
            id_number_enc=id_number.enc,
            id_number_hash=id_number.hash,
            id_number_masked=id_number.masked,
            person_phone_enc=person_phone.enc,
            person_phone_hash=person_phone.hash,
            person_phone_masked=person_phone.masked,
            person_kind=PersonKind.MIGRANT
            if fields.kind == DeclarationKind.RESIDENCE
            else fields.person_kind,
            inflow_reason=fields.inflow_reason,
            employer_name=fields.employer_name.strip()[:100],
            moved_in_on=fields.moved_in_on,
        )
        _audit(None, "submit", declaration, origin, kind=declaration.kind, room=room.code)
    return Submitted(declaration, created=True)


def declarant_matches(declaration: Declaration, phone: str) -> bool:
    """`phone` is the declarant's whole phone number or its last 4 digits."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if len(digits) == 4:
        return secrets.compare_digest(declaration.declarant_phone_masked[-4:], digits)
    try:
        whole = normalise_phone(phone)
    except CodeError:
        return False
    given = crypto.lookup_hash(whole, DECLARATION_PHONE_COLUMN)
    return secrets.compare_digest(declaration.declarant_phone_hash, given)


def declaration_tracked(*, code: str, phone: str) -> Declaration:
    """The declaration with this code made by the holder of this phone; an unknown code and a wrong
    phone get the same NotFound."""
    wanted = normal_code(code)
    declaration = (
        Declaration.objects.select_related("room__building__address").filter(code=wanted).first()
        if wanted
        else None
    )
    if declaration is None or not declarant_matches(declaration, phone):
        raise NotFound("No such declaration.")
    return declaration


# --- review -------------------------------------------------------------------------------------


def _check_review(actor: Actor, declaration: Declaration) -> None:
    if not scope_for(actor).covers(declaration.grid_path, REVIEWERS):
        raise PermissionDenied(
            "Only grid workers and community dispatchers of this grid review it.",
            code="registry_not_reviewer",
        )


def _locked_pending(declaration_id: int) -> Declaration:
    locked = Declaration.objects.select_for_update().get(pk=declaration_id)
    if locked.status != DeclarationStatus.PENDING:
        raise Conflict("This declaration has already been decided.", code="declaration_decided")
    return locked


def _tell_declarant(declaration: Declaration, body: str) -> None:
    """A text message to the phone the declarant gave, in the decision's transaction (the outbox)."""
    if not declaration.declarant_phone_enc:
        return
    notify_phones(
        phones=[crypto.decrypt(declaration.declarant_phone_enc, DECLARATION_PHONE_COLUMN)],
        subject="申报审核结果",
        body=body,
        object_type="registry.declaration",
        object_id=str(declaration.pk),
    )


def _forget_numbers(declaration: Declaration) -> None:
    """A decided declaration keeps only the masked numbers (the declarant's phone stays: it is how
    they follow the outcome)."""
    declaration.id_number_enc = declaration.id_number_hash = ""
    declaration.person_phone_enc = declaration.person_phone_hash = ""


def _person_fields(declaration: Declaration) -> services.PersonFields:
    migrant = declaration.person_kind == PersonKind.MIGRANT
    own = declaration.kind != DeclarationKind.LANDLORD
    phone_column = DECLARATION_PHONE_COLUMN if own else DECLARATION_PERSON_PHONE_COLUMN
    return services.PersonFields(
        name=declaration.person_name,
        id_number=crypto.decrypt(declaration.id_number_enc, DECLARATION_ID_NUMBER_COLUMN),
        phone=crypto.decrypt(
            declaration.declarant_phone_enc if own else declaration.person_phone_enc, phone_column
        ),
        employer_name=declaration.employer_name,
        kind=declaration.person_kind,
        inflow_reason=(declaration.inflow_reason or InflowReason.OTHER) if migrant else "",
        permit_type=PermitType.REGISTRATION if migrant else "",
    )


def _register(actor: Actor, declaration: Declaration, origin: Origin) -> Person:
    """The person the declaration names, living in its room: registered, or moved there."""
    fields = _person_fields(declaration)
    number = check_id_number(fields.id_number)
    here = (
        selectors.person_list(actor=actor)
        .filter(id_number_hash=crypto.lookup_hash(number, ID_NUMBER_COLUMN), status=PersonStatus.ACTIVE)
        .first()
    )
    if here is None:
        return services.person_create(
            actor=actor,
            room_id=declaration.room_id,
            fields=fields,
            origin=origin,
            tenancy_kind=TenancyKind.TENANT,
            moved_in_on=declaration.moved_in_on,
        )
    if here.room_id == declaration.room_id:
        return here
    return services.person_move(
        actor=actor,
        person_id=here.pk,
        room_id=declaration.room_id,
        tenancy_kind=TenancyKind.TENANT,
        on=declaration.moved_in_on,
        origin=origin,
    )


def _mark_rented(actor: Actor, room: Room, origin: Origin) -> None:
    if room.rental_status == RentalStatus.RENTED:
        return
    Room.objects.filter(pk=room.pk).update(rental_status=RentalStatus.RENTED, updated_at=timezone.now())
    audit_record(
        actor=actor,
        action="registry.room.rented",
        origin=origin,
        obj=room,
        scope_path=room.grid_path,
        details={"was": room.rental_status},
    )


def declaration_approve(*, actor: Actor, declaration_id: int, origin: Origin) -> Declaration:
    """Register what the declaration says, through the registry's services, and mark it approved."""
    declaration = selectors.declaration_get(actor=actor, declaration_id=declaration_id)
    _check_review(actor, declaration)
    with transaction.atomic():
        locked = _locked_pending(declaration.pk)
        person = _register(actor, locked, origin)
        if locked.kind == DeclarationKind.LANDLORD:
            _mark_rented(actor, locked.room, origin)
        locked.status = DeclarationStatus.APPROVED
        locked.reviewed_by = actor if isinstance(actor, User) else None
        locked.reviewed_at = timezone.now()
        locked.person = person
        _forget_numbers(locked)
        locked.save()
        _audit(actor, "approve", locked, origin, person=person.pk)
        _tell_declarant(locked, f"您的申报（编号 {locked.code}）已审核通过，登记信息已录入。")
    return selectors.declaration_get(actor=actor, declaration_id=declaration.pk)


def declaration_reject(*, actor: Actor, declaration_id: int, reason: str, origin: Origin) -> Declaration:
    """Refuse the declaration; the declarant reads `reason`."""
    declaration = selectors.declaration_get(actor=actor, declaration_id=declaration_id)
    _check_review(actor, declaration)
    reason = reason.strip()
    if len(reason) < 2:
        raise _invalid("Say why the declaration is rejected.", "reason_required", "reason")
    with transaction.atomic():
        locked = _locked_pending(declaration.pk)
        locked.status = DeclarationStatus.REJECTED
        locked.reject_reason = reason[:300]
        locked.reviewed_by = actor if isinstance(actor, User) else None
        locked.reviewed_at = timezone.now()
        _forget_numbers(locked)
        locked.save()
        _audit(actor, "reject", locked, origin, reason=locked.reject_reason)
        _tell_declarant(
            locked, f"您的申报（编号 {locked.code}）未通过审核：{locked.reject_reason}。可修改后重新申报。"
        )
    return selectors.declaration_get(actor=actor, declaration_id=declaration.pk)


# --- the room-code lookup -------------------------------------------------------------------------


def room_address(room: Room) -> str:
    """The registered address of a room, as a door plate reads: 东城大道1号1栋1单元301."""
    unit = f"{room.unit}单元" if room.unit and not room.unit.endswith("单元") else room.unit
    return f"{room.building.address.full_text}{room.building.name}{unit}{room.number}"


def _plain(value: str) -> str:
    """Full-width forms folded, spaces dropped."""
    return "".join(unicodedata.normalize("NFKC", value or "").split())


def _bare(value: str) -> str:
    """A building, unit or room number without the suffix people add or leave out (3栋 = 3)."""
    plain = _plain(value)
    for suffix in _SUFFIXES:
        if plain.endswith(suffix) and len(plain) > len(suffix):
            return plain[: -len(suffix)]
    return plain


def _matching_rooms(address: str, building: str, unit: str, number: str) -> list[Room]:
    typed = _plain(address)
    if not typed or not _bare(number):
        return []
    addresses = Address.objects.annotate(door=Concat("road", "door_number")).filter(
        Q(full_text=typed) | Q(door=typed)
    )
    rooms = Room.objects.filter(building__address__in=addresses.values("pk")).select_related(
        "building__address"
    )
    return [
        room
        for room in rooms
        if _bare(room.building.name) == _bare(building)
        and _bare(room.unit) == _bare(unit)
        and _bare(room.number) == _bare(number)
    ]


def room_code_lookup(*, address: str, building: str, unit: str, number: str, origin: Origin) -> RoomCode:
    """The code of the one room at exactly this address; NotFound for anything else (an unknown
    address, a wrong building or room, or words matching more than one room). Audited."""
    found = _matching_rooms(address, building, unit, number)
    room = found[0] if len(found) == 1 else None
    audit_record(
        actor=None,
        action="registry.room.code_lookup",
        origin=origin,
        obj=room,
        object_type="registry.room",
        scope_path=room.grid_path if room else "",
        details={"found": room is not None},
        actor_label=DECLARANT_LABEL,
    )
    if room is None:
        raise NotFound("No room matches this address.")
    return RoomCode(code=room.code, address=room_address(room))
