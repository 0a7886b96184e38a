"""The grid map console renders in chromium with the grid tree and Chinese labels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zhiwang.accounts.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_map_console_draws_the_city_for_a_commander(
    city: Any, make_user: Callable[..., Any], desktop: Any, sign_in: Any, shoot: Callable[[Any, str], Path]
) -> None:
    commander = make_user(Role.CITY_COMMANDER, grid=city["441900"])
    sign_in(desktop, commander)
    page = desktop.new_page()
    with page.expect_response(lambda r: r.url.endswith("children.geojson")) as answer:
        page.goto("/console/")
    assert answer.value.status == 200
    page.wait_for_selector("canvas.leaflet-zoom-animated")
    # The side panel lists both towns by their Chinese names.
    assert page.get_by_text("东城街道").first.is_visible()
    assert page.get_by_text("虎门镇").first.is_visible()
    shoot(page, "console-map")
