"""Importing units (enterprises, shops, 三小场所): each row checked as `unit_create` checks one unit, a
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
from tests.registry.world import ORIGIN, credit_code
from zhiwang.accounts.models import User
from zhiwang.common.errors import Conflict
from zhiwang.registry import crypto
from zhiwang.registry.importing import UnitImport, import_units
from zhiwang.registry.models import UNIT_PHONE_COLUMN, ImportBatch, Unit

R = "/api/v1/registry"
HEADER = (
    "单位名称,单位类型,统一社会信用代码,行业,地址编码,经度,纬度,联系人,联系电话,从业人数,风险等级,企业网格"
)


def _upload(
    client: Client, name: str, content: bytes, kind: str = "units", mapping: str = ""
) -> tuple[int, dict[str, Any]]:
    data: dict[str, object] = {"file": SimpleUploadedFile(name, content), "kind": kind}
    if mapping:
        data["mapping"] = mapping
    response = client.post(f"{R}/imports", data=data)
    return response.status_code, dict(response.json())


def _units() -> list[tuple[Any, ...]]:
    return list(
        Unit.objects.order_by("pk").values_list("pk", "name", "credit_code", "grid_path", "updated_at")
    )


def _csv(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def test_a_good_csv_imports_every_row(reg: Registry, api_client: Callable[[User | None], Client]) -> None:
    address = reg.inside.address
    lines = [
        f"东城五金厂,企业,{credit_code(101)},制造业,,113.62,22.95,李四,138-0013-8001,120,高,ENT-DC-01",
        f"东城便利店,商铺,{credit_code(102).lower()},零售,{address.code},,,王五,,3,,",
        "阿华小吃,小档口,,餐饮,,113.63,22.96,,,2,低,",
        *[
            f"东城商户{n},个体工商户,{credit_code(200 + n)},,,113.61,22.9{n % 9 + 1},,,,中风险,"
            for n in range(20)
        ],
    ]
    client = api_client(reg.worker)
    status, body = _upload(client, "units.csv", _csv(lines))
    assert status == 201, body
    assert (body["kind"], body["status"], body["rows_total"], body["rows_imported"]) == (
        "units",
        "applied",
        23,
        23,
    )
    batch = ImportBatch.objects.get(pk=body["id"])
    assert (batch.kind, batch.actor_id, batch.errors) == ("units", reg.worker.pk, [])

    factory = Unit.objects.select_related("enterprise_grid", "grid").get(credit_code=credit_code(101))
    assert (factory.name, factory.kind, factory.industry, factory.headcount, factory.risk_level) == (
        "东城五金厂",
        "enterprise",
        "制造业",
        120,
        "high",
    )
    assert factory.enterprise_grid is not None and factory.enterprise_grid.code == "ENT-DC-01"
    assert factory.enterprise_grid_path == reg.grids["ENT-DC-01"].path
    assert factory.grid is not None and factory.grid.code == "441900003001001"
    assert (factory.lon, factory.lat, factory.contact_name) == (113.62, 22.95, "李四")
    # The phone is normalised and sealed as a person's: encrypted, hashed for search, masked.
    assert crypto.decrypt(factory.contact_phone_enc, UNIT_PHONE_COLUMN) == "13800138001"
    assert factory.contact_phone_hash == crypto.lookup_hash("13800138001", UNIT_PHONE_COLUMN)
    assert factory.contact_phone_masked == "138****8001"
    assert "13800138001" not in str(body)

    shop = Unit.objects.get(credit_code=credit_code(102))  # the code is stored in capitals
    assert (shop.kind, shop.address_id, shop.risk_level, shop.contact_phone_enc) == (
        "shop",
        address.pk,
        "low",
        "",
    )
    # Without a point of its own the unit stands at its address, in the address's grid.
    assert (shop.lon, shop.lat, shop.grid_path) == (address.lon, address.lat, address.grid_path)

    stall = Unit.objects.select_related("enterprise_grid").get(name="阿华小吃")
    assert (stall.kind, stall.credit_code, stall.headcount) == ("small_stall", None, 2)
    # No enterprise grid named: the one over the point, as the API picks it.
    assert stall.enterprise_grid is not None and stall.enterprise_grid.code == "ENT-DC-01"

    merchants = Unit.objects.filter(name__startswith="东城商户")
    assert merchants.count() == 20 and set(merchants.values_list("kind", "risk_level")) == {
        ("individual", "medium")
    }
    found = client.get(f"{R}/units", {"credit_code": credit_code(101)}).json()
    assert [u["name"] for u in found["items"]] == ["东城五金厂"]


def test_a_good_excel_file_imports_every_row(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Company", "kind", "credit_code", "lon", "lat", "headcount", "contact_phone"])
    sheet.append(["东城模具厂", "enterprise", credit_code(111), 113.64, 22.97, 45, 13900139000])
    sheet.append(["小作坊甲", "小作坊", None, 113.61, 22.92, None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    status, body = _upload(
        api_client(reg.dispatcher), "units.xlsx", buffer.getvalue(), mapping='{"name": "Company"}'
    )
    assert status == 201, body
    assert (body["rows_total"], body["rows_imported"]) == (2, 2)
    mould = Unit.objects.get(credit_code=credit_code(111))
    assert (mould.name, mould.headcount, mould.lon, mould.lat) == ("东城模具厂", 45, 113.64, 22.97)
    assert crypto.decrypt(mould.contact_phone_enc, UNIT_PHONE_COLUMN) == "13900139000"
    workshop = Unit.objects.get(name="小作坊甲")
    assert (workshop.kind, workshop.credit_code, workshop.headcount) == ("small_workshop", None, 0)


def test_an_imported_row_equals_the_unit_the_api_creates(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    client = api_client(reg.worker)
    payload = {
        "name": "对照厂",
        "kind": "enterprise",
        "industry": "制造业",
        "address_id": reg.inside.address.pk,
        "contact_name": "赵六",
        "contact_phone": "13700137000",
        "headcount": 8,
        "risk_level": "medium",
        "lon": 113.625,
        "lat": 22.955,
        "system": "gcj02",
    }
    created = client.post(
        f"{R}/units", {**payload, "credit_code": credit_code(121)}, content_type="application/json"
    )
    assert created.status_code == 201, created.json()
    header = (
        "name,kind,credit_code,industry,address_code,contact_name,contact_phone,headcount,risk_level,"
        "lon,lat,system"
    )
    row = (
        f"对照厂,enterprise,{credit_code(122)},制造业,{reg.inside.address.code},赵六,13700137000,8,medium,"
        "113.625,22.955,GCJ-02"
    )
    status, body = _upload(client, "one.csv", f"{header}\n{row}\n".encode())
    assert status == 201, body

    def fields(unit: Unit) -> dict[str, Any]:
        skip = {"id", "credit_code", "contact_phone_enc", "created_at", "updated_at"}
        return {
            f.attname: getattr(unit, f.attname) for f in Unit._meta.concrete_fields if f.attname not in skip
        }

    by_api = Unit.objects.get(credit_code=credit_code(121))
    imported = Unit.objects.get(credit_code=credit_code(122))
    assert fields(imported) == fields(by_api)
    assert by_api.lon != 113.625  # converted from GCJ-02 to WGS-84 both ways
    assert crypto.decrypt(imported.contact_phone_enc, UNIT_PHONE_COLUMN) == "13700137000"


def test_a_file_with_bad_rows_is_refused_with_a_report_and_changes_nothing(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    good = credit_code(301)
    wrong_check = credit_code(302)[:17] + ("0" if credit_code(302)[17] != "0" else "1")
    lines = [
        f"好厂,企业,{good},,,113.62,22.95,,,,,",  # row 2: fine
        f"错校验,企业,{wrong_check},,,113.62,22.95,,,,,",  # row 3
        "错格式,企业,12345,,,113.62,22.95,,,,,",  # row 4
        "无代码,企业,,,,113.62,22.95,,,,,",  # row 5: an enterprise needs its code
        f"重复,企业,{good},,,113.62,22.95,,,,,",  # row 6: the same code as row 2
        f"已登记,企业,{reg.inside.unit.credit_code},,,113.62,22.95,,,,,",  # row 7
        f"虎门厂,企业,{credit_code(303)},,,113.71,22.95,,,,,",  # row 8: outside the worker's grids
        f"无网格,企业,{credit_code(304)},,,113.62,22.95,,,,,ENT-XX-99",  # row 9: no such enterprise grid
        f"越界网格,企业,{credit_code(305)},,,113.62,22.95,,,,,ENT-HM-01",  # row 10: another town's
        f"无地址,企业,{credit_code(306)},,44190000300100099,,,,,,,",  # row 11: no such address
        f"他人地址,企业,{credit_code(307)},,{reg.outside.address.code},,,,,,,",  # row 12: not the worker's
        f"乱填,外星,{credit_code(308)},,,113.62,22.95,,12345,-3,极高,",  # row 13
        f",企业,{credit_code(309)},,,abc,22.95,,,,,",  # row 14: no name, a longitude that is no number
        f"天外,企业,{credit_code(310)},,,100.0,30.0,,,,,",  # row 15: in no grid at all
        f"别处已登记,企业,{reg.outside.unit.credit_code},,,113.62,22.95,,,,,",  # row 16
        f"太长{'长' * 200},企业,{credit_code(311)},,,113.62,22.95,,,,,",  # row 17
    ]
    before = _units()
    client = api_client(reg.worker)
    status, body = _upload(client, "bad.csv", _csv(lines))
    assert status == 400
    error = body["error"]
    assert error["code"] == "import_refused"
    found = [(e["row"], e["column"], e["code"]) for e in error["details"]["errors"]]
    assert found == [
        (3, "credit_code", "credit_code_check"),
        (4, "credit_code", "credit_code_format"),
        (5, "credit_code", "required"),
        (6, "credit_code", "duplicate_in_file"),
        (7, "credit_code", "duplicate_unit"),
        (8, "lon", "outside_scope"),
        (9, "enterprise_grid", "bad_enterprise_grid"),
        (10, "enterprise_grid", "outside_scope"),
        (11, "address_code", "unknown_address"),
        (12, "address_code", "unknown_address"),
        (13, "kind", "bad_choice"),
        (13, "risk_level", "bad_choice"),
        (13, "contact_phone", "phone"),
        (13, "headcount", "bad_number"),
        (14, "name", "required"),
        (14, "lon", "bad_coordinate"),
        (15, "lon", "outside_grids"),
        (16, "credit_code", "duplicate_unit"),
        (17, "name", "too_long"),
    ]
    assert error["details"]["errors"][3]["message"] == "The same credit code as row 2."
    assert _units() == before
    batch = ImportBatch.objects.get(pk=error["details"]["batch_id"])
    assert (batch.kind, batch.status, batch.rows_total, batch.rows_imported) == ("units", "refused", 16, 0)
    report = client.get(error["details"]["report_url"])
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    lines_out = report.content.decode("utf-8-sig").splitlines()
    assert lines_out[0] == "row,column,code,message" and len(lines_out) == 1 + len(found)
    assert lines_out[1].startswith("3,credit_code,credit_code_check,")
    # The report names problems, never the values.
    registered = str(reg.inside.unit.credit_code)
    assert wrong_check not in report.content.decode() and registered not in str(batch.errors)


def test_kind_is_one_of_the_three_and_only_collectors_import(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    content = _csv([f"厂,企业,{credit_code(401)},,,113.62,22.95,,,,,"])
    status, body = _upload(api_client(reg.worker), "units.csv", content, kind="vehicles")
    assert (status, body["error"]["code"]) == (400, "bad_kind")
    status, body = _upload(api_client(reg.town), "units.csv", content)
    assert (status, body["error"]["code"]) == (403, "registry_not_collector")
    status, body = _upload(api_client(reg.worker), "units.csv", "单位名称,行业\n厂,制造业\n".encode())
    assert (status, body["error"]["code"]) == (400, "bad_columns")
    assert body["error"]["details"]["missing"] == ["lon", "lat"]
    assert not Unit.objects.filter(credit_code=credit_code(401)).exists()


def test_a_unit_registered_between_the_check_and_the_write_refuses_the_file_whole(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare = UnitImport.prepare

    def blind(self: UnitImport, rows: list[dict[str, str]]) -> None:
        prepare(self, rows)
        self.registered.clear()  # as if the other unit were registered after this look-up

    monkeypatch.setattr(UnitImport, "prepare", blind)
    before = _units()
    lines = [
        f"新厂,企业,{credit_code(411)},,,113.62,22.95,,,,,",
        f"甲,企业,{reg.inside.unit.credit_code},,,113.62,22.95,,,,,",
    ]
    with pytest.raises(Conflict) as conflict:
        import_units(actor=reg.worker, stream=io.BytesIO(_csv(lines)), filename="units.csv", origin=ORIGIN)
    assert conflict.value.code == "import_conflict"
    assert _units() == before


def test_the_command_imports_units(reg: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "units.csv"
    good.write_text(HEADER + f"\n命令厂,企业,{credit_code(501)},,,113.62,22.95,,,,,\n", encoding="gb18030")
    call_command("registry_import", str(good), user=reg.worker.username, kind="units")
    assert "Imported 1 units" in capsys.readouterr().out
    assert Unit.objects.get(credit_code=credit_code(501)).name == "命令厂"
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"\n错厂,企业,{credit_code(501)},,,113.62,22.95,,,,,\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    with pytest.raises(CommandError):
        call_command("registry_import", str(bad), user=reg.worker.username, kind="units", report=str(report))
    assert "2,credit_code,duplicate_unit" in report.read_text(encoding="utf-8-sig")
    assert ImportBatch.objects.filter(actor=reg.worker, kind="units").count() == 2
