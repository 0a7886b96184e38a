"""Importing residents: every row checked, a row-by-row report, all of the file or nothing."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from openpyxl import Workbook, load_workbook

from tests.registry.conftest import Registry
from tests.registry.world import id_number
from zhiwang.accounts.models import User
from zhiwang.registry.models import ImportBatch, Person, Tenancy

R = "/api/v1/registry"


def _state() -> tuple[int, int, list[tuple[int, str]]]:
    return Person.objects.count(), Tenancy.objects.count(), list(Person.objects.values_list("pk", "status"))


def _upload(client: Client, name: str, content: bytes, mapping: str = "") -> tuple[int, dict[str, object]]:
    data: dict[str, object] = {"file": SimpleUploadedFile(name, content)}
    if mapping:
        data["mapping"] = mapping
    response = client.post(f"{R}/imports", data=data)
    return response.status_code, dict(response.json())


def test_a_good_csv_is_imported_whole(reg: Registry, api_client: Callable[[User | None], Client]) -> None:
    room = reg.inside.room.code
    rows = [
        f"{room},居民{n},{id_number(born='19920202')},1380000{n:04d},流动,务工,居住证,2024/03/01"
        for n in range(30)
    ]
    content = (
        "房屋编码,姓名,身份证号,联系电话,人员类型,流入原因,办证类型,入住日期\n" + "\n".join(rows)
    ).encode()
    status, body = _upload(api_client(reg.worker), "residents.csv", content)
    assert status == 201, body
    assert (body["status"], body["rows_total"], body["rows_imported"]) == ("applied", 30, 30)
    imported = Person.objects.filter(name__startswith="居民")
    assert imported.count() == 30
    first = imported.order_by("pk").first()
    assert first is not None
    assert (first.kind, first.inflow_reason, first.permit_type, first.room_id) == (
        "migrant",
        "work",
        "permit",
        reg.inside.room.pk,
    )
    assert first.tenancies.get().starts_on.isoformat() == "2024-03-01"
    found = api_client(reg.worker).get(f"{R}/persons", {"phone": "13800000007"}).json()
    assert [p["name"] for p in found["items"]] == ["居民7"]


def test_an_excel_file_with_a_mapping(reg: Registry, api_client: Callable[[User | None], Client]) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Room", "Full name", "Citizen ID"])
    sheet.append([reg.inside.room.code, "王五", id_number(born="19600606")])
    buffer = io.BytesIO()
    book.save(buffer)
    mapping = '{"room_code": "Room", "name": "Full name", "id_number": "Citizen ID"}'
    status, body = _upload(api_client(reg.dispatcher), "people.xlsx", buffer.getvalue(), mapping)
    assert status == 201, body
    assert Person.objects.filter(name="王五", birth_year=1960).count() == 1


def test_a_file_with_bad_rows_is_refused_with_a_report_and_changes_nothing(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    room = reg.inside.room.code
    good, twice = id_number(born="19900101"), id_number(born="19910101")
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    no_birthday = "44190019901301" + "123"
    no_birthday += __import__("zhiwang.registry.validation", fromlist=["x"]).id_check_char(no_birthday)
    lines = [
        "房屋编码,姓名,身份证号,联系电话,入住日期,人员类型",
        f"{room},好人,{good},13800000001,2024-01-01,户籍",  # row 2: fine
        f"{room},错校验,{wrong_check},,,",  # row 3
        f"{room},错生日,{no_birthday},,,",  # row 4
        f"{room},甲,{twice},,,",  # row 5: fine on its own
        f"{room},乙,{twice},,,",  # row 6: the same ID as row 5
        f"{room},已住,{reg.inside.id_number},,,",  # row 7: already lives here
        f"441900003001000019990001,无房,{id_number()},,,",  # row 8: no such room
        f"{room},坏日期,{id_number()},,2024-13-01,",  # row 9
        f"{room},坏电话,{id_number()},12345,,",  # row 10
        f"{room},,{id_number()},,,外星",  # row 11: no name, unknown kind
    ]
    before = _state()
    client = api_client(reg.worker)
    status, body = _upload(client, "bad.csv", "\n".join(lines).encode())
    assert status == 400
    error = body["error"]
    assert error["code"] == "import_refused"  # type: ignore[index]
    found = {(e["row"], e["column"], e["code"]) for e in error["details"]["errors"]}  # type: ignore[index]
    assert found == {
        (3, "id_number", "id_check_digit"),
        (4, "id_number", "id_birth_date"),
        (6, "id_number", "duplicate_in_file"),
        (7, "id_number", "duplicate_person"),
        (8, "room_code", "unknown_room"),
        (9, "moved_in_on", "bad_date"),
        (10, "phone", "phone"),
        (11, "name", "required"),
        (11, "kind", "bad_choice"),
    }
    assert _state() == before
    batch = ImportBatch.objects.get(pk=error["details"]["batch_id"])  # type: ignore[index]
    assert (batch.status, batch.rows_total, batch.rows_imported) == ("refused", 10, 0)
    report = client.get(error["details"]["report_url"])  # type: ignore[index]
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    lines_out = report.content.decode("utf-8-sig").splitlines()
    assert lines_out[0] == "row,column,code,message" and len(lines_out) == 10
    assert good not in report.content.decode() and twice not in str(batch.errors)
    # Someone else cannot read the report.
    assert api_client(reg.dispatcher).get(error["details"]["report_url"]).status_code == 404  # type: ignore[index]


def test_missing_columns_are_named(reg: Registry, api_client: Callable[[User | None], Client]) -> None:
    status, body = _upload(api_client(reg.worker), "x.csv", "姓名,电话\n张三,13800000000\n".encode())
    assert status == 400
    assert body["error"]["details"]["missing"] == ["room_code", "id_number"]  # type: ignore[index]


def test_the_command_imports_and_reports(
    reg: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        f"房屋编码,姓名,身份证号\n{reg.inside.room.code},命令行,{id_number()}\n", encoding="utf-8"
    )
    call_command("registry_import", str(good), user=reg.worker.username)
    assert "Imported 1 residents" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(f"房屋编码,姓名,身份证号\n{reg.inside.room.code},错,123\n", encoding="utf-8-sig")
    report = tmp_path / "report.csv"
    with pytest.raises(CommandError):
        call_command("registry_import", str(bad), user=reg.worker.username, report=str(report))
    assert "id_format" in report.read_text(encoding="utf-8-sig")


def test_exports_are_files_of_the_readers_scope(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    response = api_client(reg.worker).get(f"{R}/export", {"kind": "persons", "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert (
        len(rows) == 2
        and rows[1][1] == reg.inside.person.name
        and rows[1][2] == reg.inside.person.id_number_masked
    )
    for kind in ("units", "facilities", "addresses"):
        text = api_client(reg.worker).get(f"{R}/export", {"kind": kind}).content.decode("utf-8-sig")
        assert len(text.splitlines()) == 2 and "虎门" not in text, kind
