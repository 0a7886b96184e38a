"""A city with enterprise grids, staff on both sides, and registry objects built through services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client

from tests.registry.world import Side, build_side, enterprise_grids
from zhiwang.accounts.models import Role, User
from zhiwang.grids.models import GridNode


@dataclass
class Registry:
    grids: dict[str, GridNode]
    inside: Side
    outside: Side
    worker: User  # grid worker of 441900003001001 (inside)
    other_worker: User  # grid worker of 441900101001001 (outside)
    dispatcher: User  # community dispatcher of 441900003001
    town: User  # town commander of 441900003
    enterprise_worker: User  # grid worker of the enterprise grid ENT-DC-01
    superuser: User


@pytest.fixture
def reg(city: dict[str, GridNode], superuser: User, make_user: Callable[..., User]) -> Registry:
    grids = enterprise_grids(superuser)
    worker = make_user(Role.GRID_WORKER, grid=grids["441900003001001"], username="worker-a")
    other = make_user(Role.GRID_WORKER, grid=grids["441900101001001"], username="worker-b")
    return Registry(
        grids=grids,
        inside=build_side(superuser, True, worker, 1),
        outside=build_side(superuser, False, other, 2),
        worker=worker,
        other_worker=other,
        dispatcher=make_user(Role.COMMUNITY_DISPATCHER, grid=grids["441900003001"], username="dispatcher-a"),
        town=make_user(Role.TOWN_COMMANDER, grid=grids["441900003"], username="town-a"),
        enterprise_worker=make_user(Role.GRID_WORKER, grid=grids["ENT-DC-01"], username="enterprise-a"),
        superuser=superuser,
    )


@pytest.fixture
def console(api_client: Callable[[User | None], Client]) -> Callable[[User | None], Client]:
    """A signed-in client reading the console in English (so wording does not depend on the catalogue)."""

    def make(user: User | None) -> Client:
        client = api_client(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return make
