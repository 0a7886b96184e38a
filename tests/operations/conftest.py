"""A small city with cases and a photo, a scratch database to restore into, and archive surgery."""

from __future__ import annotations

import copy
import io
import secrets
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from tests.cases.conftest import ORIGIN, POINT, Place, categories, place  # noqa: F401  # fixtures
from zhiwang.cases import intake, photos, services
from zhiwang.cases.models import Case, CaseEvent

DRILL = "drill"
PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@dataclass
class Town:
    place: Place
    handled: Case
    waiting: Case
    photo_name: str
    media: Path


def timeline(case_id: int, alias: str = "default") -> list[tuple[Any, ...]]:
    events = CaseEvent.objects.using(alias).filter(case_id=case_id).order_by("at", "id")
    return list(events.values_list("kind", "from_status", "to_status", "note", "actor_id", "at"))


@pytest.fixture
def town(place: Place, settings: Any, tmp_path: Path) -> Town:  # noqa: F811
    """Two cases through the real services: one handled with a report photo, one waiting."""
    settings.MEDIA_ROOT = str(tmp_path / "media")

    def report(description: str) -> Case:
        return intake.case_report(
            actor=place.worker,
            channel="grid_worker",
            lon=POINT[0],
            lat=POINT[1],
            description=description,
            category_code="E0101",
            origin=ORIGIN,
        ).case

    handled = report("路边有一堆生活垃圾无人清理")
    photo = photos.case_add_photo(
        actor=place.worker, case_id=handled.pk, stage="report", content=PHOTO, origin=ORIGIN
    )
    services.case_accept(actor=place.dispatcher, case_id=handled.pk, origin=ORIGIN)
    services.case_dispatch(actor=place.dispatcher, case_id=handled.pk, origin=ORIGIN)
    services.case_sign(actor=place.handler, case_id=handled.pk, origin=ORIGIN)
    services.case_handle(actor=place.handler, case_id=handled.pk, result="已清运", origin=ORIGIN)
    waiting = report("井盖缺失")
    return Town(
        place=place,
        handled=handled,
        waiting=waiting,
        photo_name=photo.file.name,
        media=tmp_path / "media",
    )


@pytest.fixture
def drill(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """A scratch database of the same vendor, reachable as the "drill" alias: a file under tmp_path
    on SQLite, a database zhiwang_drill_<random> on PostgreSQL (created here, dropped afterwards)."""
    default = connections["default"]
    settings_dict = copy.deepcopy(default.settings_dict)
    created = ""
    if default.vendor == "sqlite":
        (tmp_path / "drill").mkdir()
        settings_dict["NAME"] = str(tmp_path / "drill" / "zhiwang.sqlite3")
    else:
        created = f"zhiwang_drill_{secrets.token_hex(4)}"
        with default._nodb_cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{created}"')
        settings_dict["NAME"] = created
    # The wrapper is made once and kept (per thread) by the handler; with the alias then gone from
    # the settings, Django's test isolation treats it as a connection of our own, like any scratch
    # connection, and the settings of the test run never name it.
    connections.settings[DRILL] = settings_dict
    connections[DRILL]
    del connections.settings[DRILL]
    try:
        yield DRILL
    finally:
        connections[DRILL].close()
        del connections[DRILL]
        if created:
            with default._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)')


def rewrite_archive(
    source: Path,
    target: Path,
    change: Callable[[str, bytes], bytes | None] = lambda name, data: data,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Copy an archive member by member; ``change`` may alter a member's bytes or drop it (None)."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for info in old.getmembers():
            raw = old.extractfile(info)
            assert raw is not None
            data = change(info.name, raw.read())
            if data is not None:
                _add(new, info.name, data)
        for name, data in (extra or {}).items():
            _add(new, name, data)
    return target


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))
