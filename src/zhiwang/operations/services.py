"""Backup, verification and restore of a whole installation: the database and the uploaded files.

`backup_create` writes one archive (see `manifest` for its layout); `backup_verify` checks one
against its manifest and against this installation; `backup_restore` checks first, then puts the
database and the uploaded files back, then compares the row counts with the manifest.

Order during an online backup: the database first, then the uploaded files. A photo's file is
written before its row commits and photos are never deleted, so every photo the copy knows of is
in the archive (a file uploaded meanwhile may be there too, unreferenced and harmless).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

import zhiwang
from zhiwang.common.errors import ApplicationError
from zhiwang.operations import databases
from zhiwang.operations.archive import ArchiveWriter, BackupFailed, read_archive
from zhiwang.operations.manifest import DATABASE_MEMBERS, MEDIA_DIR, ArchiveInvalid, Manifest

Progress = Callable[[str], None]


def _silent(message: str) -> None:
    return None


class RestoreMismatch(ApplicationError):
    status = 500

    def __init__(self, message: str, *, details: Any = None):
        super().__init__(message, code="restore_mismatch", details=details)


@dataclass
class BackupResult:
    path: Path
    manifest: Manifest
    size: int


@dataclass
class RestoreReport:
    manifest: Manifest
    row_counts: dict[str, int]
    media_files: int
    dropped_tables: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover


# --- backup ------------------------------------------------------------------------------------


def archive_path(output: str | Path | None, created: datetime) -> Path:
    """An existing directory (or one named with a trailing slash) gets a dated file name inside."""
    name = f"zhiwang-backup-{timezone.localtime(created):%Y%m%d-%H%M%S}.tar.gz"
    if output is None:
        return Path(settings.VAR_DIR) / "backups" / name
    path = Path(output)
    if path.is_dir() or str(output).endswith(("/", os.sep)):
        return path / name
    return path


# Working files under MEDIA_ROOT that are not backed up: uploads waiting for an import
# (`registry.importing.jobs`, sealed, deleted once imported). A queued import is uploaded again after
# a restore; its job then says the file could not be read.
TRANSIENT_MEDIA = frozenset({"imports"})


def media_files(media_root: Path) -> Iterator[tuple[Path, str]]:
    """Every regular file under MEDIA_ROOT with its member name (symbolic links are not followed),
    but for the working files of `TRANSIENT_MEDIA`."""
    if not media_root.is_dir():
        return
    for directory, subdirs, files in os.walk(media_root):
        if Path(directory) == media_root:
            subdirs[:] = [d for d in subdirs if d not in TRANSIENT_MEDIA]
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path, f"{MEDIA_DIR}/{path.relative_to(media_root).as_posix()}"


def _vendor(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in DATABASE_MEMBERS:
        raise BackupFailed(f"Backups support SQLite and PostgreSQL, not {vendor}.", code="bad_vendor")
    return vendor


def _snapshot(vendor: str, alias: str, workdir: Path) -> databases.Snapshot:
    if vendor == "sqlite":
        source = Path(connections[alias].settings_dict["NAME"])
        return databases.sqlite_snapshot(source, workdir / "zhiwang.sqlite3")
    return databases.postgres_snapshot(alias, workdir / "zhiwang.pgdump")


def backup_create(
    *,
    output: str | Path | None = None,
    database: str = DEFAULT_DB_ALIAS,
    media_root: Path | None = None,
    progress: Progress = _silent,
) -> BackupResult:
    """Write one archive with a consistent copy of the database and every uploaded file."""
    vendor = _vendor(database)
    media = Path(settings.MEDIA_ROOT) if media_root is None else media_root
    created = timezone.now()
    final = archive_path(output, created)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.TemporaryDirectory(dir=final.parent, prefix=".zhiwang-backup-") as work,
            ArchiveWriter(final) as archive,
        ):
            progress(f"Copying the {vendor} database…")
            snapshot = _snapshot(vendor, database, Path(work))
            rows = sum(snapshot.row_counts.values())
            size = human_size(snapshot.file.stat().st_size)
            progress(f"  {len(snapshot.row_counts)} tables, {rows:,} rows, {size}")
            archive.add(snapshot.file, DATABASE_MEMBERS[vendor])
            progress(f"Adding the uploaded files from {media}…")
            count = 0
            for path, name in media_files(media):
                archive.add(path, name)
                count += 1
            progress(f"  {count:,} files")
            manifest = Manifest(
                created_at=created.isoformat(),
                app_version=zhiwang.__version__,
                database_vendor=vendor,
                migrations=snapshot.migrations,
                row_counts=snapshot.row_counts,
            )
            archive.finish(manifest)
    except OSError as exc:
        raise BackupFailed(f"The backup failed: {exc}") from exc
    return BackupResult(path=final, manifest=manifest, size=final.stat().st_size)


# --- verification ------------------------------------------------------------------------------


def known_migrations() -> set[tuple[str, str]]:
    """Every migration this version ships, and those its squashed migrations replace."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    for migration in loader.disk_migrations.values():
        known.update((str(app), str(name)) for app, name in migration.replaces)
    return known


def check_compatible(manifest: Manifest, vendor: str) -> None:
    problems: list[str] = []
    if manifest.database_vendor != vendor:
        problems.append(
            f"the archive holds a {manifest.database_vendor} database; this installation uses {vendor}"
        )
    known = known_migrations()
    unknown = [f"{app}.{name}" for app, name in manifest.migrations if (app, name) not in known]
    if unknown:
        problems.append(f"migrations unknown to version {zhiwang.__version__}: {', '.join(unknown)}")
    if problems:
        raise ArchiveInvalid(
            "The archive cannot be restored into this installation; nothing was restored.", problems=problems
        )


def backup_verify(*, archive: Path, database: str = DEFAULT_DB_ALIAS) -> Manifest:
    """Every checksum, the manifest, the database vendor and the migrations; changes nothing."""
    manifest = read_archive(archive)
    check_compatible(manifest, _vendor(database))
    return manifest


# --- restore -----------------------------------------------------------------------------------


class _Staging:
    """Where the archive is unpacked before anything is replaced: beside the SQLite file and beside
    MEDIA_ROOT (same file system, so the final moves are renames), or a temporary directory for a
    PostgreSQL dump. Whatever is left is removed on the way out."""

    def __init__(self, vendor: str, settings_dict: dict[str, Any], media_root: Path) -> None:
        token = secrets.token_hex(4)
        self.media_root = media_root
        self.media = media_root.parent / f".{media_root.name}.restore-{token}"
        self.previous_media = media_root.parent / f".{media_root.name}.previous-{token}"
        self.tmp: Path | None = None
        if vendor == "sqlite":
            target = Path(settings_dict["NAME"])
            self.database = target.parent / f".{target.name}.restore-{token}"
        else:
            self.tmp = Path(tempfile.mkdtemp(prefix="zhiwang-restore-"))
            self.database = self.tmp / "zhiwang.pgdump"

    def __enter__(self) -> _Staging:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        self.media.mkdir(parents=True)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.database.unlink(missing_ok=True)
        for directory in (self.media, self.previous_media, self.tmp):
            if directory is not None:
                shutil.rmtree(directory, ignore_errors=True)

    def place(self, name: str) -> Path:
        if not name.startswith(f"{MEDIA_DIR}/"):
            return self.database
        path = self.media / name.removeprefix(f"{MEDIA_DIR}/")
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def swap_media(self) -> None:
        if self.media_root.exists():
            os.replace(self.media_root, self.previous_media)
        os.replace(self.media, self.media_root)


def _count_problems(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(actual)):
        want, have = expected.get(table), actual.get(table)
        if want != have:
            problems.append(f"{table}: manifest {want if want is not None else '-'}, database {have}")
    return problems


def _restore_database(
    vendor: str, alias: str, staging: _Staging, manifest: Manifest, progress: Progress
) -> list[str]:
    if vendor == "sqlite":
        migrations, counts = databases.sqlite_check(staging.database)
        problems = _count_problems(manifest.row_counts, counts)
        if migrations != manifest.migrations:
            problems.append("the applied migrations differ from the manifest")
        if problems:
            raise ArchiveInvalid(
                "The database in the archive does not match its manifest.", problems=problems
            )
        progress("Replacing the database file…")
        connection = connections[alias]
        connection.close()
        databases.sqlite_replace(staging.database, Path(connection.settings_dict["NAME"]))
        return []
    progress("Restoring the database with pg_restore (one transaction)…")
    databases.postgres_restore(staging.database, alias)
    return databases.postgres_drop_extra_tables(alias, set(manifest.row_counts))


def backup_restore(
    *,
    archive: Path,
    database: str = DEFAULT_DB_ALIAS,
    media_root: Path | None = None,
    progress: Progress = _silent,
) -> RestoreReport:
    """Check the archive completely, then restore the database and the uploaded files, then compare
    every table's row count with the manifest. A bad archive is refused before anything changes."""
    vendor = _vendor(database)
    media = Path(settings.MEDIA_ROOT) if media_root is None else media_root
    settings_dict = connections[database].settings_dict
    try:
        with _Staging(vendor, settings_dict, media) as staging:
            progress(f"Checking {archive}…")
            manifest = read_archive(archive, stage=staging.place)
            check_compatible(manifest, vendor)
            progress(f"  made {manifest.created_at} by zhiwang {manifest.app_version}: checksums match")
            dropped = _restore_database(vendor, database, staging, manifest, progress)
            progress("Replacing the uploaded files…")
            staging.swap_media()
    except OSError as exc:
        raise BackupFailed(f"The restore failed: {exc}", code="restore_failed") from exc
    _, counts = databases.table_contents(database)
    problems = _count_problems(manifest.row_counts, counts)
    if problems:
        raise RestoreMismatch(
            "The database was restored, but its row counts differ from the manifest.",
            details={"problems": problems},
        )
    return RestoreReport(
        manifest=manifest,
        row_counts=counts,
        media_files=len(manifest.media_members),
        dropped_tables=dropped,
    )
