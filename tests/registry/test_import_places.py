"""Importing standard addresses, buildings and rooms from one flat file: each new record checked as
its service checks one, registered parents reused, codes given as the services give them, a
row-by-row report, all of the file or nothing."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook

from tests.registry.conftest import Registry
from tests.registry.world import ORIGIN
from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.registry import crypto, services
from zhiwang.registry.importing import import_places
from zhiwang.registry.models import BUILDING_PHONE_COLUMN, Address, Building, ImportBatch, Room

R = "/api/v1/registry"
HEADER = (
    "地址编码,街路巷,门牌号,地址别名,经度,纬度,楼栋,建筑类型,楼层数,出租屋,管理人电话,"
    "单元,室号,所在楼层,房屋用途,出租状态"
)
COMMUNITY = "441900003001"  # 东城街道第1社区, above the worker's base grid 441900003001001


def _upload(client: Client, name: str, content: bytes) -> tuple[int, dict[str, Any]]:
    response = client.post(f"{R}/imports", data={"file": SimpleUploadedFile(name, content), "kind": "places"})
    return response.status_code, dict(response.json())


def _csv(lines: list[str], header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def _places() -> list[tuple[Any, ...]]:
    return [
        *Address.objects.order_by("pk").values_list("pk", "code", "updated_at"),
        *Building.objects.order_by("pk").values_list("pk", "code", "updated_at"),
        *Room.objects.order_by("pk").values_list("pk", "code", "updated_at"),
    ]


def test_a_flat_file_adds_addresses_buildings_and_rooms_reusing_what_is_registered(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    registered = reg.inside.address  # 东城大道1号 with building 1栋 (6 floors) and room 1-301
    lines = [
        # A new address with two buildings and three rooms, the address repeated on every row.
        ",东城大道,8号,东城商住楼;老八号,113.62,22.95,A栋,商住,12,是,138-0013-8000,1,101,1,住宅,出租",
        ",东城大道,8号,,113.62,22.95,A栋,,,,,1,102,1,,自住",
        ",东城大道,8号,,113.62,22.95,B栋,厂房,3,否,,,B-01,-1,仓储,空置",
        # A door plate alone, and a building alone at a new address.
        ",东城二路,15号,,113.63,22.96,,,,,,,,,,",
        ",东城三路,2号,,113.61,22.91,1栋,,,,,,,,,",
        # A room in the registered building, by the address's code and by its road and door number.
        f"{registered.code},,,,,,1栋,,6,是,,1,302,3,,",
        ",东城大道,1号,,113.61,22.95,1栋,,,,,2,401,4,宿舍,出租",
        # A new building at the registered address.
        f"{registered.code},,,,,,2栋,自建房,5,是,,,,,,",
    ]
    client = api_client(reg.worker)
    status, body = _upload(client, "places.csv", _csv(lines))
    assert status == 201, body
    assert (body["kind"], body["status"], body["rows_total"], body["rows_imported"]) == (
        "places",
        "applied",
        8,
        8,
    )
    assert body["added"] == {"addresses": 3, "buildings": 4, "rooms": 5}

    new = Address.objects.get(community__code=COMMUNITY, road="东城大道", door_number="8号")
    assert new.code == f"{COMMUNITY}00002"  # after the registered 00001, as `address_create` codes
    assert (new.full_text, new.aliases, new.grid_path) == (
        "东城街道东城街道第1社区东城大道8号",
        ["东城商住楼", "老八号"],
        reg.grids["441900003001001"].path,
    )
    assert (round(new.lon, 2), round(new.lat, 2), new.town.code) == (113.62, 22.95, "441900003")
    coded = Address.objects.filter(road__in=["东城二路", "东城三路"]).order_by("code")
    assert [(a.road, a.code) for a in coded] == [
        ("东城二路", f"{COMMUNITY}00003"),
        ("东城三路", f"{COMMUNITY}00004"),
    ]

    a, b = Building.objects.filter(address=new).order_by("code")
    assert (a.code, a.name, a.kind, a.floors, a.is_rental) == (f"{new.code}001", "A栋", "mixed", 12, True)
    assert (b.code, b.name, b.kind, b.floors, b.is_rental) == (
        f"{new.code}002",
        "B栋",
        "industrial",
        3,
        False,
    )
    assert a.manager_phone_masked == "138****8000"
    assert a.manager_phone_hash == crypto.lookup_hash("13800138000", BUILDING_PHONE_COLUMN)
    assert "13800138000" not in a.manager_phone_enc
    assert crypto.decrypt(a.manager_phone_enc, BUILDING_PHONE_COLUMN) == "13800138000"
    assert (a.lon, a.lat, a.grid_path) == (new.lon, new.lat, new.grid_path)
    rooms = list(Room.objects.filter(building__address=new).order_by("code"))
    assert [(r.code, r.unit, r.number, r.floor, r.use, r.rental_status) for r in rooms] == [
        (f"{a.code}0001", "1", "101", 1, "residential", "rented"),
        (f"{a.code}0002", "1", "102", 1, "residential", "self_occupied"),
        (f"{b.code}0001", "", "B-01", -1, "storage", "vacant"),
    ]
    lone = Building.objects.get(address__road="东城三路")
    assert (lone.name, lone.floors, lone.kind) == ("1栋", 1, "residential")
    assert not Building.objects.filter(address__road="东城二路").exists()

    old = reg.inside.building
    added = list(Room.objects.filter(building=old).exclude(pk=reg.inside.room.pk).order_by("code"))
    assert [(r.code, r.unit, r.number, r.floor, r.use) for r in added] == [
        (f"{old.code}0002", "1", "302", 3, "residential"),
        (f"{old.code}0003", "2", "401", 4, "dormitory"),
    ]
    second = Building.objects.get(address=registered, name="2栋")
    assert (second.code, second.kind, second.floors) == (f"{registered.code}002", "self_built", 5)
    entry = AuditEntry.objects.get(action="registry.import", object_id=str(body["id"]))
    assert entry.details["added"] == {"addresses": 3, "buildings": 4, "rooms": 5}


def test_an_imported_place_equals_the_one_the_services_create(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    lines = [",东城四路,9号,九号院,113.64,22.97,3栋,住宅,7,是,13800138009,2,501,5,宿舍,出租"]
    status, body = _upload(api_client(reg.worker), "places.csv", _csv(lines))
    assert status == 201, body
    address = services.address_create(
        actor=reg.worker,
        road="东城五路",
        door_number="9号",
        lon=113.64,
        lat=22.97,
        origin=ORIGIN,
        aliases=["九号院"],
    )
    building = services.building_create(
        actor=reg.worker,
        address_id=address.pk,
        name="3栋",
        kind="residential",
        floors=7,
        is_rental=True,
        manager_phone="13800138009",
        origin=ORIGIN,
    )
    room = services.room_create(
        actor=reg.worker,
        building_id=building.pk,
        unit="2",
        number="501",
        floor=5,
        use="dormitory",
        rental_status="rented",
        origin=ORIGIN,
    )
    skip = {"id", "code", "created_at", "updated_at", "address", "building", "road", "full_text"}
    skip |= {"manager_phone_enc"}  # sealed with a fresh nonce each time

    def fields(obj: Any) -> dict[str, Any]:
        return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.name not in skip}

    imported = Room.objects.select_related("building__address").get(building__address__road="东城四路")
    assert fields(imported) == fields(room)
    assert fields(imported.building) == fields(building)
    assert fields(imported.building.address) == fields(address)
    assert imported.building.address.code == f"{COMMUNITY}00002" and address.code == f"{COMMUNITY}00003"


def test_a_file_with_bad_rows_is_refused_with_a_report_and_changes_nothing(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    registered = reg.inside.address
    outside = reg.outside.address
    lines = [
        ",东城大道,20号,,113.62,22.95,1栋,,6,,,1,101,,,",  # row 2: fine
        ",东城大道,20号,,113.62,22.95,1栋,,6,,,1,101,,,",  # row 3: the same room as row 2
        ",东城大道,20号,,113.62,22.95,1栋,,7,,,1,102,,,",  # row 4: row 2 gave the building 6 floors
        ",东城大道,20号,,113.62,22.95,,,,,,,,,,",  # row 5: the address row 2 added
        ",东城大道,1号,,113.61,22.95,,,,,,,,,,",  # row 6: a registered door plate
        f"{registered.code},,,,,,1栋,,,,,1,301,,,",  # row 7: a registered room
        f"{registered.code},,,,,,1栋,,9,,,1,303,,,",  # row 8: the registered building has 6 floors
        f"{registered.code},,,,,,1栋,,,,,,,,,",  # row 9: a registered building
        f"{outside.code},,,,,,1栋,,,,,1,999,,,",  # row 10: another town's address
        "44190000300199999,,,,,,1栋,,,,,1,101,,,",  # row 11: no such address
        ",虎门大道,7号,,113.71,22.95,,,,,,,,,,",  # row 12: a point outside the worker's grids
        ",东城大道,,,113.62,22.95,,,,,,,,,,",  # row 13: no door number
        ",东城大道,21号,,abc,22.95,,,,,,,,,,",  # row 14: no longitude
        ",东城大道,22号,,113.62,22.95,,,,,,1,101,,,",  # row 15: a room without its building
        ",东城大道,23号,,113.62,22.95,2栋,城堡,0,也许,12345,,,地下,客房,出售",  # row 16: bad values
        ",东城大道,24号,,113.62,22.95,,住宅,,,,,,,,",  # row 17: building details without a building
        f"{registered.code},西城大道,,,,,1栋,,,,,1,304,,,",  # row 18: the code's address is another
        ",东城大道,25号,,100.0,30.0,,,,,,,,,,",  # row 19: in no grid at all
        f",东城大道,{'号' * 21},,113.62,22.95,,,,,,,,,,",  # row 20: too long
    ]
    before = _places()
    client = api_client(reg.worker)
    status, body = _upload(client, "bad.csv", _csv(lines))
    assert status == 400, body
    error = body["error"]
    assert error["code"] == "import_refused"
    found = [(e["row"], e["column"], e["code"]) for e in error["details"]["errors"]]
    assert found == [
        (3, "room", "duplicate_in_file"),
        (4, "floors", "building_differs"),
        (5, "door_number", "duplicate_in_file"),
        (6, "door_number", "duplicate_address"),
        (7, "room", "duplicate_room"),
        (8, "floors", "building_differs"),
        (9, "building", "duplicate_building"),
        (10, "address_code", "unknown_address"),
        (11, "address_code", "unknown_address"),
        (12, "lon", "outside_scope"),
        (13, "door_number", "required"),
        (14, "lon", "bad_coordinate"),
        (15, "building", "required"),
        (16, "building_kind", "bad_choice"),
        (16, "room_use", "bad_choice"),
        (16, "rental_status", "bad_choice"),
        (16, "room", "required"),
        (16, "floors", "bad_number"),
        (16, "is_rental", "bad_choice"),
        (16, "manager_phone", "phone"),
        (16, "floor", "bad_number"),
        (17, "building", "required"),
        (18, "road", "address_differs"),
        (19, "lon", "outside_grids"),
        (20, "door_number", "too_long"),
    ]
    messages = {(e["row"], e["column"]): e["message"] for e in error["details"]["errors"]}
    assert messages[(3, "room")] == "The same room as row 2."
    assert messages[(4, "floors")] == "Row 2 gave this building another value."
    assert _places() == before
    batch = ImportBatch.objects.get(pk=error["details"]["batch_id"])
    assert (batch.kind, batch.status, batch.rows_total, batch.rows_imported, batch.added) == (
        "places",
        "refused",
        19,
        0,
        {},
    )
    report = client.get(error["details"]["report_url"]).content.decode("utf-8-sig").splitlines()
    assert report[0] == "row,column,code,message" and len(report) == 1 + len(found)
    assert outside.code not in "\n".join(report)  # the report names problems, never values


def test_the_columns_must_name_each_address_and_only_collectors_import(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    status, body = _upload(api_client(reg.worker), "places.csv", "街路巷,楼栋\n东城大道,1栋\n".encode())
    assert (status, body["error"]["code"]) == (400, "bad_columns")
    assert body["error"]["details"]["missing"] == ["door_number", "lat", "lon"]
    content = _csv([",东城大道,30号,,113.62,22.95,,,,,,,,,,"])
    status, body = _upload(api_client(reg.town), "places.csv", content)
    assert (status, body["error"]["code"]) == (403, "registry_not_collector")
    assert not Address.objects.filter(door_number="30号").exists()


def test_an_excel_file_and_the_command_import_places(
    reg: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.split(","))
    sheet.append(["", "东城六路", "6号", "", 113.62, 22.95, "1栋", "", 4, "是", "", "1", "101", 1, "", ""])
    sheet.append(["", "东城六路", "6号", "", 113.62, 22.95, "1栋", "", 4, "", "", "1", "102", 1, "", ""])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = import_places(
        actor=reg.worker, stream=io.BytesIO(buffer.getvalue()), filename="p.xlsx", origin=ORIGIN
    )
    assert (batch.rows_imported, batch.added) == (2, {"addresses": 1, "buildings": 1, "rooms": 2})
    assert Room.objects.filter(building__address__road="东城六路").count() == 2

    good = tmp_path / "places.csv"
    good.write_text(HEADER + "\n,东城七路,7号,,113.62,22.95,1栋,,,,,1,101,,,\n", encoding="gb18030")
    call_command("registry_import", str(good), user=reg.worker.username, kind="places")
    out = capsys.readouterr().out
    assert "Imported 1 rows of places, 1 addresses, 1 buildings, 1 rooms" in out
    report = tmp_path / "report.csv"
    with pytest.raises(CommandError):
        call_command(
            "registry_import", str(good), user=reg.worker.username, kind="places", report=str(report)
        )
    assert "2,room,duplicate_room" in report.read_text(encoding="utf-8-sig")
