"""Personal numbers at rest, masking, whole views, anonymisation and key rotation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tests.registry.conftest import Registry
from tests.registry.world import id_number
from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.registry import crypto
from zhiwang.registry.models import ID_NUMBER_COLUMN, PERSON_PHONE_COLUMN, Person

KEY1 = "k1:" + base64.b64encode(b"1" * 32).decode()
KEY2 = "k2:" + base64.b64encode(b"2" * 32).decode()
R = "/api/v1/registry"


def _register(client: Client, room_id: int, number: str, phone: str = "13800138000") -> dict[str, Any]:
    response = client.post(
        f"{R}/persons",
        data={"room_id": room_id, "name": "张三", "id_number": number, "phone": phone},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


@pytest.mark.django_db(transaction=True)
def test_an_id_number_is_nowhere_in_plaintext_in_the_database(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    number, phone = id_number(born="19851122"), "13912345678"
    body = _register(api_client(reg.worker), reg.inside.room.pk, number, phone)
    assert body["id_number"] == number[:4] + "*" * 10 + number[-4:]
    assert body["phone"] == "139****5678"
    # The stored value decrypts to the number (so the test below is not vacuous).
    person = Person.objects.get(pk=body["id"])
    assert crypto.decrypt(person.id_number_enc, ID_NUMBER_COLUMN) == number
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = Path(connection.settings_dict["NAME"]).read_bytes()
        assert "张三".encode() in data  # the row is in the file
        assert number.encode() not in data
        assert phone.encode() not in data
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                " AND table_type = 'BASE TABLE'"
            )
            tables = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT t::text FROM registry_person t WHERE id = %s", [person.pk])
            assert "张三" in cursor.fetchone()[0]
            for table in tables:
                cursor.execute(f'SELECT t::text FROM "{table}" t')  # noqa: S608
                text = "\n".join(row[0] for row in cursor.fetchall())
                assert number not in text, table
                assert phone not in text, table


def test_values_are_bound_to_their_column_and_key() -> None:
    stored = crypto.encrypt("441900199003071238", ID_NUMBER_COLUMN)
    assert crypto.decrypt(stored, ID_NUMBER_COLUMN) == "441900199003071238"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored, PERSON_PHONE_COLUMN)
    tampered = stored[:-3] + ("AAA" if not stored.endswith("AAA") else "BBB")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered, ID_NUMBER_COLUMN)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("unknown:" + stored.partition(":")[2], ID_NUMBER_COLUMN)
    assert crypto.encrypt("x", ID_NUMBER_COLUMN) != crypto.encrypt("x", ID_NUMBER_COLUMN)  # fresh nonce
    assert crypto.lookup_hash("x", ID_NUMBER_COLUMN) != crypto.lookup_hash("x", PERSON_PHONE_COLUMN)


def test_search_by_exact_number_goes_through_the_hash(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    client = api_client(reg.worker)
    found = client.get(f"{R}/persons", {"id_number": reg.inside.id_number.lower()}).json()
    assert [p["id"] for p in found["items"]] == [reg.inside.person.pk]
    assert found["items"][0]["id_number"].count("*") == 10
    by_phone = client.get(f"{R}/persons", {"phone": "+86 138-0013-0001"}).json()
    assert [p["id"] for p in by_phone["items"]] == [reg.inside.person.pk]
    bad = client.get(f"{R}/persons", {"id_number": "441900199003071239"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "id_check_digit"


def test_every_whole_view_of_an_id_number_leaves_an_audit_row(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    person = reg.inside.person
    before = AuditEntry.objects.filter(action__startswith="registry.person.reveal").count()
    revealed = api_client(reg.worker).post(
        f"{R}/persons/{person.pk}/reveal", data={"reason": "核对证件"}, content_type="application/json"
    )
    assert revealed.status_code == 200
    assert revealed.json() == {"id_number": reg.inside.id_number, "phone": "13800130001"}
    entry = AuditEntry.objects.filter(action="registry.person.reveal").latest("id")
    assert (entry.actor_id, entry.object_id, entry.details["reason"]) == (
        reg.worker.pk,
        str(person.pk),
        "核对证件",
    )
    assert reg.inside.id_number not in str(entry.details)
    # A whole export names every person whose numbers left whole.
    export = api_client(reg.dispatcher).get(f"{R}/export", {"kind": "persons", "whole": "true"})
    assert export.status_code == 200 and reg.inside.id_number in export.content.decode()
    exported = AuditEntry.objects.filter(action="registry.person.reveal_export").latest("id")
    assert exported.details["ids"] == [str(person.pk)] and exported.actor_id == reg.dispatcher.pk
    assert AuditEntry.objects.filter(action__startswith="registry.person.reveal").count() == before + 2
    # A town commander sees masked numbers only, and asking changes nothing.
    refused = api_client(reg.town).post(
        f"{R}/persons/{person.pk}/reveal", data={"reason": "查看"}, content_type="application/json"
    )
    assert refused.status_code == 403
    masked = api_client(reg.town).get(f"{R}/export", {"kind": "persons", "whole": "true"}).content.decode()
    assert reg.inside.id_number not in masked and reg.inside.person.id_number_masked in masked
    assert AuditEntry.objects.filter(action__startswith="registry.person.reveal").count() == before + 2


def test_care_fields_are_shown_only_to_carers(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    url = f"{R}/persons/{reg.inside.person.pk}"
    worker_view = api_client(reg.worker).get(url).json()
    assert worker_view["tags"] == ["key_youth"] and worker_view["health_status"] == "chronic"
    leader = User.objects.create_user(username="leader-a")
    from zhiwang.accounts.models import Role, RoleAssignment

    RoleAssignment.objects.create(
        user=leader, role=Role.LEADER, grid=reg.grids["441900003"], starts_on="2020-01-01"
    )
    leader_view = api_client(leader).get(url).json()
    assert leader_view["tags"] is None and leader_view["health_status"] is None
    assert "key_youth" not in api_client(leader).get(f"{R}/export").content.decode()


def test_deletion_anonymises_and_keeps_a_tombstone(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    person = reg.inside.person
    response = api_client(reg.dispatcher).post(
        f"{R}/persons/{person.pk}/anonymise", data={"reason": "本人申请"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    person.refresh_from_db()
    assert (person.name, person.id_number_enc, person.id_number_hash, person.phone_enc, person.tags) == (
        "",
        "",
        "",
        "",
        [],
    )
    sex = "M" if int(reg.inside.id_number[16]) % 2 else "F"  # GB 11643: odd sequence digit, male
    assert (person.status, person.sex, person.birth_year, person.grid_path) == (
        "anonymised",
        sex,
        1990,
        reg.inside.room.grid_path,
    )
    assert person.tenancies.count() == 1
    assert (
        api_client(reg.worker).get(f"{R}/persons", {"id_number": reg.inside.id_number}).json()["count"] == 0
    )
    # A grid worker may not delete.
    other = reg.outside.person
    assert (
        api_client(reg.other_worker)
        .post(f"{R}/persons/{other.pk}/anonymise", data={"reason": "x"}, content_type="application/json")
        .status_code
        == 403
    )


def test_rotation_keeps_every_value_readable(
    reg: Registry, settings: Any, api_client: Callable[[User | None], Client]
) -> None:
    settings.ZHIWANG_DATA_KEYS = [KEY1]
    call_command("registry_rotate_keys")  # the world's values (development key) move under k1
    settings.ZHIWANG_DATA_KEYS = [KEY1]
    client = api_client(reg.worker)
    extra = _register(client, reg.inside.room.pk, id_number(born="19700101"), "13700000001")
    assert Person.objects.get(pk=extra["id"]).id_number_enc.startswith("k1:")
    settings.ZHIWANG_DATA_KEYS = [KEY2, KEY1]
    call_command("registry_rotate_keys")
    settings.ZHIWANG_DATA_KEYS = [KEY2]  # the old key is gone
    people = list(Person.objects.exclude(id_number_enc=""))
    assert len(people) == 3
    assert all(p.id_number_enc.startswith("k2:") and p.phone_enc.startswith("k2:") for p in people)
    revealed = client.post(
        f"{R}/persons/{reg.inside.person.pk}/reveal", data={"reason": "核对"}, content_type="application/json"
    ).json()
    assert revealed["id_number"] == reg.inside.id_number
    assert client.get(f"{R}/persons", {"id_number": reg.inside.id_number}).json()["count"] == 1
    assert reg.inside.unit.__class__.objects.get(pk=reg.inside.unit.pk).contact_phone_enc.startswith("k2:")
    assert AuditEntry.objects.filter(action="registry.keys.rotate").count() == 2


def test_development_keys_warn_outside_debug(settings: Any) -> None:
    settings.DEBUG = False
    settings.ZHIWANG_DATA_KEYS, settings.ZHIWANG_LOOKUP_KEY = [], ""
    # A development install (the demo, with the development secret key) is not warned...
    settings.SECRET_KEY = settings.INSECURE_DEVELOPMENT_KEY
    assert not {m.id for m in run_checks()} & {"registry.W001", "registry.W002"}
    # ... one with its own secret key is: it looks like production.
    settings.SECRET_KEY = "a-production-secret-key-of-some-length"
    ids = {m.id for m in run_checks()}
    assert {"registry.W001", "registry.W002"} <= ids
    settings.ZHIWANG_DATA_KEYS, settings.ZHIWANG_LOOKUP_KEY = [KEY1], "a-long-lookup-secret"
    ids = {m.id for m in run_checks()}
    assert not ids & {"registry.W001", "registry.W002", "registry.E001"}
    settings.ZHIWANG_DATA_KEYS = ["k1:short"]
    assert "registry.E001" in {m.id for m in run_checks()}
