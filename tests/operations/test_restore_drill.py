"""The restore drill: back up a small city, change and delete data, restore, find it as it was."""

from __future__ import annotations

import hashlib
import json
import tarfile
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

import zhiwang
from tests.operations.conftest import PHOTO, Town, timeline
from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.cases.models import Case, CaseEvent, CasePhoto
from zhiwang.operations.databases import table_contents
from zhiwang.operations.services import backup_create, backup_restore

pytestmark = pytest.mark.django_db(transaction=True)


def test_manifest_describes_the_database_and_every_file(town: Town, tmp_path: Path) -> None:
    migrations, counts = table_contents("default")
    waiting = town.media / "imports" / "7.sealed"  # an upload waiting for its import: not backed up
    waiting.parent.mkdir(parents=True)
    waiting.write_bytes(b"ZWF1 sealed")
    result = backup_create(output=f"{tmp_path}/backups/")
    assert result.path.parent == tmp_path / "backups" and result.path.name.startswith("zhiwang-backup-")
    assert result.path.name.endswith(".tar.gz") and result.size == result.path.stat().st_size
    with tarfile.open(result.path, "r:gz") as tar:
        names = tar.getnames()
        raw = tar.extractfile("manifest.json")
        assert raw is not None
        manifest = json.loads(raw.read())
    vendor = connection.vendor
    database_member = {"sqlite": "database/zhiwang.sqlite3", "postgresql": "database/zhiwang.pgdump"}[vendor]
    assert sorted(names) == sorted([database_member, f"media/{town.photo_name}", "manifest.json"])
    assert manifest["format_version"] == 1 and manifest["app_version"] == zhiwang.__version__
    assert manifest["database_vendor"] == vendor
    assert manifest["row_counts"] == counts and counts["cases_case"] == 2
    assert [tuple(m) for m in manifest["migrations"]] == migrations and (
        "cases",
        "0001_initial",
    ) in migrations
    photo = manifest["members"][f"media/{town.photo_name}"]
    assert photo == {"sha256": hashlib.sha256(PHOTO).hexdigest(), "size": len(PHOTO)}
    assert set(manifest["members"]) == {database_member, f"media/{town.photo_name}"}
    # No temporary files are left beside the archive.
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [result.path.name]


def test_restore_drill_brings_back_records_timeline_and_photo(town: Town, drill: str, tmp_path: Path) -> None:
    _, counts = table_contents("default")
    handled_timeline = timeline(town.handled.pk)
    assert [row[0] for row in handled_timeline] == ["report", "photo", "accept", "dispatch", "sign", "handle"]
    archive = backup_create(output=tmp_path / "drill.tar.gz").path
    media = tmp_path / "drill-media"

    # Into an empty database first.
    first = backup_restore(archive=archive, database=drill, media_root=media)
    assert first.row_counts == counts and first.media_files == 1
    assert timeline(town.handled.pk, drill) == handled_timeline

    # Then change and delete data, and lose the photo.
    CaseEvent.objects.using(drill).filter(case_id=town.handled.pk).delete()
    CasePhoto.objects.using(drill).all().delete()
    Case.objects.using(drill).filter(pk=town.waiting.pk).update(description="被篡改")
    User.objects.db_manager(drill).create_user(username="intruder", password="x" * 12)
    (media / town.photo_name).unlink()
    (media / "stray.txt").write_text("not in the backup")
    assert table_contents(drill)[1] != counts

    report = backup_restore(archive=archive, database=drill, media_root=media)
    assert report.row_counts == counts == table_contents(drill)[1]
    assert timeline(town.handled.pk, drill) == handled_timeline
    restored = Case.objects.using(drill).get(pk=town.waiting.pk)
    assert restored.description == "井盖缺失"
    assert not User.objects.using(drill).filter(username="intruder").exists()
    photo = CasePhoto.objects.using(drill).get(case_id=town.handled.pk)
    assert (media / photo.file.name).read_bytes() == PHOTO
    assert sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()) == [
        town.photo_name
    ]
    # Nothing staged is left beside the media directory or the database file.
    assert [p.name for p in media.parent.iterdir() if ".restore-" in p.name or ".previous-" in p.name] == []


def test_a_backup_taken_while_writes_go_on_restores_to_one_moment(
    town: Town, drill: str, tmp_path: Path
) -> None:
    stop = threading.Event()
    committed = [0]
    failures: list[BaseException] = []

    def write() -> None:
        # Each transaction writes two rows; a consistent copy holds both or neither.
        try:
            while not stop.is_set():
                n = committed[0]
                with transaction.atomic():
                    AuditEntry.objects.create(
                        city_id=town.waiting.city_id,
                        at=timezone.now(),
                        action="drill.write",
                        channel="system",
                        object_id=str(n),
                    )
                    CaseEvent.objects.create(
                        case_id=town.waiting.pk,
                        city_id=town.waiting.city_id,
                        kind="drill",
                        at=timezone.now(),
                        note=str(n),
                    )
                committed[0] = n + 1
                time.sleep(0.001)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while committed[0] < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        before = committed[0]
        result = backup_create(output=tmp_path / "busy.tar.gz")
        after = committed[0]
        while committed[0] < after + 5 and time.monotonic() < deadline:
            time.sleep(0.01)  # writes go on after the backup too
    finally:
        stop.set()
        writer.join(timeout=30)
    assert failures == [] and before >= 20 and committed[0] > after

    report = backup_restore(archive=result.path, database=drill, media_root=tmp_path / "busy-media")
    assert report.row_counts == result.manifest.row_counts
    audit = AuditEntry.objects.using(drill).filter(action="drill.write")
    events = CaseEvent.objects.using(drill).filter(kind="drill")
    n = audit.count()
    assert before <= n <= after
    assert events.count() == n
    assert sorted(int(v) for v in audit.values_list("object_id", flat=True)) == list(range(n))
    assert sorted(int(v) for v in events.values_list("note", flat=True)) == list(range(n))
    assert result.manifest.row_counts["cases_caseevent"] == table_contents(drill)[1]["cases_caseevent"]
