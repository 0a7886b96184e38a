"""Importing city components (部件): each row checked as `facility_create` checks one component, a
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
from zhiwang.accounts.models import Department, User
from zhiwang.registry.models import Facility, ImportBatch

R = "/api/v1/registry"
HEADER = "部件编码,部件名称,部件状态,主管部门编码,养护部门编码,养护单位,地址,经度,纬度,坐标系"


@pytest.fixture
def departments(reg: Registry) -> dict[str, Department]:
    town = reg.grids["441900003"]
    return {
        "urban": Department.objects.create(
            code="DC-URBAN", name="东城综合执法队", kind="urban", jurisdiction=town
        ),
        "water": Department.objects.create(
            code="DC-WATER", name="东城水务所", kind="water", jurisdiction=town
        ),
    }


def _upload(
    client: Client, name: str, content: bytes, kind: str = "facilities", mapping: str = ""
) -> tuple[int, dict[str, Any]]:
    data: dict[str, object] = {"file": SimpleUploadedFile(name, content), "kind": kind}
    if mapping:
        data["mapping"] = mapping
    response = client.post(f"{R}/imports", data=data)
    return response.status_code, dict(response.json())


def _facilities() -> list[tuple[Any, ...]]:
    return list(Facility.objects.order_by("pk").values_list("pk", "code", "name", "status", "updated_at"))


def _csv(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def test_a_good_csv_imports_every_row(
    reg: Registry, departments: dict[str, Department], api_client: Callable[[User | None], Client]
) -> None:
    lines = [
        "4419000101000001,上水井盖,完好,DC-URBAN,DC-WATER,,东城大道1号旁,113.62,22.95,",
        "4419000203000101,路灯,破损,DC-URBAN,,东城路灯养护公司,,113.63,22.96,WGS84",
        *[f"44190001020002{n:02d},雨水井盖,,,,,,113.6{n % 4 + 1},22.9{n % 9 + 1}," for n in range(25)],
    ]
    client = api_client(reg.worker)
    status, body = _upload(client, "facilities.csv", _csv(lines))
    assert status == 201, body
    assert (body["kind"], body["status"], body["rows_total"], body["rows_imported"]) == (
        "facilities",
        "applied",
        27,
        27,
    )
    cover = Facility.objects.select_related("grid").get(code="4419000101000001")
    assert (cover.name, cover.major_code, cover.minor_code, cover.status) == (
        "上水井盖",
        "01",
        "01",
        "intact",
    )
    # Departments are named by code; their names stand in for empty owner and maintainer names.
    assert (cover.owner_department_id, cover.owner_name) == (departments["urban"].pk, "东城综合执法队")
    assert (cover.maintainer_department_id, cover.maintainer_name) == (departments["water"].pk, "东城水务所")
    assert (cover.address_text, cover.lon, cover.lat) == ("东城大道1号旁", 113.62, 22.95)
    assert cover.grid is not None and cover.grid.code == "441900003001001"
    lamp = Facility.objects.get(code="4419000203000101")
    assert (lamp.status, lamp.maintainer_department_id, lamp.maintainer_name) == (
        "damaged",
        None,
        "东城路灯养护公司",
    )
    drains = Facility.objects.filter(name="雨水井盖")
    assert drains.count() == 25 and set(drains.values_list("major_code", "minor_code", "status")) == {
        ("01", "02", "intact")
    }
    found = client.get(f"{R}/facilities", {"major_code": "02"}).json()
    assert {f["code"] for f in found["items"]} == {"4419000203000101", reg.inside.facility.code}


def test_a_good_excel_file_imports_every_row(
    reg: Registry, departments: dict[str, Department], api_client: Callable[[User | None], Client]
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Component code", "name", "status", "owner_department", "lon", "lat"])
    sheet.append([4419000301000001, "消防栓", "lost", "DC-URBAN", 113.64, 22.97])
    sheet.append(["4419000301000002", "消防栓", None, None, 113.61, 22.92])
    buffer = io.BytesIO()
    book.save(buffer)
    status, body = _upload(
        api_client(reg.dispatcher), "facilities.xlsx", buffer.getvalue(), mapping='{"code": "Component code"}'
    )
    assert status == 201, body
    assert (body["rows_total"], body["rows_imported"]) == (2, 2)
    hydrant = Facility.objects.get(code="4419000301000001")  # a number in the sheet, a code here
    assert (hydrant.status, hydrant.owner_name, hydrant.lon, hydrant.lat) == (
        "lost",
        "东城综合执法队",
        113.64,
        22.97,
    )
    assert Facility.objects.get(code="4419000301000002").owner_department_id is None


def test_an_imported_row_equals_the_facility_the_api_creates(
    reg: Registry, departments: dict[str, Department], api_client: Callable[[User | None], Client]
) -> None:
    client = api_client(reg.worker)
    payload = {
        "name": "垃圾桶",
        "owner_department_id": departments["urban"].pk,
        "maintainer_name": "环卫公司",
        "status": "damaged",
        "address_text": "东城广场",
        "lon": 113.627,
        "lat": 22.958,
        "system": "bd09",
    }
    created = client.post(
        f"{R}/facilities", {**payload, "code": "4419000404000001"}, content_type="application/json"
    )
    assert created.status_code == 201, created.json()
    row = "4419000404000002,垃圾桶,破损,DC-URBAN,,环卫公司,东城广场,113.627,22.958,百度"
    status, body = _upload(client, "one.csv", _csv([row]))
    assert status == 201, body

    def fields(facility: Facility) -> dict[str, Any]:
        skip = {"id", "code", "created_at", "updated_at"}
        return {
            f.attname: getattr(facility, f.attname)
            for f in Facility._meta.concrete_fields
            if f.attname not in skip
        }

    by_api = Facility.objects.get(code="4419000404000001")
    assert fields(Facility.objects.get(code="4419000404000002")) == fields(by_api)
    assert by_api.lon != 113.627  # converted from BD-09 to WGS-84 both ways


def test_a_file_with_bad_rows_is_refused_with_a_report_and_changes_nothing(
    reg: Registry, departments: dict[str, Department], api_client: Callable[[User | None], Client]
) -> None:
    lines = [
        "4419000101000011,井盖,,DC-URBAN,,,,113.62,22.95,",  # row 2: fine
        "441900010100001,井盖,,,,,,113.62,22.95,",  # row 3: 15 digits
        "4419000001000001,井盖,,,,,,113.62,22.95,",  # row 4: major class 00
        "4419000101000012,井盖,,NO-SUCH,DC-NONE,,,113.62,22.95,",  # row 5: no such departments
        "4419000101000011,井盖,,,,,,113.62,22.95,",  # row 6: the same code as row 2
        f"{reg.inside.facility.code},路灯,,,,,,113.62,22.95,",  # row 7: registered already
        f"{reg.outside.facility.code},路灯,,,,,,113.62,22.95,",  # row 8: registered already, elsewhere
        "4419000101000013,井盖,,,,,,113.71,22.95,",  # row 9: outside the worker's grids
        "4403000101000001,井盖,,,,,,113.62,22.95,",  # row 10: another area's code
        "4419000101000014,井盖,坏了,,,,,113.62,22.95,",  # row 11: no such status
        "4419000101000015,,,,,,,113.62,北纬,",  # row 12: no name, a latitude that is no number
        "4419000101000016,井盖,,,,,,100.0,30.0,",  # row 13: in no grid at all
        "4419000101000017,井盖,,,,,,113.62,22.95,mars",  # row 14: no such coordinate system
    ]
    before = _facilities()
    client = api_client(reg.worker)
    status, body = _upload(client, "bad.csv", _csv(lines))
    assert status == 400
    error = body["error"]
    assert error["code"] == "import_refused"
    found = [(e["row"], e["column"], e["code"]) for e in error["details"]["errors"]]
    assert found == [
        (3, "code", "component_code_format"),
        (4, "code", "component_code_parts"),
        (5, "owner_department", "bad_department"),
        (5, "maintainer_department", "bad_department"),
        (6, "code", "duplicate_in_file"),
        (7, "code", "duplicate_facility"),
        (8, "code", "duplicate_facility"),
        (9, "lon", "outside_scope"),
        (10, "code", "component_area"),
        (11, "status", "bad_choice"),
        (12, "name", "required"),
        (12, "lat", "bad_coordinate"),
        (13, "lon", "outside_grids"),
        (14, "system", "bad_choice"),
    ]
    assert error["details"]["errors"][4]["message"] == "The same component code as row 2."
    assert _facilities() == before
    batch = ImportBatch.objects.get(pk=error["details"]["batch_id"])
    assert (batch.kind, batch.status, batch.rows_total, batch.rows_imported) == (
        "facilities",
        "refused",
        13,
        0,
    )
    report = client.get(error["details"]["report_url"])
    assert report.status_code == 200
    lines_out = report.content.decode("utf-8-sig").splitlines()
    assert lines_out[0] == "row,column,code,message" and len(lines_out) == 1 + len(found)
    assert lines_out[-1].startswith("14,system,bad_choice,")
    assert reg.inside.facility.code not in report.content.decode()
    # Only the one who imported reads the report.
    assert api_client(reg.dispatcher).get(error["details"]["report_url"]).status_code == 404


def test_the_columns_a_facility_needs_are_named(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    status, body = _upload(
        api_client(reg.worker), "x.csv", "部件编码,部件名称\n4419000101000001,井盖\n".encode()
    )
    assert (status, body["error"]["code"]) == (400, "bad_columns")
    assert body["error"]["details"]["missing"] == ["lon", "lat"]


def test_the_command_imports_facilities(
    reg: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "facilities.csv"
    good.write_text(HEADER + "\n4419000101000021,井盖,完好,,,,,113.62,22.95,\n", encoding="utf-8-sig")
    call_command("registry_import", str(good), user=reg.worker.username, kind="facilities")
    assert "Imported 1 facilities" in capsys.readouterr().out
    assert Facility.objects.get(code="4419000101000021").grid_path == reg.inside.facility.grid_path
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n4419000101000022,井盖,完好,,,,,113.71,22.95,\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    with pytest.raises(CommandError):
        call_command(
            "registry_import", str(bad), user=reg.worker.username, kind="facilities", report=str(report)
        )
    assert "2,lon,outside_scope" in report.read_text(encoding="utf-8-sig")
    assert not Facility.objects.filter(code="4419000101000022").exists()
