"""Residents' declarations: submitted without an account, reviewed by the grid worker of the room's
grid, approved into the registry through its services or rejected with a reason."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.test import Client

from tests.registry.conftest import Registry
from tests.registry.declarants import declared_id_number
from tests.registry.world import ORIGIN
from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.common.errors import NotFound, ValidationFailed
from zhiwang.notifications.models import OutboxMessage
from zhiwang.registry import crypto, declarations, services
from zhiwang.registry.declarations import DeclarationFields
from zhiwang.registry.models import (
    DECLARATION_ID_NUMBER_COLUMN,
    DECLARATION_PHONE_COLUMN,
    ID_NUMBER_COLUMN,
    Declaration,
    DeclarationKind,
    Person,
    PersonKind,
    PersonStatus,
    RentalStatus,
    Room,
    Tenancy,
)

R = "/api/v1/registry/declarations"
DECLARANT_PHONE = "13912340001"
TENANT_PHONE = "13712340002"
KEYS = itertools.count(1)
KINDS = [DeclarationKind.RESIDENCE, DeclarationKind.LANDLORD, DeclarationKind.TENANT]


def second_room(reg: Registry, inside: bool = True) -> Room:
    side = reg.inside if inside else reg.outside
    return services.room_create(
        actor=reg.superuser, building_id=side.building.pk, unit="1", number="302", origin=ORIGIN
    )


def declare(room: Room, kind: str = DeclarationKind.RESIDENCE, number: str = "", **extra: Any) -> Declaration:
    landlord = kind == DeclarationKind.LANDLORD
    fields = DeclarationFields(
        kind=kind,
        room_code=room.code,
        declarant_name="房东甲" if landlord else "申报人",
        declarant_phone=DECLARANT_PHONE,
        person_name="租客乙" if landlord else "申报人",
        id_number=number or declared_id_number(),
        person_phone=TENANT_PHONE if landlord else "",
        inflow_reason="work",
        moved_in_on=date(2026, 3, 1),
        **extra,
    )
    key = f"test-{next(KEYS)}"
    return declarations.declaration_submit(fields=fields, idempotency_key=key, origin=ORIGIN).declaration


def actions(declaration: Declaration) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_type="registry.declaration", object_id=str(declaration.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


@pytest.mark.parametrize("kind", KINDS)
def test_an_approved_declaration_registers_the_person_through_the_services(
    kind: str, reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    room = second_room(reg)
    number = declared_id_number()
    declaration = declare(room, kind, number)
    response = api_client(reg.worker).post(f"{R}/{declaration.pk}/approve")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved" and body["reviewed_by"] == "worker-a"
    person = Person.objects.get(
        id_number_hash=crypto.lookup_hash(number, ID_NUMBER_COLUMN), status=PersonStatus.ACTIVE
    )
    assert body["person_id"] == person.pk
    assert person.room_id == room.pk and person.grid_path == room.grid_path
    assert person.name == ("租客乙" if kind == DeclarationKind.LANDLORD else "申报人")
    phone = TENANT_PHONE if kind == DeclarationKind.LANDLORD else DECLARANT_PHONE
    assert person.phone_hash == services.sealed_phone(phone, "person.phone").hash
    assert Tenancy.objects.get(person=person).kind == "tenant"
    if kind == DeclarationKind.RESIDENCE:
        assert (person.kind, person.permit_type, person.inflow_reason) == ("migrant", "registration", "work")
    room.refresh_from_db()
    expected_rental = RentalStatus.RENTED if kind == DeclarationKind.LANDLORD else RentalStatus.SELF_OCCUPIED
    assert room.rental_status == expected_rental
    assert actions(declaration) == ["registry.declaration.submit", "registry.declaration.approve"]
    person_audit = AuditEntry.objects.filter(action="registry.person.create", object_id=str(person.pk))
    assert person_audit.get().actor == reg.worker
    # Decided: only the masked numbers stay on the declaration.
    declaration.refresh_from_db()
    assert declaration.id_number_enc == declaration.id_number_hash == declaration.person_phone_enc == ""
    assert declaration.id_number_masked == number[:4] + "**********" + number[-4:]


@pytest.mark.parametrize("kind", KINDS)
def test_a_rejected_declaration_changes_nothing_and_tells_the_reason(
    kind: str, reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    room = second_room(reg)
    declaration = declare(room, kind)
    client = api_client(reg.worker)
    persons = Person.objects.count()
    empty = client.post(f"{R}/{declaration.pk}/reject", json.dumps({"reason": " "}), "application/json")
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "reason_required"
    declaration.refresh_from_db()
    assert declaration.status == "pending" and declaration.id_number_enc
    response = client.post(
        f"{R}/{declaration.pk}/reject", json.dumps({"reason": "房屋编码与实际住址不符"}), "application/json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    tracked = declarations.declaration_tracked(code=declaration.code, phone=DECLARANT_PHONE)
    assert tracked.reject_reason == "房屋编码与实际住址不符"
    assert Person.objects.count() == persons
    room.refresh_from_db()
    assert room.rental_status == RentalStatus.SELF_OCCUPIED
    assert tracked.id_number_enc == tracked.id_number_hash == ""
    again = client.post(f"{R}/{declaration.pk}/approve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "declaration_decided"
    assert actions(declaration) == ["registry.declaration.submit", "registry.declaration.reject"]


@pytest.mark.parametrize("approve", [True, False])
def test_the_declarant_hears_the_decision_by_text_message(
    approve: bool, reg: Registry, api_client: Callable[[User | None], Client], settings: Any
) -> None:
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,sms"
    settings.ZHIWANG_SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    declaration = declare(second_room(reg))
    client = api_client(reg.worker)
    if approve:
        response = client.post(f"{R}/{declaration.pk}/approve")
    else:
        response = client.post(
            f"{R}/{declaration.pk}/reject", json.dumps({"reason": "门牌号不符"}), "application/json"
        )
    assert response.status_code == 200, response.content
    text = OutboxMessage.objects.get(channel="sms", object_id=str(declaration.pk))
    assert text.address == DECLARANT_PHONE and text.recipient is None
    assert text.subject == "申报审核结果" and declaration.code in text.body
    assert ("审核通过" in text.body) is approve
    assert ("门牌号不符" in text.body) is not approve


def test_a_worker_of_another_grid_never_sees_nor_decides_the_declaration(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    declaration = declare(second_room(reg))
    theirs = declare(second_room(reg, inside=False))
    b = api_client(reg.other_worker)
    queue = b.get(R).json()
    assert [d["id"] for d in queue["items"]] == [theirs.pk]
    missing = b.get(f"{R}/999999")
    assert missing.status_code == 404
    assert b.get(f"{R}/{declaration.pk}").json() == missing.json()
    assert b.post(f"{R}/{declaration.pk}/approve").json() == missing.json()
    rejected = b.post(f"{R}/{declaration.pk}/reject", json.dumps({"reason": "不是"}), "application/json")
    assert rejected.status_code == 404
    declaration.refresh_from_db()
    assert declaration.status == "pending"
    # The community dispatcher of grid A reviews it; a town commander has no queue.
    assert [d["id"] for d in api_client(reg.dispatcher).get(R).json()["items"]] == [declaration.pk]
    town = api_client(reg.town).get(R)
    assert town.status_code == 403 and town.json()["error"]["code"] == "registry_not_reviewer"


def test_a_resident_already_living_in_the_scope_moves_into_the_declared_room(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    room = second_room(reg)
    client = api_client(reg.worker)
    moved = declare(room, DeclarationKind.TENANT, reg.inside.id_number)
    assert client.post(f"{R}/{moved.pk}/approve").json()["person_id"] == reg.inside.person.pk
    person = Person.objects.get(pk=reg.inside.person.pk)
    assert person.room_id == room.pk and person.status == PersonStatus.ACTIVE
    assert Person.objects.filter(id_number_hash=person.id_number_hash).count() == 1
    same = declare(room, DeclarationKind.TENANT, reg.inside.id_number)
    assert client.post(f"{R}/{same.pk}/approve").json()["person_id"] == person.pk


def test_numbers_are_sealed_as_a_persons_are(reg: Registry) -> None:
    number = declared_id_number()
    declaration = declare(second_room(reg), DeclarationKind.LANDLORD, number)
    row = Declaration.objects.filter(pk=declaration.pk).values().get()
    assert not any(
        number in str(v) or DECLARANT_PHONE in str(v) or TENANT_PHONE in str(v) for v in row.values()
    )
    assert crypto.decrypt(declaration.id_number_enc, DECLARATION_ID_NUMBER_COLUMN) == number
    assert crypto.decrypt(declaration.declarant_phone_enc, DECLARATION_PHONE_COLUMN) == DECLARANT_PHONE
    with pytest.raises(crypto.DecryptionError):  # bound to its column
        crypto.decrypt(declaration.id_number_enc, ID_NUMBER_COLUMN)
    assert (declaration.declarant_phone_masked, declaration.person_phone_masked) == (
        "139****0001",
        "137****0002",
    )


def test_bad_declarations_are_refused_with_the_field_named(reg: Registry) -> None:
    room = second_room(reg)
    fields = DeclarationFields(
        kind="residence",
        room_code="NOSUCHROOM",
        declarant_name="甲",
        declarant_phone=DECLARANT_PHONE,
        person_name="甲",
        id_number=declared_id_number(),
    )
    cases = [
        (fields, "unknown_room", "room_code"),
        (
            DeclarationFields(
                **{**fields.__dict__, "room_code": room.code, "id_number": "441900199003070011"}
            ),
            "id_check_digit",
            "id_number",
        ),
        (
            DeclarationFields(**{**fields.__dict__, "room_code": room.code, "declarant_phone": "12"}),
            "phone",
            "declarant_phone",
        ),
        (
            DeclarationFields(**{**fields.__dict__, "room_code": room.code, "moved_in_on": date(2999, 1, 1)}),
            "bad_date",
            "moved_in_on",
        ),
    ]
    for given, code, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            declarations.declaration_submit(fields=given, idempotency_key=f"k-{code}", origin=ORIGIN)
        assert (refused.value.code, refused.value.details) == (code, {"field": field})
    assert not Declaration.objects.exists()


def test_a_declaration_is_followed_with_its_code_and_the_declarants_phone(reg: Registry) -> None:
    declaration = declare(second_room(reg))
    code = declaration.code
    assert declarations.declaration_tracked(code=code.lower(), phone=DECLARANT_PHONE).pk == declaration.pk
    assert declarations.declaration_tracked(code=code, phone="0001").pk == declaration.pk
    for wrong_code, phone in (
        (code, "13912349999"),
        (code, "9999"),
        ("ZZZZZZZZZZ", DECLARANT_PHONE),
        ("", "0001"),
    ):
        with pytest.raises(NotFound):
            declarations.declaration_tracked(code=wrong_code, phone=phone)


def test_the_room_code_lookup_answers_only_an_exact_address(reg: Registry) -> None:
    room = reg.inside.room  # 东城大道1号, 1栋, unit 1, room 301
    address = room.building.address
    found = declarations.room_code_lookup(
        address="东城大道 1号", building="1", unit="1单元", number="301室", origin=ORIGIN
    )
    assert found.code == room.code and found.address == f"{address.full_text}1栋1单元301"
    assert (
        declarations.room_code_lookup(
            address=address.full_text, building="1栋", unit="1", number="301", origin=ORIGIN
        ).code
        == room.code
    )
    for wrong in (
        {"building": "2栋"},
        {"number": "302"},
        {"unit": ""},
        {"address": "东城大道2号"},
        {"address": "不存在的路9号"},
    ):
        given = {"address": "东城大道1号", "building": "1栋", "unit": "1", "number": "301", **wrong}
        with pytest.raises(NotFound) as refused:
            declarations.room_code_lookup(**given, origin=ORIGIN)
        assert str(refused.value) == "No room matches this address."
    lookups = AuditEntry.objects.filter(action="registry.room.code_lookup").order_by("id")
    assert [e.details["found"] for e in lookups] == [True, True, False, False, False, False, False]


def test_the_review_queue_reads_in_a_fixed_number_of_queries(
    reg: Registry, api_client: Callable[[User | None], Client], django_assert_max_num_queries: Any
) -> None:
    room = second_room(reg)
    client = api_client(reg.worker)
    client.get(R)  # the session and the scope are warm
    for kind in KINDS:
        declare(room, kind)
    with django_assert_max_num_queries(6):
        few = client.get(R)
    for _ in range(3):
        for kind in KINDS:
            declare(room, kind)
    with django_assert_max_num_queries(6):
        many = client.get(R)
    assert few.json()["count"] == 3 and many.json()["count"] == 12
    item = many.json()["items"][0]
    assert item["residence"].startswith(room.building.address.full_text)
    assert item["id_number"].count("*") == 10 and item["declarant_phone"] == "139****0001"
    assert client.get(R, {"status": "approved"}).json()["count"] == 0
    assert client.get(R, {"kind": "landlord"}).json()["count"] == 4
    assert PersonKind.MIGRANT in {i["person_kind"] for i in many.json()["items"]}
