"""The dashboard in chromium: a leader sees the headline figures and both ECharts charts drawn."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard import conftest as dashboard_fixtures
from tests.dashboard.conftest import Mix, build_mix
from zhiwang.accounts.models import Role, User
from zhiwang.cases.models import Case

pytestmark = pytest.mark.django_db(transaction=True)
categories = dashboard_fixtures.categories
place = dashboard_fixtures.place
mix = dashboard_fixtures.mix


def test_a_leader_sees_the_figures_and_the_charts(
    mix: Mix,
    make_user: Callable[..., User],
    desktop: Any,
    sign_in: Any,
    shoot: Callable[[Any, str], Path],
) -> None:
    build_mix(mix, count=45, seed=11)
    leader = make_user(Role.LEADER, grid=mix.place.city["441900"])
    sign_in(desktop, leader)
    page = desktop.new_page()
    page.goto("/console/dashboard/?month=2026-03")
    page.wait_for_selector("#trend-chart canvas")
    page.wait_for_selector("#children-chart canvas")
    assert page.locator("body").get_attribute("data-charts-ready") == "2"
    march = Case.objects.filter(reported_at__month=3).count()
    assert page.locator(".kpi-value").first.inner_text() == str(march)
    assert page.locator("table.ranking").first.locator("tbody tr").count() == 2
    shoot(page, "dashboard")
    # Down to a town: its communities are ranked, the period is kept.
    page.locator("table.ranking").first.get_by_text("东城街道").click()
    page.wait_for_selector("#children-chart canvas")
    assert "month=2026-03" in page.url
    assert page.locator("h1").inner_text().startswith("东城街道")
    shoot(page, "dashboard-town")


def test_a_wrong_month_is_refused_in_the_page_and_kept_in_the_field(
    mix: Mix,
    desktop: Any,
    sign_in: Any,
    shoot: Callable[[Any, str], Path],
) -> None:
    sign_in(desktop, mix.place.city_commander)
    page = desktop.new_page()
    response = page.goto("/console/dashboard/?start=2026-03-09&end=2026-03-01")
    assert response.status == 400
    assert page.locator('[role="alert"]').count() == 1
    assert page.locator("#id_start").input_value() == "2026-03-09"
    shoot(page, "dashboard-bad-period")


def test_a_grid_worker_is_refused(mix: Mix, desktop: Any, sign_in: Any) -> None:
    sign_in(desktop, mix.place.worker)
    page = desktop.new_page()
    response = page.goto("/console/dashboard/")
    assert response.status == 403
