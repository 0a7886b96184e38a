"""The manifest of a backup archive: what it holds and how to check it.

An archive is a gzip-compressed tar file with three kinds of member:

- ``database/zhiwang.sqlite3`` (a SQLite copy) or ``database/zhiwang.pgdump`` (``pg_dump --format=custom``);
- ``media/<path>``: every uploaded file under MEDIA_ROOT;
- ``manifest.json``, written last: format version, creation time, app version, database vendor, the
  applied migrations and the row count of every table at the moment of the copy, and the SHA-256 and
  size of every other member.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from zhiwang.common.errors import ValidationFailed

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DATABASE_DIR = "database"
MEDIA_DIR = "media"
DATABASE_MEMBERS = {"sqlite": "database/zhiwang.sqlite3", "postgresql": "database/zhiwang.pgdump"}


class ArchiveInvalid(ValidationFailed):
    """The archive is damaged, tampered with, or not one of ours: nothing was touched."""

    def __init__(self, message: str, *, problems: list[str] | None = None):
        super().__init__(message, code="archive_invalid", details={"problems": problems or []})
        self.problems = problems or []


@dataclass(frozen=True)
class Member:
    sha256: str
    size: int


@dataclass
class Manifest:
    created_at: str
    app_version: str
    database_vendor: str
    migrations: list[tuple[str, str]]
    row_counts: dict[str, int]
    members: dict[str, Member] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def database_member(self) -> str:
        return DATABASE_MEMBERS[self.database_vendor]

    @property
    def media_members(self) -> list[str]:
        return sorted(name for name in self.members if name.startswith(f"{MEDIA_DIR}/"))

    def to_json(self) -> bytes:
        data = {
            "format_version": self.format_version,
            "created_at": self.created_at,
            "app_version": self.app_version,
            "database_vendor": self.database_vendor,
            "migrations": [list(pair) for pair in self.migrations],
            "row_counts": dict(sorted(self.row_counts.items())),
            "members": {
                name: {"sha256": m.sha256, "size": m.size} for name, m in sorted(self.members.items())
            },
        }
        return json.dumps(data, ensure_ascii=False, indent=2).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            return cls._from_dict(data)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ArchiveInvalid("The manifest is not readable.", problems=[f"manifest: {exc}"]) from exc

    @classmethod
    def _from_dict(cls, data: dict[str, Any]) -> Manifest:
        version = data["format_version"]
        if version != FORMAT_VERSION:
            raise ArchiveInvalid(
                f"Archive format {version!r} is not supported (this version reads format {FORMAT_VERSION}).",
                problems=[f"format_version {version!r}"],
            )
        vendor = str(data["database_vendor"])
        if vendor not in DATABASE_MEMBERS:
            raise ValueError(f"unknown database vendor {vendor!r}")
        members = {
            str(name): Member(sha256=str(m["sha256"]), size=int(m["size"]))
            for name, m in dict(data["members"]).items()
        }
        for name in members:
            check_member_name(name)
        return cls(
            created_at=str(data["created_at"]),
            app_version=str(data["app_version"]),
            database_vendor=vendor,
            migrations=[(str(app), str(name)) for app, name in data["migrations"]],
            row_counts={str(table): int(count) for table, count in dict(data["row_counts"]).items()},
            members=members,
            format_version=version,
        )


def check_member_name(name: str) -> None:
    """Member names are relative POSIX paths under database/ or media/ (or the manifest itself)."""
    path = PurePosixPath(name)
    if name == MANIFEST_NAME:
        return
    if (
        path.is_absolute()
        or ".." in path.parts
        or "\\" in name
        or len(path.parts) < 2
        or path.parts[0] not in (DATABASE_DIR, MEDIA_DIR)
        or (path.parts[0] == DATABASE_DIR and name not in DATABASE_MEMBERS.values())
        or str(path) != name
    ):
        raise ArchiveInvalid(f"Unexpected member {name!r} in the archive.", problems=[f"member {name!r}"])
