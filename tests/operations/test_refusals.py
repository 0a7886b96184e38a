"""Bad archives are refused before anything changes; failed backups leave nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from tests.operations.conftest import PHOTO, Town, rewrite_archive
from zhiwang.operations import services
from zhiwang.operations.archive import BackupFailed
from zhiwang.operations.databases import table_contents
from zhiwang.operations.manifest import ArchiveInvalid
from zhiwang.operations.services import backup_create, backup_restore, backup_verify

pytestmark = pytest.mark.django_db(transaction=True)


def _alter_photo(photo_name: str) -> Callable[[str, bytes], bytes | None]:
    def change(name: str, data: bytes) -> bytes | None:
        return data[:-1] + b"\x00" if name == f"media/{photo_name}" else data

    return change


def _future_migration(name: str, data: bytes) -> bytes | None:
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    manifest["migrations"].append(["cases", "9999_from_the_future"])
    return json.dumps(manifest).encode()


def _drop_database(name: str, data: bytes) -> bytes | None:
    return None if name.startswith("database/") else data


def _state(alias: str, media: Path) -> tuple[dict[str, int], dict[str, bytes]]:
    files = {p.relative_to(media).as_posix(): p.read_bytes() for p in media.rglob("*") if p.is_file()}
    return table_contents(alias)[1], files


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("altered_photo", "checksum or size differs"),
        ("extra_member", "not listed in the manifest"),
        ("missing_database", "missing from the archive"),
        ("future_migration", "9999_from_the_future"),
        ("truncated", "cannot be read"),
        ("not_an_archive", "cannot be read"),
    ],
)
def test_a_tampered_archive_is_refused_and_changes_nothing(
    town: Town, drill: str, tmp_path: Path, variant: str, expected: str
) -> None:
    good = backup_create(output=tmp_path / "good.tar.gz").path
    media = tmp_path / "drill-media"
    backup_restore(archive=good, database=drill, media_root=media)
    (media / "after-restore.txt").write_text("made after the restore")
    before = _state(drill, media)
    bad = tmp_path / "bad.tar.gz"
    if variant == "altered_photo":
        rewrite_archive(good, bad, _alter_photo(town.photo_name))
    elif variant == "extra_member":
        rewrite_archive(good, bad, extra={"media/cases/evil.png": PHOTO})
    elif variant == "missing_database":
        rewrite_archive(good, bad, _drop_database)
    elif variant == "future_migration":
        rewrite_archive(good, bad, _future_migration)
    elif variant == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    else:
        bad.write_bytes(b"this is not a backup")

    with pytest.raises(ArchiveInvalid) as refused:
        backup_verify(archive=bad)
    assert expected in " ".join([refused.value.message, *refused.value.problems])
    with pytest.raises(ArchiveInvalid):
        backup_restore(archive=bad, database=drill, media_root=media)
    assert _state(drill, media) == before
    leftovers = [p.name for p in (tmp_path / "drill").iterdir()] if (tmp_path / "drill").exists() else []
    assert [n for n in leftovers if ".restore-" in n] == []
    assert [p.name for p in tmp_path.iterdir() if ".restore-" in p.name] == []


def test_an_archive_of_the_other_vendor_is_refused(town: Town, tmp_path: Path) -> None:
    good = backup_create(output=tmp_path / "good.tar.gz").path
    other = "postgresql" if connections["default"].vendor == "sqlite" else "sqlite"
    other_member = {"sqlite": "database/zhiwang.sqlite3", "postgresql": "database/zhiwang.pgdump"}[other]
    database: dict[str, bytes] = {}

    def change(name: str, data: bytes) -> bytes | None:
        if name.startswith("database/"):
            database[other_member] = data  # the same bytes under the other vendor's name
            return None
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["database_vendor"] = other
        (old,) = [m for m in manifest["members"] if m.startswith("database/")]
        manifest["members"][other_member] = manifest["members"].pop(old)
        return json.dumps(manifest).encode()

    with tarfile.open(good, "r:gz") as tar:  # the manifest comes last: collect the database first
        for info in tar.getmembers():
            raw = tar.extractfile(info)
            assert raw is not None
            change(info.name, raw.read())
    other_archive = rewrite_archive(good, tmp_path / "other.tar.gz", change, extra=database)
    with pytest.raises(ArchiveInvalid) as refused:
        backup_verify(archive=other_archive)
    assert any(f"holds a {other} database" in p for p in refused.value.problems)


def test_the_commands_back_up_verify_and_restore(
    town: Town, drill: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("backup", output=f"{tmp_path}/out/")
    out = capsys.readouterr()
    (archive,) = (tmp_path / "out").iterdir()
    assert f"Backup written: {archive}" in out.out and "Copying the" in out.err and "1 files" in out.err
    call_command("backup", verify=archive)
    assert "every checksum matches" in capsys.readouterr().out

    media = Path(town.media)
    (media / "stray.txt").write_text("uploaded after the backup")
    with pytest.raises(CommandError, match="pass --yes"):
        call_command("restore", archive, database=drill)
    call_command("restore", archive, yes=True, database=drill)
    out = capsys.readouterr()
    assert "every count matches the manifest" in out.out and "1 uploaded files" in out.out
    assert table_contents(drill)[1] == table_contents("default")[1]
    assert not (media / "stray.txt").exists() and (media / town.photo_name).read_bytes() == PHOTO

    bad = rewrite_archive(archive, tmp_path / "bad.tar.gz", _alter_photo(town.photo_name))
    with pytest.raises(CommandError, match="does not match its manifest") as refused:
        call_command("restore", bad, yes=True, database=drill)
    assert f"media/{town.photo_name}: checksum or size differs" in str(refused.value)


def test_the_console_command_exits_non_zero_on_a_bad_archive(town: Town, tmp_path: Path) -> None:
    good = backup_create(output=tmp_path / "good.tar.gz").path
    bad = rewrite_archive(good, tmp_path / "bad.tar.gz", _alter_photo(town.photo_name))
    command = [sys.executable, "-m", "zhiwang.cli", "backup", "--verify"]
    env = {**os.environ, "ZHIWANG_MEDIA_ROOT": str(town.media)}
    ok = subprocess.run([*command, str(good)], capture_output=True, text=True, env=env, check=False)  # noqa: S603
    assert ok.returncode == 0 and "every checksum matches" in ok.stdout
    refused = subprocess.run([*command, str(bad)], capture_output=True, text=True, env=env, check=False)  # noqa: S603
    assert refused.returncode == 1
    assert "does not match its manifest" in refused.stderr and town.photo_name in refused.stderr


def test_a_failed_backup_leaves_no_archive_behind(
    town: Town, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    real = services.media_files

    def vanishing(media_root: Path):  # type: ignore[no-untyped-def]
        yield from real(media_root)
        yield media_root / "vanished.png", "media/vanished.png"

    monkeypatch.setattr(services, "media_files", vanishing)
    with pytest.raises(BackupFailed, match=r"vanished\.png"):
        backup_create(output=out / "b.tar.gz")
    assert list(out.iterdir()) == []


def test_an_existing_archive_is_never_overwritten(town: Town, tmp_path: Path) -> None:
    target = tmp_path / "b.tar.gz"
    target.write_bytes(b"older backup")
    with pytest.raises(BackupFailed, match="already exists"):
        backup_create(output=target)
    assert target.read_bytes() == b"older backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_tables_newer_than_the_archive_are_gone_after_a_restore(
    town: Town, drill: str, tmp_path: Path
) -> None:
    archive = backup_create(output=tmp_path / "b.tar.gz").path
    media = tmp_path / "drill-media"
    backup_restore(archive=archive, database=drill, media_root=media)
    with connections[drill].cursor() as cursor:
        cursor.execute("CREATE TABLE newer_feature (id integer PRIMARY KEY)")
    report = backup_restore(archive=archive, database=drill, media_root=media)
    assert "newer_feature" not in table_contents(drill)[1]
    assert report.row_counts == table_contents("default")[1]
    if connections[drill].vendor == "postgresql":
        assert report.dropped_tables == ["newer_feature"]
