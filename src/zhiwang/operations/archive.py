"""Writing and reading backup archives (tar + gzip), hashing every member on the way.

The writer works under a temporary name beside the final one and renames it at the very end, so an
interrupted or failed backup leaves no half-written archive. The reader takes one streaming pass:
it hashes every member (copying it to a staging place when asked), then compares with the manifest.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tarfile
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import IO

from zhiwang.common.errors import ApplicationError
from zhiwang.operations.manifest import (
    MANIFEST_NAME,
    ArchiveInvalid,
    Manifest,
    Member,
    check_member_name,
)

CHUNK = 1024 * 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024

Stage = Callable[[str], Path | None]


class BackupFailed(ApplicationError):
    status = 500

    def __init__(self, message: str, *, code: str = "backup_failed", details: object = None):
        super().__init__(message, code=code, details=details)


class _HashingReader:
    """A file object for `tarfile.addfile` that hashes what it hands over."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.count += len(data)
        return data


class ArchiveWriter:
    """``with ArchiveWriter(path) as archive: archive.add(...); archive.finish(manifest)``."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.partial = final.with_name(f".{final.name}.partial-{secrets.token_hex(4)}")
        self.members: dict[str, Member] = {}
        self.finished = False
        self._tar: tarfile.TarFile | None = None

    def __enter__(self) -> ArchiveWriter:
        if self.final.exists():
            raise BackupFailed(f"{self.final} already exists; choose another name.", code="archive_exists")
        self._tar = tarfile.open(self.partial, "w:gz", compresslevel=6)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tar is not None:
            self._tar.close()
        if not self.finished:
            self.partial.unlink(missing_ok=True)

    @property
    def tar(self) -> tarfile.TarFile:
        assert self._tar is not None, "use ArchiveWriter as a context manager"
        return self._tar

    def add(self, source: Path, name: str) -> Member:
        check_member_name(name)
        stat = source.stat()
        info = tarfile.TarInfo(name)
        info.size = stat.st_size
        info.mtime = int(stat.st_mtime)
        info.mode = 0o640
        with source.open("rb") as raw:
            reader = _HashingReader(raw)
            self.tar.addfile(info, reader)  # reads exactly info.size bytes
        member = Member(sha256=reader.digest.hexdigest(), size=reader.count)
        self.members[name] = member
        return member

    def finish(self, manifest: Manifest) -> Path:
        manifest.members = dict(self.members)
        raw = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size = len(raw)
        info.mode = 0o640
        info.mtime = int(os.path.getmtime(self.partial))
        self.tar.addfile(info, BytesIO(raw))
        self.tar.close()
        with self.partial.open("rb") as written:
            os.fsync(written.fileno())
        if self.final.exists():
            raise BackupFailed(f"{self.final} appeared meanwhile; not overwritten.", code="archive_exists")
        os.replace(self.partial, self.final)
        _fsync_dir(self.final.parent)
        self.finished = True
        return self.final


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_hashing(source: IO[bytes], target: Path | None) -> Member:
    digest = hashlib.sha256()
    size = 0
    out = target.open("wb") if target is not None else None
    try:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    finally:
        if out is not None:
            out.close()
    return Member(sha256=digest.hexdigest(), size=size)


def read_archive(path: Path, *, stage: Stage | None = None) -> Manifest:
    """Check every member against the manifest; raise `ArchiveInvalid` listing every problem.

    With ``stage``, each member is also copied to the path it returns (None: hash only)."""
    if not path.is_file():
        raise ArchiveInvalid(f"No archive at {path}.")
    seen: dict[str, Member] = {}
    raw_manifest: bytes | None = None
    try:
        with tarfile.open(path, "r|gz") as tar:
            for info in tar:
                raw = _member_reader(tar, info)
                if info.name == MANIFEST_NAME:
                    raw_manifest = raw.read(MAX_MANIFEST_BYTES + 1)
                    if len(raw_manifest) > MAX_MANIFEST_BYTES:
                        raise ArchiveInvalid("The manifest is too large.", problems=["manifest: too large"])
                    continue
                if info.name in seen:
                    raise ArchiveInvalid(
                        f"Member {info.name!r} appears twice.", problems=[f"{info.name}: duplicate"]
                    )
                seen[info.name] = _copy_hashing(raw, stage(info.name) if stage else None)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveInvalid(
            f"The archive cannot be read (damaged or not a backup): {exc}", problems=[str(exc)]
        ) from exc
    if raw_manifest is None:
        raise ArchiveInvalid("The archive has no manifest: not a zhiwang backup.", problems=["no manifest"])
    manifest = Manifest.from_json(raw_manifest)
    problems = _compare(manifest, seen)
    if problems:
        raise ArchiveInvalid(
            "The archive does not match its manifest (damaged or altered); nothing was restored.",
            problems=problems,
        )
    return manifest


def _member_reader(tar: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    check_member_name(info.name)
    if not info.isfile():
        raise ArchiveInvalid(
            f"Member {info.name!r} is not a regular file.", problems=[f"{info.name}: not a regular file"]
        )
    raw = tar.extractfile(info)
    assert raw is not None  # regular files always have content
    return raw


def _compare(manifest: Manifest, seen: dict[str, Member]) -> list[str]:
    problems: list[str] = []
    if manifest.database_member not in manifest.members:
        problems.append(f"{manifest.database_member}: missing from the manifest")
    for name, expected in sorted(manifest.members.items()):
        actual = seen.get(name)
        if actual is None:
            problems.append(f"{name}: missing from the archive")
        elif actual != expected:
            problems.append(f"{name}: checksum or size differs from the manifest")
    for name in sorted(set(seen) - set(manifest.members)):
        problems.append(f"{name}: not listed in the manifest")
    return problems
