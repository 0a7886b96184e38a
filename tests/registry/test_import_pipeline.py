"""The fast import path: streamed CSV, the worker pool, COPY text, deferred indexes, batched crypto.

Each behaviour is compared with a plain reference (the whole file decoded at once, the rows checked
in this process, `crypto.encrypt`/`lookup_hash`), so speed never changes what is imported."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.db import connection, transaction

from tests.registry.conftest import Registry
from tests.registry.world import ORIGIN, id_number
from zhiwang.common.errors import ValidationFailed
from zhiwang.registry import crypto, importing
from zhiwang.registry.importing import persons as person_import
from zhiwang.registry.importing import tables
from zhiwang.registry.models import ID_NUMBER_COLUMN, PERSON_PHONE_COLUMN, ImportBatch, Person

HEADER = "房屋编码,姓名,身份证号,联系电话,人员类型,流入原因,办证类型,入住日期,工作单位"


class _Undo(Exception):
    pass


def _csv(lines: list[str]) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def _good_rows(reg: Registry, count: int) -> list[str]:
    room = reg.inside.room.code
    return [
        f"{room},居民{n},{id_number(born='19880808')},1390000{n:04d},流动,务工,居住证,2024-05-0{n % 9 + 1},"
        f"厂{n}"
        for n in range(count)
    ]


def _bad_rows(reg: Registry, good: list[str]) -> list[str]:
    """Good rows with problems spread over every chunk (chunks of 4 rows in these tests)."""
    rows = list(good)
    room = reg.inside.room.code
    number = rows[1].split(",")[2]
    rows[1] = f"{room},错号,{number[:17]}{'1' if number[17] == '0' else '0'},,,,,,"
    rows[6] = f"{room},重复,{rows[2].split(',')[2]},,,,,,"  # the same ID number as the third row
    rows[9] = f"{room},已住,{reg.inside.id_number},,,,,,"  # already lives in the importer's scope
    rows[13] = f"441900003001000019990001,无房,{id_number()},,外星,,,2099-01-01,"
    return rows


def _people(batch: ImportBatch) -> list[dict[str, Any]]:
    """What the batch wrote, in file order, with encrypted values decrypted (their nonces differ)."""
    rows = []
    for person in Person.objects.filter(created_by=batch.actor, name__startswith="居民").order_by("pk"):
        tenancy = person.tenancies.get()
        rows.append(
            {
                "id_number": crypto.decrypt(person.id_number_enc, ID_NUMBER_COLUMN),
                "phone": crypto.decrypt(person.phone_enc, PERSON_PHONE_COLUMN),
                **{
                    f: getattr(person, f)
                    for f in (
                        "id_number_hash",
                        "id_number_masked",
                        "name",
                        "sex",
                        "birth_date",
                        "birth_year",
                        "registered_region",
                        "phone_hash",
                        "phone_masked",
                        "employer_name",
                        "kind",
                        "inflow_reason",
                        "permit_type",
                        "room_id",
                        "grid_id",
                        "grid_path",
                        "status",
                        "mobility_status",
                        "mobility_since",
                        "tags",
                    )
                },
                "tenancy": (tenancy.room_id, tenancy.kind, tenancy.starts_on, tenancy.grid_path),
            }
        )
    return rows


def _import(reg: Registry, content: bytes, workers: int) -> ImportBatch:
    return importing.import_persons(
        actor=reg.worker,
        stream=io.BytesIO(content),
        filename="residents.csv",
        origin=ORIGIN,
        workers=workers,
        today=date(2026, 6, 1),
    )


def _imported_then_undone(reg: Registry, content: bytes, workers: int) -> tuple[list[dict[str, Any]], str]:
    """The rows one import writes, and the status it leaves the outside resident in; rolled back."""
    found: list[dict[str, Any]] = []
    status = ""
    try:
        with transaction.atomic():
            batch = _import(reg, content, workers)
            found = _people(batch)
            status = Person.objects.get(pk=reg.outside.person.pk).status
            raise _Undo
    except _Undo:
        pass
    return found, status


def test_parallel_checking_writes_exactly_what_serial_checking_writes(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(person_import, "CHUNK", 4)
    lines = _good_rows(reg, 13)
    # A resident registered outside the importer's scope moves here: the old registration ends.
    lines.append(f"{reg.inside.room.code},居民外来,{reg.outside.id_number},,户籍,,,2024-01-01,")
    serial, serial_status = _imported_then_undone(reg, _csv(lines), workers=0)
    parallel, parallel_status = _imported_then_undone(reg, _csv(lines), workers=2)
    assert len(serial) == 14 and serial == parallel
    assert serial_status == parallel_status == "moved_out"
    assert serial[0]["id_number"] == lines[0].split(",")[2]
    assert serial[0]["tenancy"][1:3] == ("owner", date(2024, 5, 1))
    assert serial[13]["id_number"] == reg.outside.id_number


def test_parallel_checking_reports_exactly_the_errors_of_serial_checking(
    reg: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(person_import, "CHUNK", 4)
    content = _csv(_bad_rows(reg, _good_rows(reg, 16)))
    reports = []
    for workers in (0, 2):
        with pytest.raises(ValidationFailed) as refused:
            _import(reg, content, workers)
        batch = ImportBatch.objects.get(pk=refused.value.details["batch_id"])  # type: ignore[index]
        reports.append((batch.rows_total, batch.rows_imported, batch.errors))
    assert reports[0] == reports[1]
    assert [(e["row"], e["column"], e["code"]) for e in reports[0][2]] == [
        (3, "id_number", "id_check_digit"),
        (8, "id_number", "duplicate_in_file"),
        (11, "id_number", "duplicate_person"),
        (15, "kind", "bad_choice"),
        (15, "moved_in_on", "bad_date"),
        (15, "room_code", "unknown_room"),
    ]
    assert reports[0][:2] == (16, 0)
    assert not Person.objects.filter(name__startswith="居民").exists()


def _reference(content: bytes, encoding: str) -> list[list[str]]:
    return [[v.strip() for v in row] for row in csv.reader(io.StringIO(content.decode(encoding)))]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_a_csv_file_is_read_in_blocks_as_it_was_read_whole(
    encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seven-byte blocks cut multi-byte characters, the BOM and a quoted line break in two.
    monkeypatch.setattr(tables, "BLOCK", 7)
    text = '房屋编码,姓名,备注\r\nA1,"张\n三",东莞 \r\nA2, 李四 ,"引号""里"\n\nA3,王五,末行无换行'
    content = text.encode(encoding)
    rows = list(importing.read_table(io.BytesIO(content), "x.csv"))
    assert rows == _reference(content, encoding)
    assert rows[1] == ["A1", "张\n三", "东莞"]


def test_a_file_that_is_neither_utf8_nor_gb18030_is_refused_before_any_row() -> None:
    with pytest.raises(ValidationFailed) as refused:
        list(importing.read_table(io.BytesIO(b"\x81\x30\xff\xfe"), "x.csv"))
    assert refused.value.code == "bad_encoding"


def test_a_stream_that_cannot_seek_is_still_read() -> None:
    class OneWay(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    content = "姓名\n张三\n".encode("gb18030")
    stream = io.BufferedReader(OneWay(content))
    assert list(importing.read_table(stream, "x.csv")) == [["姓名"], ["张三"]]


def test_free_text_with_copy_control_characters_is_stored_as_written(reg: Registry) -> None:
    name, employer = "王\\五\t", 'A\\N "厂"\r\n二'
    quoted = employer.replace('"', '""')
    content = f'{HEADER}\n{reg.inside.room.code},"{name}",{id_number()},,户籍,,,,"{quoted}"\n'.encode()
    _import(reg, content, workers=0)
    person = Person.objects.get(created_by=reg.worker, name__startswith="王")
    assert (person.name, person.employer_name) == ("王\\五", 'A\\N "厂"\r\n二')  # cells are stripped
    assert person.grid_id == reg.inside.room.building.grid_id and person.phone_enc == ""


def test_copy_lines_match_the_columns_they_are_written_to() -> None:
    now = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    plan = person_import.Plan({}, date(2026, 6, 1), now, 7, True)
    checker = person_import.RowChecker(plan)
    room = person_import.RoomInfo(5, None, "/1/")
    number = id_number(born="19700101")
    person = checker._person({"name": "甲"}, number, "h", "", date(2024, 1, 2), room)
    line = person_import._person_line(person) + "\t" + checker.trailer_text
    fields = line.split("\t")
    assert len(fields) == len(person_import.PERSON_COLUMNS) - 1  # all but the id
    named = dict(zip(person_import.PERSON_COLUMNS[1:], fields, strict=True))
    assert (named["birth_date"], named["grid_id"], named["employment_since"], named["tags"]) == (
        "1970-01-01",
        "\\N",
        "\\N",
        "[]",
    )
    assert (named["room_id"], named["mobility_since"], named["created_by_id"]) == ("5", "2024-01-02", "7")
    assert named["created_at"] == named["updated_at"] == now.isoformat()
    assert named["phone_enc"] == "" and named["id_number_hash"] == "h"


def test_the_sealer_writes_what_encrypt_and_lookup_hash_write() -> None:
    sealer = crypto.Sealer(ID_NUMBER_COLUMN)
    value = "441900199003071238"
    sealed = sealer.encrypt(value)
    assert crypto.decrypt(sealed, ID_NUMBER_COLUMN) == value
    assert crypto.key_id_of(sealed) == crypto.keyring().current_id
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(sealed, PERSON_PHONE_COLUMN)  # still bound to its column
    assert sealer.encrypt(value) != sealed  # a fresh nonce each time
    assert sealer.lookup_hash(value) == crypto.lookup_hash(value, ID_NUMBER_COLUMN)
    assert sealer.encrypt("") == sealer.lookup_hash("") == ""
    # A value stored by `encrypt` before still decrypts.
    assert crypto.decrypt(crypto.encrypt(value, ID_NUMBER_COLUMN), ID_NUMBER_COLUMN) == value


def _indexes() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename IN ('registry_person', 'registry_tenancy')"
        )
        return set(cursor.fetchall())


@pytest.fixture
def postgres_only() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    yield


def test_a_first_load_builds_the_secondary_indexes_after_the_rows(
    reg: Registry, postgres_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(person_import, "CHUNK", 4)
    before = _indexes()
    assert len(before) > 5
    built: list[str] = []
    original = person_import._secondary_indexes_deferred

    def spy(tables: tuple[str, ...]) -> Any:
        built.append(",".join(tables))
        return original(tables)

    monkeypatch.setattr(person_import, "_secondary_indexes_deferred", spy)
    lines = _good_rows(reg, 10)
    batch = importing.import_persons(
        actor=reg.worker,
        stream=io.BytesIO(_csv(lines)),
        filename="first.csv",
        origin=ORIGIN,
        defer_indexes=True,
    )
    assert built == ["registry_person,registry_tenancy"]
    assert batch.rows_imported == 10 and _indexes() == before
    fifth = crypto.lookup_hash(lines[4].split(",")[2], ID_NUMBER_COLUMN)
    assert Person.objects.filter(id_number_hash=fifth, status="active").exists()
    # A small file into a larger table keeps its indexes in place.
    importing.import_persons(
        actor=reg.worker,
        stream=io.BytesIO(_csv(_good_rows(reg, 2))),
        filename="small.csv",
        origin=ORIGIN,
        defer_indexes=True,
    )
    assert built == ["registry_person,registry_tenancy"] and _indexes() == before


def test_a_failed_first_load_leaves_every_index_in_place(
    reg: Registry, postgres_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _indexes()
    count = Person.objects.count()

    def broken(self: person_import.Writer, good: list[Any]) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(person_import.Writer, "write", broken)
    with pytest.raises(RuntimeError):
        importing.import_persons(
            actor=reg.worker,
            stream=io.BytesIO(_csv(_good_rows(reg, 10))),
            filename="first.csv",
            origin=ORIGIN,
            defer_indexes=True,
        )
    assert _indexes() == before and Person.objects.count() == count
