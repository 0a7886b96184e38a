from __future__ import annotations

from collections.abc import Callable

import pytest

from zhiwang.accounts.models import Role, User
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode
from zhiwang.taxonomy import selectors
from zhiwang.taxonomy.services import ImportResult, load_default_categories


@pytest.fixture(autouse=True)
def _fresh_category_cache() -> None:
    selectors.clear_cache()


@pytest.fixture
def loaded(db: None) -> ImportResult:
    return load_default_categories(origin=Origin.system())


@pytest.fixture
def city_admin(city: dict[str, GridNode], make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMINISTRATOR, grid=city["441900"])


@pytest.fixture
def town_admin(city: dict[str, GridNode], make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMINISTRATOR, grid=city["441900003"])
