"""Imports from the console: the file waits sealed, `zhiwang worker` imports it, the page follows
it and ends on the applied batch or the refused one with its report."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.registry.conftest import Registry
from tests.registry.world import id_number
from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.notifications.models import OutboxMessage
from zhiwang.registry import crypto
from zhiwang.registry.importing import jobs
from zhiwang.registry.models import Address, ImportJob, ImportJobStatus, Person

ClientFor = Callable[[User | None], Client]
IMPORTS = reverse("registry:imports")
HTMX = {"HX-Request": "true"}
PERSONS_HEADER = "房屋编码,姓名,身份证号,联系电话,人员类型,流入原因,办证类型,入住日期"


def _residents(room_code: str, count: int, first_id: str) -> bytes:
    ids = [first_id, *(id_number() for _ in range(count - 1))]
    rows = [f"{room_code},居民{n},{ids[n]},1380000{n:04d},流动,务工,居住证,2024/03/01" for n in range(count)]
    return ("\n".join([PERSONS_HEADER, *rows]) + "\n").encode()


def _upload(client: Client, kind: str, name: str, content: bytes) -> Any:
    return client.post(IMPORTS, {"kind": kind, "file": SimpleUploadedFile(name, content)})


def _run_queued() -> None:
    """What the worker does with each queued job (the worker itself runs in the test marked so)."""
    for pk in ImportJob.objects.filter(status="queued").values_list("pk", flat=True):
        jobs.job_run(pk)


# The sealed file -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 10, 4096, 10_000])
def test_a_sealed_file_opens_to_the_same_bytes(size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "FILE_CHUNK", 4096)
    clear = bytes(range(256)) * (size // 256) + bytes(size % 256)
    sealed = io.BytesIO()
    assert crypto.seal_file(io.BytesIO(clear), sealed, "job:1") == size
    sealed.seek(0)
    assert b"".join(crypto.open_sealed_file(sealed, "job:1")) == clear


def test_a_sealed_file_refuses_tampering_truncation_and_another_label(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(crypto, "FILE_CHUNK", 100)
    clear = "440101199003071234 张三".encode() * 20
    sealed = io.BytesIO()
    crypto.seal_file(io.BytesIO(clear), sealed, "job:7")
    data = sealed.getvalue()
    assert b"440101199003071234" not in data and "张三".encode() not in data

    def opened(raw: bytes, label: str = "job:7") -> bytes:
        return b"".join(crypto.open_sealed_file(io.BytesIO(raw), label))

    assert opened(data) == clear
    flipped = bytearray(data)
    flipped[40] ^= 1
    chunk = 4 + crypto.NONCE_BYTES + 100 + 16  # one full chunk as stored
    head = len(crypto.FILE_MAGIC) + 1 + len(crypto.keyring().current_id)
    for bad in (bytes(flipped), data[: head + chunk], data[:-5], b"not sealed at all"):
        with pytest.raises(crypto.DecryptionError):
            opened(bad)
    with pytest.raises(crypto.DecryptionError):
        opened(data, "job:8")


# The console -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_imports_residents_from_the_console_and_follows_the_import(
    reg: Registry, console: ClientFor
) -> None:
    client = console(reg.worker)
    page = client.get(IMPORTS)
    assert page.status_code == 200
    assert 'data-tab="imports"' in page.content.decode()
    first_id = id_number(born="19880808")
    response = _upload(client, "persons", "居民.csv", _residents(reg.inside.room.code, 12, first_id))
    job = ImportJob.objects.filter(actor=reg.worker).latest("pk")
    assert response.status_code == 302 and response["Location"] == reverse("registry:import", args=[job.pk])
    assert (job.status, job.kind, job.filename, job.actor_id) == (
        "queued",
        "persons",
        "居民.csv",
        reg.worker.pk,
    )
    sealed = jobs.jobs_dir() / f"{job.pk}.sealed"
    stored = sealed.read_bytes()
    assert first_id.encode() not in stored and "居民".encode() not in stored  # sealed while it waits
    assert AuditEntry.objects.filter(action="registry.import_queued", object_id=str(job.pk)).exists()

    waiting = client.get(reverse("registry:import", args=[job.pk]), headers=HTMX)
    html = waiting.content.decode()
    assert 'data-status="queued"' in html and 'hx-trigger="every 2s"' in html

    out = StringIO()
    call_command("worker", "--once", "--no-periodic", stdout=out)  # the task queued after the upload
    assert "2 task(s)" in out.getvalue()  # the import, then delivering the importer's notice
    job.refresh_from_db()
    assert job.status == ImportJobStatus.DONE and job.batch is not None
    assert (job.batch.status, job.batch.rows_imported, job.batch.kind) == ("applied", 12, "persons")
    assert Person.objects.filter(name__startswith="居民", room=reg.inside.room).count() == 12
    assert not sealed.exists()  # deleted once imported
    done = client.get(reverse("registry:import", args=[job.pk])).content.decode()
    assert 'data-batch-status="applied"' in done and "Imported 12 rows." in done
    assert "hx-trigger" not in done  # nothing more to follow
    listing = client.get(IMPORTS).content.decode()
    assert f'data-job="{job.pk}"' in listing and "居民.csv" in listing


def test_a_refused_file_shows_its_problems_and_the_report(reg: Registry, console: ClientFor) -> None:
    client = console(reg.worker)
    content = (
        "街路巷,门牌号,经度,纬度,楼栋,单元,室号\n"
        "东城大道,50号,113.62,22.95,1栋,1,101\n"
        "东城大道,50号,113.62,22.95,1栋,1,101\n"
        "虎门大道,3号,113.71,22.95,,,\n"
    ).encode()
    _upload(client, "places", "places.csv", content)
    job = ImportJob.objects.filter(actor=reg.worker).latest("pk")
    _run_queued()
    job.refresh_from_db()
    assert job.batch is not None and job.batch.status == "refused"
    html = client.get(reverse("registry:import", args=[job.pk])).content.decode()
    assert 'data-batch-status="refused"' in html and "The file has 2 problems; nothing was imported." in html
    assert "The same room as row 2." in html
    told = OutboxMessage.objects.get(channel="inapp", recipient=reg.worker, object_type="registry.import_job")
    assert (told.subject, told.link) == ("导入未通过", f"/console/registry/imports/{job.pk}/")
    assert told.body == "文件 places.csv 有 2 处问题，未导入任何数据，请查看逐行报告。"
    report = client.get(reverse("registry:import_report", args=[job.pk]))
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,code,message" and lines[1].startswith("3,room,duplicate_in_file,")
    assert len(lines) == 3


def test_a_file_that_is_no_table_of_that_kind_fails_with_the_reason(
    reg: Registry, console: ClientFor
) -> None:
    client = console(reg.worker)
    _upload(client, "units", "units.csv", "名称\n厂\n".encode())
    job = ImportJob.objects.filter(actor=reg.worker).latest("pk")
    _run_queued()
    job.refresh_from_db()
    assert (job.status, job.error_code, job.batch) == ("failed", "bad_columns", None)
    html = client.get(reverse("registry:import", args=[job.pk])).content.decode()
    assert 'data-status="failed"' in html
    assert (
        OutboxMessage.objects.get(channel="inapp", recipient=reg.worker, object_id=str(job.pk)).subject
        == "导入失败"
    )
    assert "The file&#x27;s columns do not fit this kind of record." in html


def test_a_running_import_shows_the_rows_checked(reg: Registry, console: ClientFor) -> None:
    job = ImportJob.objects.create(actor=reg.worker, kind="persons", filename="big.csv", status="running")
    jobs.jobs_dir().mkdir(parents=True, exist_ok=True)
    jobs._ProgressFile(job.pk).write(125_000)
    html = console(reg.worker).get(reverse("registry:import", args=[job.pk]), headers=HTMX).content.decode()
    assert "Importing: 125,000 rows checked so far" in html and 'hx-trigger="every 2s"' in html
    # Another person's import is not theirs to follow.
    assert console(reg.dispatcher).get(reverse("registry:import", args=[job.pk])).status_code == 404
    assert console(reg.dispatcher).get(reverse("registry:import_report", args=[job.pk])).status_code == 404


def test_uploads_are_refused_for_the_wrong_file_or_role_and_nothing_is_queued(
    reg: Registry, console: ClientFor, tmp_path: Path
) -> None:
    before = ImportJob.objects.count()
    worker = console(reg.worker)
    response = _upload(worker, "units", "units.pdf", b"%PDF-1.4")
    assert response.status_code == 400
    assert "Upload a CSV file or an Excel workbook (.xlsx)." in response.content.decode()
    response = worker.post(IMPORTS, {"kind": "vehicles", "file": SimpleUploadedFile("a.csv", b"a\n1\n")})
    assert response.status_code == 400
    town = console(reg.town)
    assert 'data-tab="imports"' not in town.get(reverse("registry:units")).content.decode()
    response = _upload(town, "units", "units.csv", "单位名称,经度,纬度\n厂,113.62,22.95\n".encode())
    assert response.status_code == 403
    assert ImportJob.objects.count() == before
    assert not jobs.jobs_dir().exists() or not any(jobs.jobs_dir().glob("*.sealed"))


def test_a_job_whose_file_is_gone_fails_and_a_finished_one_is_not_run_again(reg: Registry) -> None:
    job = ImportJob.objects.create(actor=reg.worker, kind="units", filename="units.csv")
    assert jobs.job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.error_code == "file_lost" and job.finished_at is not None
    assert jobs.job_run(job.pk) == "skipped"


# The API ---------------------------------------------------------------------------------------


def test_the_api_queues_an_import_and_tells_how_it_went(reg: Registry, api_client: ClientFor) -> None:
    client = api_client(reg.worker)
    content = "街路巷,门牌号,经度,纬度,楼栋\n东城大道,60号,113.62,22.95,1栋\n".encode()
    response = client.post(
        "/api/v1/registry/import-jobs",
        {
            "kind": "places",
            "file": SimpleUploadedFile("places.csv", content),
            "mapping": '{"building": "楼栋"}',
        },
    )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["status"], body["kind"], body["size"], body["batch"], body["rows_checked"]) == (
        "queued",
        "places",
        len(content),
        None,
        None,
    )
    _run_queued()
    done = client.get(f"/api/v1/registry/import-jobs/{body['id']}").json()
    assert done["status"] == "done" and done["finished_at"] is not None
    told = OutboxMessage.objects.get(channel="inapp", recipient=reg.worker, object_id=str(body["id"]))
    assert (told.subject, told.body) == ("导入完成", "文件 places.csv 已导入 1 行。")
    assert (done["batch"]["status"], done["batch"]["added"]) == (
        "applied",
        {"addresses": 1, "buildings": 1, "rooms": 0},
    )
    assert client.get(done["batch"]["report_url"]).status_code == 200
    assert api_client(reg.dispatcher).get(f"/api/v1/registry/import-jobs/{body['id']}").status_code == 404
    bad = client.post(
        "/api/v1/registry/import-jobs",
        {"kind": "places", "file": SimpleUploadedFile("p.csv", content), "mapping": "[1]"},
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "bad_mapping")
    assert ImportJob.objects.filter(actor=reg.worker).count() == 2  # the world's own and this one


# A worker stopped during an import ---------------------------------------------------------------


def _interrupted(reg: Registry, console: ClientFor, attempts: int) -> ImportJob:
    """A job queued from the console whose run started long ago and whose heartbeat stopped."""
    content = "街路巷,门牌号,经度,纬度,楼栋\n东城大道,70号,113.62,22.95,1栋\n".encode()
    _upload(console(reg.worker), "places", "places.csv", content)
    job = ImportJob.objects.filter(actor=reg.worker).latest("pk")
    long_ago = timezone.now() - timedelta(minutes=30)
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=long_ago, attempts=attempts)
    jobs._ProgressFile(job.pk).write(0)
    stale = long_ago.timestamp()
    os.utime(jobs.jobs_dir() / f"{job.pk}.progress", (stale, stale))
    return job


def test_an_import_a_stopped_worker_left_running_is_queued_again_and_completes(
    reg: Registry, console: ClientFor, django_capture_on_commit_callbacks: Any
) -> None:
    job = _interrupted(reg, console, attempts=1)
    with django_capture_on_commit_callbacks() as queued:
        assert jobs.sweep_interrupted() == {"requeued": 1, "given_up": 0}
    assert len(queued) == 1  # the task is queued again after commit
    job.refresh_from_db()
    assert job.status == "queued" and (jobs.jobs_dir() / f"{job.pk}.sealed").exists()
    assert jobs.job_run(job.pk) == "done"
    job.refresh_from_db()
    assert (job.attempts, job.batch.status if job.batch else None) == (2, "applied")
    assert Address.objects.filter(door_number="70号").count() == 1


def test_a_live_import_is_left_alone_and_one_interrupted_too_often_is_given_up(
    reg: Registry, console: ClientFor
) -> None:
    alive = ImportJob.objects.create(
        actor=reg.worker, kind="persons", filename="big.csv", status="running", started_at=timezone.now()
    )
    jobs.jobs_dir().mkdir(parents=True, exist_ok=True)
    jobs._ProgressFile(alive.pk).write(5_000)  # its heartbeat is fresh
    job = _interrupted(reg, console, attempts=jobs.MAX_ATTEMPTS)
    assert jobs.sweep_interrupted() == {"requeued": 0, "given_up": 1}
    alive.refresh_from_db()
    job.refresh_from_db()
    assert alive.status == "running"
    assert (job.status, job.error_code, job.batch) == ("failed", "interrupted", None)
    assert not (jobs.jobs_dir() / f"{job.pk}.sealed").exists()
    html = console(reg.worker).get(reverse("registry:import", args=[job.pk])).content.decode()
    assert "The import was interrupted (the background worker stopped) and could not be resumed" in html
    assert OutboxMessage.objects.get(channel="inapp", object_id=str(job.pk)).subject == "导入失败"


def test_a_running_import_keeps_its_heartbeat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    monkeypatch.setattr(jobs, "jobs_dir", lambda: tmp_path)
    progress = jobs._ProgressFile(99)
    progress.write(0)
    os.utime(progress.path, (0, 0))
    stop = threading.Event()
    beating = threading.Thread(target=progress.beat, args=(stop,))
    beating.start()
    try:
        deadline = time.monotonic() + 5
        while progress.path.stat().st_mtime == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        beating.join()
    assert progress.path.stat().st_mtime > 0


def test_a_file_with_more_problems_than_the_report_keeps_says_how_many(
    reg: Registry, console: ClientFor, api_client: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhiwang.registry.importing import tables

    monkeypatch.setattr(tables, "MAX_REPORTED_ERRORS", 2)
    client = console(reg.worker)
    rows = "".join(f"东城大道,{n}号,abc,22.95\n" for n in range(5))  # five longitudes that are no number
    _upload(client, "places", "places.csv", ("街路巷,门牌号,经度,纬度\n" + rows).encode())
    job = ImportJob.objects.filter(actor=reg.worker).latest("pk")
    _run_queued()
    job.refresh_from_db()
    assert job.batch is not None and (job.batch.error_count, len(job.batch.errors)) == (5, 2)
    html = client.get(reverse("registry:import", args=[job.pk])).content.decode()
    assert "The file has 5 problems; nothing was imported." in html
    assert "The report lists the first 2." in html
    body = api_client(reg.worker).get(f"/api/v1/registry/imports/{job.batch.pk}").json()
    assert (body["error_count"], len(body["errors"])) == (5, 2)
    told = OutboxMessage.objects.get(channel="inapp", object_id=str(job.pk))
    assert told.body == "文件 places.csv 有 5 处问题，未导入任何数据，请查看逐行报告。"


def test_the_console_takes_other_column_names(reg: Registry, console: ClientFor) -> None:
    client = console(reg.worker)
    row = f"{reg.inside.room.code},映射居民,{id_number(born='19700101')}"
    content = f"Room,Full name,Citizen ID\n{row}\n".encode()
    response = client.post(
        IMPORTS,
        {
            "kind": "persons",
            "file": SimpleUploadedFile("people.csv", content),
            "mapping": "room_code=Room\nname ＝ Full name\n\nid_number=Citizen ID",
        },
    )
    assert response.status_code == 302
    job = ImportJob.objects.filter(actor=reg.worker).latest("pk")
    assert job.mapping == {"room_code": "Room", "name": "Full name", "id_number": "Citizen ID"}
    _run_queued()
    job.refresh_from_db()
    assert job.batch is not None and job.batch.status == "applied"
    assert Person.objects.filter(name="映射居民", birth_year=1970).count() == 1
    before = ImportJob.objects.count()
    unclear = {"kind": "persons", "file": SimpleUploadedFile("p.csv", content), "mapping": "room_code Room"}
    refused = client.post(IMPORTS, unclear)
    assert refused.status_code == 400
    assert "Line 1 is not a field, an equals sign and a column name." in refused.content.decode()
    assert ImportJob.objects.count() == before
