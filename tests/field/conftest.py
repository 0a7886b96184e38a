from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.field.world import Crew, make_crew
from zhiwang.accounts.models import User
from zhiwang.grids.models import GridNode


@pytest.fixture
def crew(city: dict[str, GridNode], make_user: Callable[..., User]) -> Crew:
    return make_crew(city, make_user)
