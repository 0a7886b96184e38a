"""Consistent copies of the configured database and their restoration, for SQLite and PostgreSQL.

SQLite: the copy is made with SQLite's online backup API in one step, inside one read transaction,
so writers carry on (WAL) and the copy is one moment of the database. A restore replaces the file
with an atomic rename.

PostgreSQL: one REPEATABLE READ transaction exports its snapshot; the row counts and migrations are
read in it, and ``pg_dump --snapshot`` dumps exactly that snapshot, so the manifest and the dump
agree even while the application writes. A restore runs ``pg_restore --clean --if-exists
--single-transaction`` into the configured database: it either completes or changes nothing.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.version import get_version_tuple

from zhiwang.operations.archive import BackupFailed
from zhiwang.operations.manifest import ArchiveInvalid

Migrations = list[tuple[str, str]]
Counts = dict[str, int]
# A restore waits at most this long for the locks it needs (an application still running holds them).
RESTORE_LOCK_TIMEOUT = "60s"


@dataclass
class Snapshot:
    file: Path
    migrations: Migrations
    row_counts: Counts


# --- reading what a database holds -------------------------------------------------------------


def table_contents(alias: str) -> tuple[Migrations, Counts]:
    """The applied migrations and the row count of every table of a configured database."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        return _contents(connection, cursor)


def _contents(connection: BaseDatabaseWrapper, cursor: Any) -> tuple[Migrations, Counts]:
    tables = sorted(connection.introspection.table_names(cursor))
    quote = connection.ops.quote_name
    counts: Counts = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608  # names from the catalogue
        counts[table] = int(cursor.fetchone()[0])
    migrations: Migrations = []
    if "django_migrations" in counts:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
        migrations = [(str(app), str(name)) for app, name in cursor.fetchall()]
    return migrations, counts


def _sqlite_contents(conn: sqlite3.Connection) -> tuple[Migrations, Counts]:
    tables = sorted(
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    )
    counts = {
        table: int(conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])  # noqa: S608
        for table in tables
    }
    migrations: Migrations = []
    if "django_migrations" in counts:
        rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()
        migrations = [(str(app), str(name)) for app, name in rows]
    return migrations, counts


# --- SQLite ------------------------------------------------------------------------------------


def sqlite_snapshot(source: Path, target: Path) -> Snapshot:
    """A consistent copy of a live SQLite database (other processes may be writing)."""
    if not source.is_file():
        raise BackupFailed(f"No SQLite database at {source}.", code="no_database")
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # pages=-1: everything in one step, under one read transaction
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive
                migrations, counts = _sqlite_contents(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupFailed(f"Copying the SQLite database failed: {exc}") from exc
    return Snapshot(file=target, migrations=migrations, row_counts=counts)


def sqlite_check(path: Path) -> tuple[Migrations, Counts]:
    """Open a staged copy read-only, check its structure and read what it holds."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()
            if result is None or result[0] != "ok":
                raise ArchiveInvalid("The database in the archive is damaged.", problems=[str(result)])
            return _sqlite_contents(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ArchiveInvalid(
            f"The database in the archive cannot be opened: {exc}", problems=[str(exc)]
        ) from exc


def sqlite_replace(staged: Path, target: Path) -> None:
    """Put a checked copy in place of the database file in one rename. The old write-ahead log is
    checkpointed first and the stale log files removed, so they cannot be replayed onto the copy."""
    if target.exists():
        conn = sqlite3.connect(target, timeout=30)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    os.replace(staged, target)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- PostgreSQL --------------------------------------------------------------------------------


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: from PATH, else the newest under /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    if candidates:
        return max(candidates, key=lambda p: get_version_tuple(Path(p).parent.parent.name))
    raise BackupFailed(
        f"{name} was not found: install the PostgreSQL client tools (version 15 or newer).",
        code="pg_tools_missing",
    )


def pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """The environment that points libpq tools at a configured database (no password on a
    command line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {
        "PGHOST": settings_dict.get("HOST"),
        "PGPORT": settings_dict.get("PORT"),
        "PGUSER": settings_dict.get("USER"),
        "PGPASSWORD": settings_dict.get("PASSWORD"),
        "PGDATABASE": settings_dict.get("NAME"),
    }
    options = settings_dict.get("OPTIONS") or {}
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("service", "PGSERVICE"),
    ):
        values[variable] = options.get(option)
    env.update({k: str(v) for k, v in values.items() if v not in (None, "")})
    return env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as exc:
        raise BackupFailed(f"{what} could not be started: {exc}") from exc
    if result.returncode != 0:
        message = result.stderr.strip() or f"exit status {result.returncode}"
        raise BackupFailed(f"{what} failed: {message}", details={"stderr": result.stderr[-4000:]})


def postgres_snapshot(alias: str, target: Path) -> Snapshot:
    """Counts, migrations and ``pg_dump --format=custom`` of one exported snapshot."""
    dump = pg_tool("pg_dump")
    connection = connections.create_connection(alias)
    try:
        connection.set_autocommit(False)
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = str(cursor.fetchone()[0])
            migrations, counts = _contents(connection, cursor)
            command = [
                dump,
                "--format=custom",
                f"--snapshot={snapshot_id}",
                "--no-password",
                f"--file={target}",
            ]
            _run(command, pg_env(connection.settings_dict), "pg_dump")
        connection.rollback()
    finally:
        connection.close()
    return Snapshot(file=target, migrations=migrations, row_counts=counts)


def postgres_restore(dump: Path, alias: str) -> None:
    """Replace the configured database's objects by the dump's, in one transaction."""
    restore = pg_tool("pg_restore")
    connection = connections[alias]
    connection.close()
    env = pg_env(connection.settings_dict)
    env["PGOPTIONS"] = f"-c lock_timeout={RESTORE_LOCK_TIMEOUT}"
    command = [
        restore,
        "--clean",
        "--if-exists",
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        "--no-password",
        f"--dbname={connection.settings_dict['NAME']}",
        str(dump),
    ]
    _run(command, env, "pg_restore")


def postgres_drop_extra_tables(alias: str, keep: set[str]) -> list[str]:
    """Drop the tables the archive did not hold (made by migrations newer than the archive), so the
    schema is the archive's and `zhiwang migrate` can bring it forward again."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        extra = sorted(set(connection.introspection.table_names(cursor)) - keep)
        for table in extra:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)} CASCADE")
    return extra
