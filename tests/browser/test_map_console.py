"""The grid map console renders in chromium with the grid tree and Chinese labels."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from tests.cases import conftest as case_fixtures
from zhiwang.accounts.models import Role

pytestmark = pytest.mark.django_db(transaction=True)
OVERDUE_COLOURS = {"#f3a1a1", "#de4b4b", "#9f1c1c"}
OPEN_COLOURS = {"#fde7a0", "#f7bd56", "#e8892b"}
categories = case_fixtures.categories
place = case_fixtures.place


def test_the_map_console_draws_the_city_for_a_commander(
    city: Any, make_user: Callable[..., Any], desktop: Any, sign_in: Any, shoot: Callable[[Any, str], Path]
) -> None:
    commander = make_user(Role.CITY_COMMANDER, grid=city["441900"])
    sign_in(desktop, commander)
    page = desktop.new_page()
    with page.expect_response(lambda r: "children.geojson" in r.url) as answer:
        page.goto("/console/")
    assert answer.value.status == 200
    page.wait_for_selector("canvas.leaflet-zoom-animated")
    # The side panel lists both towns by their Chinese names.
    assert page.get_by_text("东城街道").first.is_visible()
    assert page.get_by_text("虎门镇").first.is_visible()
    shoot(page, "console-map")


def test_the_map_colours_grids_by_their_cases_with_pins_and_a_heat_layer(
    place: Any, desktop: Any, sign_in: Any, shoot: Callable[[Any, str], Path]
) -> None:
    from tests.grids.test_map_views import build_cases

    cache.clear()
    build_cases(place)
    sign_in(desktop, place.city_commander)
    page = desktop.new_page()
    city = place.city["441900"]
    page.goto("/console/")
    page.wait_for_selector(f'body[data-map-ready="{city.pk}"]')
    page.wait_for_selector("body[data-pins-ready]")
    # 东城 has overdue cases: a red; 虎门 has open cases only: an amber; the legend explains both.
    dongcheng = page.locator(f'#children li[data-id="{place.city["441900003"].pk}"]')
    humen = page.locator(f'#children li[data-id="{place.city["441900101"].pk}"]')
    assert dongcheng.get_attribute("data-overdue") == "3"
    assert dongcheng.locator(".swatch").get_attribute("data-fill") in OVERDUE_COLOURS
    assert humen.get_attribute("data-open") == "2" and humen.get_attribute("data-overdue") == "0"
    assert humen.locator(".swatch").get_attribute("data-fill") in OPEN_COLOURS
    assert page.locator("#map-legend .legend-row").count() >= 3
    assert re.findall(r"\d+", page.locator("#case-meta").inner_text()) == ["9", "3"]  # open, overdue
    # The layer control switches the heat layer on.
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 0
    page.locator(".leaflet-control-layers-overlays label").nth(1).click()
    page.wait_for_selector("canvas.leaflet-heatmap-layer")
    shoot(page, "console-map-cases")
    # Every base grid of the city at once, coloured the same way.
    page.select_option("#level", "grid")
    page.wait_for_selector(f'body[data-map-ready="{city.pk}:grid"]')
    assert page.locator("body").get_attribute("data-map-features") == "8"
    first_grid = page.locator(f'#children li[data-id="{place.city["441900003001001"].pk}"]')
    assert first_grid.get_attribute("data-overdue") == "2"
    shoot(page, "console-map-base-grids")
    # Drilling into a town keeps the colours and redraws the legend.
    page.locator(f'#children li[data-id="{place.city["441900101001001"].pk}"] a').click()
    page.wait_for_selector(f'body[data-map-ready="{place.city["441900101001001"].pk}"]')
    assert page.locator("#node-title").inner_text() == "第1网格"
