"""Shared fixtures: a small city built through the real import service, and staff in every role."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from zhiwang.accounts.models import Department, Role, RoleAssignment, User, WorkerKind
from zhiwang.common.origin import Origin
from zhiwang.grids import locate
from zhiwang.grids.importing import grid_import_geojson
from zhiwang.grids.models import GridNode
from zhiwang.workcalendar import selectors as calendar_cache

from . import distribution

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
    distribution.install()


@pytest.fixture(autouse=True)
def _queries_name_their_city() -> Iterator[None]:
    """On PostgreSQL, every statement a request issues on a distributed table names its city
    (tests/distribution.py); a test whose requests issued one that does not fails."""
    distribution.RECORDER.found.clear()
    yield
    found = list(dict.fromkeys(distribution.RECORDER.found))
    distribution.RECORDER.found.clear()
    if found and os.environ.get("ZHIWANG_DISTRIBUTION_REPORT"):
        with open(os.environ["ZHIWANG_DISTRIBUTION_REPORT"], "a", encoding="utf-8") as report:
            report.writelines(line + "\n" for line in found)
    elif found:
        pytest.fail("Statements on distributed tables without their city:\n" + "\n".join(found[:20]))


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def feature(code: str, name: str, geometry: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"code": code, "name": name, **props}}


def city_features() -> list[dict[str, Any]]:
    """441900 split into two towns (west, east), each into two communities (south, north), each
    into two base grids (west, east): a 0.2° x 0.2° square near Dongguan, tiled exactly."""
    x0, y0, size = 113.6, 22.9, 0.2
    features = [feature("441900", "东莞市", square(x0, y0, x0 + size, y0 + size))]
    towns = [("441900003", "东城街道"), ("441900101", "虎门镇")]
    for t, (town_code, town_name) in enumerate(towns):
        tx = x0 + t * 0.1
        features.append(feature(town_code, town_name, square(tx, y0, tx + 0.1, y0 + size)))
        for c in range(2):
            cy = y0 + c * 0.1
            community_code = f"{town_code}{c + 1:03d}"
            features.append(
                feature(community_code, f"{town_name}第{c + 1}社区", square(tx, cy, tx + 0.1, cy + 0.1))
            )
            for g in range(2):
                gx = tx + g * 0.05
                features.append(
                    feature(
                        f"{community_code}{g + 1:03d}", f"第{g + 1}网格", square(gx, cy, gx + 0.05, cy + 0.1)
                    )
                )
    return features


@pytest.fixture(autouse=True)
def _fast_hashing_and_fresh_index(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Argon2 is the production hasher (tested on its own); tests hash many passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path_factory.getbasetemp() / "media")
    locate.clear_cache()
    calendar_cache.clear_cache()


@pytest.fixture(autouse=True)
def _seeded_calendar(request: pytest.FixtureRequest) -> None:
    """Tests that use the database see the working calendar the migration seeds, even after a
    transactional test has flushed every table."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    if not (transactional or marker is not None or "db" in request.fixturenames):
        return
    request.getfixturevalue("transactional_db" if transactional else "db")
    from zhiwang.workcalendar.models import CalendarYear
    from zhiwang.workcalendar.services import calendar_seed

    if not CalendarYear.objects.exists():
        calendar_seed(origin=Origin.system())


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser(username="root", password=PASSWORD)


@pytest.fixture
def city(superuser: User) -> dict[str, GridNode]:
    grid_import_geojson(
        actor=superuser,
        data={"type": "FeatureCollection", "features": city_features()},
        origin=Origin.cli(),
        effective_at=datetime(2020, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    return {n.code: n for n in GridNode.objects.all()}


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = iter(range(10_000))

    def make(
        role: str | None = None,
        *,
        grid: GridNode | None = None,
        department: Department | None = None,
        username: str | None = None,
    ) -> User:
        user = User.objects.create_user(username=username or f"user{next(counter)}", password=PASSWORD)
        if role is not None:
            RoleAssignment.objects.create(
                user=user,
                role=role,
                grid=grid,
                department=department,
                worker_kind=WorkerKind.FULL_TIME if role == Role.GRID_WORKER else "",
                starts_on="2020-01-01",
            )
        return user

    return make


@pytest.fixture
def api_client() -> Callable[[User | None], Client]:
    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
            session = client.session
            session["zhiwang_second_factor_ok"] = True
            session.save()
        return client

    return make
