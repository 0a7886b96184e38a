"""A small city with categories, departments and staff for the case workflow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import feature, square
from zhiwang.accounts.models import Department, Role, User
from zhiwang.common.origin import Origin
from zhiwang.grids.importing import grid_import_geojson
from zhiwang.grids.models import GridNode
from zhiwang.taxonomy.models import Category

SHANGHAI = ZoneInfo("Asia/Shanghai")
ORIGIN = Origin(channel="api", ip="127.0.0.1")
# Inside base grid 441900003001001 (113.60–113.65, 22.90–23.00) and the fire grid laid over it.
POINT = (113.62, 22.95)


class Clock:
    """Controls `now` for the services under test."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, *args: int) -> datetime:
        self.now = datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]
        return self.now


@dataclass
class Place:
    city: dict[str, GridNode]
    urban: Department
    city_urban: Department
    fire: Department
    worker: User
    other_worker: User
    dispatcher: User
    town: User
    city_commander: User
    handler: User
    fire_handler: User
    outsider_handler: User
    clock: Clock


def category(code: str, name: str, parent: Category | None = None, **fields: Any) -> Category:
    defaults: dict[str, Any] = {"kind": "event", "department_kind": "urban"}
    defaults.update(fields)
    return Category.objects.create(code=code, name=name, parent=parent, **defaults)


@pytest.fixture
def categories(db: None) -> dict[str, Category]:
    street = category("E01", "市容环境")
    build = category("E03", "施工管理")
    safety = category("E12", "安全隐患", department_kind="fire")
    dispute = category("E13", "矛盾纠纷", department_kind="other")
    return {
        "garbage": category("E0101", "暴露垃圾", street, time_limit=1, time_unit="working_days"),
        "dirty": category("E0102", "道路不洁", street, time_limit=5, time_unit="working_hours"),
        "illegal": category("E0301", "违法搭建", build, time_limit=15, time_unit="working_days"),
        "fire": category(
            "E1201",
            "消防安全隐患",
            safety,
            time_limit=2,
            time_unit="working_hours",
            department_kind="fire",
            overlay_layer="fire",
        ),
        "dispute": category(
            "E1301",
            "邻里纠纷",
            dispute,
            time_limit=3,
            time_unit="working_days",
            department_kind="other",
            handled_by_community=True,
        ),
    }


@pytest.fixture
def place(
    city: dict[str, GridNode],
    superuser: User,
    categories: dict[str, Category],
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> Place:
    fire_grid = {
        "type": "FeatureCollection",
        "features": [
            feature(
                "FIRE-DC-01",
                "东城消防一格",
                square(113.6, 22.9, 113.7, 23.0),
                layer="fire",
                parent_code="441900003",
            )
        ],
    }
    grid_import_geojson(
        actor=superuser, data=fire_grid, origin=ORIGIN, effective_at=datetime(2020, 1, 1, tzinfo=SHANGHAI)
    )
    city = {n.code: n for n in GridNode.objects.filter(valid_to__isnull=True)}
    urban = Department.objects.create(
        code="DC-URBAN", name="东城综合执法队", kind="urban", jurisdiction=city["441900003"]
    )
    city_urban = Department.objects.create(
        code="DG-URBAN", name="市城管局", kind="urban", jurisdiction=city["441900"]
    )
    fire = Department.objects.create(
        code="DC-FIRE", name="东城消防救援站", kind="fire", jurisdiction=city["441900003"]
    )
    fire.overlay_grids.add(city["FIRE-DC-01"])
    humen = Department.objects.create(
        code="HM-URBAN", name="虎门综合执法队", kind="urban", jurisdiction=city["441900101"]
    )
    clock = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))  # a Monday
    from zhiwang.cases import steps

    monkeypatch.setattr(steps, "now", clock)
    return Place(
        city=city,
        urban=urban,
        city_urban=city_urban,
        fire=fire,
        worker=make_user(Role.GRID_WORKER, grid=city["441900003001001"], username="worker"),
        other_worker=make_user(Role.GRID_WORKER, grid=city["441900003001001"], username="worker2"),
        dispatcher=make_user(Role.COMMUNITY_DISPATCHER, grid=city["441900003001"], username="dispatcher"),
        town=make_user(Role.TOWN_COMMANDER, grid=city["441900003"], username="town"),
        city_commander=make_user(Role.CITY_COMMANDER, grid=city["441900"], username="citycmd"),
        handler=make_user(Role.DEPARTMENT_HANDLER, department=urban, username="handler"),
        fire_handler=make_user(Role.DEPARTMENT_HANDLER, department=fire, username="firefighter"),
        outsider_handler=make_user(Role.DEPARTMENT_HANDLER, department=humen, username="humen"),
        clock=clock,
    )
