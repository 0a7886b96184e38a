"""Build the demo city: Dongguan's real towns/streets and villages/communities by their 2023
statistical codes and names, on synthetic nested geometry, with synthetic staff.

Everything goes through the same services as real data (the grid import validates the whole map),
and everything is deterministic for a given seed and scale.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import shapely
from django.contrib.auth.hashers import make_password
from django.db import transaction

from zhiwang.accounts.models import Department, DepartmentKind, Role, RoleAssignment, User, WorkerKind
from zhiwang.common.origin import Origin
from zhiwang.demo.cases import generate_demo_cases
from zhiwang.demo.geometry import Cell, build_tree, iter_cells
from zhiwang.demo.plan import plan_city
from zhiwang.grids.geojson import geometry_to_geojson
from zhiwang.grids.importing import grid_import_geojson
from zhiwang.grids.models import GridNode
from zhiwang.taxonomy.services import load_default_categories
from zhiwang.workcalendar.services import calendar_seed

CITY_CODE = "441900"
CITY_NAME = "东莞市"
DEMO_PASSWORD = "zhiwang-demo-2026"  # noqa: S105  # printed by the demo on purpose
EFFECTIVE = datetime(2018, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai"))

Progress = Callable[[str], None]

SURNAMES = "陈李黄张梁刘林王叶何罗郑谢邓钟周吴杨蔡麦袁卢莫黎朱曾"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玲志红建国文海燕婷晓东雪梅浩宇欣怡佳俊"

CITY_DEPARTMENTS = [
    ("DG-URBAN", "东莞市城市管理和综合执法局", DepartmentKind.URBAN),
    ("DG-FIRE", "东莞市消防救援支队", DepartmentKind.FIRE),
    ("DG-POLICE", "东莞市公安局", DepartmentKind.POLICE),
    ("DG-SAFETY", "东莞市应急管理局", DepartmentKind.SAFETY),
    ("DG-HOUSING", "东莞市住房和城乡建设局", DepartmentKind.HOUSING),
    ("DG-ENV", "东莞市生态环境局", DepartmentKind.ENVIRONMENT),
    ("DG-MARKET", "东莞市市场监督管理局", DepartmentKind.MARKET),
    ("DG-WATER", "东莞市水务局", DepartmentKind.WATER),
    ("DG-TRANSPORT", "东莞市交通运输局", DepartmentKind.TRANSPORT),
    ("DG-HEALTH", "东莞市卫生健康局", DepartmentKind.HEALTH),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    place: str


@dataclass(frozen=True)
class DemoCity:
    towns: int
    communities: int
    grids: int
    workers: int
    unstaffed: int
    logins: list[DemoLogin]


def _features(tree: Cell, names: dict[str, str]) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    for _depth, _parent, cell in iter_cells(tree):
        code = cell.key
        name = names.get(code) or (CITY_NAME if code == CITY_CODE else f"第{int(code[-3:])}网格")
        features.append(
            {
                "type": "Feature",
                "geometry": geometry_to_geojson(cell.polygon),
                "properties": {"code": code, "name": name, "valid_from": EFFECTIVE.isoformat()},
            }
        )
    return features


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def build_demo_city(*, scale: float, seed: int, progress: Progress = print) -> DemoCity:
    """Generate and load the demo city into an empty database."""
    if GridNode.objects.exists():
        raise ValueError("The database already holds grids; the demo city is built into an empty one.")
    plans, names = plan_city(scale, seed)
    progress(
        f"Generating geometry: {len(plans)} towns/streets, "
        f"{sum(len(p.children) for p in plans)} villages/communities, "
        f"{sum(c.grids for p in plans for c in p.children)} base grids…"
    )
    full_tree = build_tree(plans, seed=seed, root_key=CITY_CODE)
    features = _features(full_tree, names)
    # 多网合一: one fire-safety grid per town/street, answered for by its fire station.
    for town in full_tree.children:
        features.append(
            {
                "type": "Feature",
                "geometry": geometry_to_geojson(town.polygon),
                "properties": {
                    "code": f"FIRE-{town.key}",
                    "name": f"{names.get(town.key, town.key)}消防网格",
                    "layer": "fire",
                    "parent_code": town.key,
                    "valid_from": EFFECTIVE.isoformat(),
                },
            }
        )
    if len(plans) < 32:
        # A partial city: the city is the union of the towns that were built.
        union = shapely.union_all([town.polygon for town in full_tree.children])
        features[0]["geometry"] = geometry_to_geojson(union)
    progress(f"Validating and importing {len(features)} grids…")
    root = User.objects.create_superuser(username="admin", password=DEMO_PASSWORD, display_name="系统管理员")
    grid_import_geojson(
        actor=root,
        data={"type": "FeatureCollection", "features": features},
        origin=Origin.cli(),
        effective_at=EFFECTIVE,
        reason="演示城市",
    )
    progress("Loading the case categories and the working calendar…")
    load_default_categories(origin=Origin.cli())
    calendar_seed(origin=Origin.cli())
    progress("Creating departments and staff…")
    with transaction.atomic():
        logins, workers, unstaffed = _staff(root, seed)
    sample = max(20, round(400 * scale))
    progress(f"Reporting {sample} sample cases and walking them through the workflow…")
    generate_demo_cases(count=sample, seed=seed, progress=lambda m: progress(f"  {m}"))
    grids = GridNode.objects.filter(level="grid").count()
    return DemoCity(
        towns=len(plans),
        communities=sum(len(p.children) for p in plans),
        grids=grids,
        workers=workers,
        unstaffed=unstaffed,
        logins=logins,
    )


def _staff(root: User, seed: int) -> tuple[list[DemoLogin], int, int]:
    rng = random.Random(seed + 1)
    city = GridNode.objects.get(code=CITY_CODE, valid_to__isnull=True)
    start = date(2018, 1, 1)
    departments = [
        Department(code=code, name=name, kind=kind, jurisdiction=city)
        for code, name, kind in CITY_DEPARTMENTS
    ]
    Department.objects.bulk_create(departments)
    towns = list(GridNode.objects.filter(level="town", valid_to__isnull=True).order_by("code"))
    town_teams = _town_teams(towns)
    first_town = towns[0]
    first_community = GridNode.objects.filter(parent=first_town).order_by("code").first()
    first_grid = GridNode.objects.filter(parent=first_community).order_by("code").first()
    assert first_community is not None and first_grid is not None

    password = make_password(DEMO_PASSWORD)
    logins = [
        ("city", "市级指挥员", Role.CITY_COMMANDER, city, None),
        ("town", f"{first_town.name}指挥员", Role.TOWN_COMMANDER, first_town, None),
        ("community", f"{first_community.name}调度员", Role.COMMUNITY_DISPATCHER, first_community, None),
        ("worker", "演示网格员", Role.GRID_WORKER, first_grid, None),
        ("handler", f"{town_teams[0].name}处置员", Role.DEPARTMENT_HANDLER, None, town_teams[0]),
        ("leader", "市领导", Role.LEADER, city, None),
    ]
    result = [DemoLogin("admin", Role.ADMINISTRATOR, city.name)]
    RoleAssignment.objects.create(user=root, role=Role.ADMINISTRATOR, grid=city, starts_on=start)
    for username, display, role, grid, department in logins:
        user = User.objects.create(username=username, display_name=display, password=password)
        RoleAssignment.objects.create(
            user=user,
            role=role,
            grid=grid,
            department=department,
            starts_on=start,
            worker_kind=WorkerKind.FULL_TIME if role == Role.GRID_WORKER else "",
        )
        result.append(DemoLogin(username, role, grid.name if grid else department.name))  # type: ignore[union-attr]

    # One worker per base grid (一格一员), except about 3% left vacant to show the gap report.
    grids = list(
        GridNode.objects.filter(level="grid", valid_to__isnull=True)
        .exclude(pk=first_grid.pk)
        .order_by("code")
    )
    kinds = rng.choices(
        [WorkerKind.FULL_TIME, WorkerKind.PART_TIME, WorkerKind.PROFESSIONAL],
        weights=[80, 15, 5],
        k=len(grids),
    )
    vacant = rng.sample(range(len(grids)), k=max(1, len(grids) * 3 // 100)) if grids else []
    vacant_set = set(vacant)
    staffed = [(g, k) for i, (g, k) in enumerate(zip(grids, kinds, strict=True)) if i not in vacant_set]
    users = User.objects.bulk_create(
        User(username=f"w{grid.code}", display_name=_person_name(rng), password=password)
        for grid, _ in staffed
    )
    RoleAssignment.objects.bulk_create(
        RoleAssignment(user=user, role=Role.GRID_WORKER, grid=grid, worker_kind=kind, starts_on=start)
        for user, (grid, kind) in zip(users, staffed, strict=True)
    )
    # One handler for every department, so that every dispatched case has someone to sign it.
    for index, department in enumerate(Department.objects.exclude(pk=town_teams[0].pk).order_by("code")):
        handler = User.objects.create(
            username=f"h{index + 1:03d}", display_name=f"{department.name}处置员", password=password
        )
        RoleAssignment.objects.create(
            user=handler, role=Role.DEPARTMENT_HANDLER, department=department, starts_on=start
        )
    return result, len(users) + 1, len(vacant_set)


def _town_teams(towns: list[GridNode]) -> list[Department]:
    """Each town/street's law-enforcement team (综合执法队) and fire station (消防救援站)."""
    teams = []
    for town in towns:
        urban = Department.objects.create(
            code=f"{town.code}-URBAN",
            name=f"{town.name}综合执法队",
            kind=DepartmentKind.URBAN,
            jurisdiction=town,
        )
        fire = Department.objects.create(
            code=f"{town.code}-FIRE",
            name=f"{town.name}消防救援站",
            kind=DepartmentKind.FIRE,
            jurisdiction=town,
        )
        fire.overlay_grids.set(GridNode.objects.filter(layer="fire", parent=town, valid_to__isnull=True))
        teams.append(urban)
    return teams
