"""The case console in chromium: a community dispatcher accepts and dispatches a report, a
department handler signs for it and reports the handling, all through htmx swaps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cases.conftest import category
from zhiwang.accounts.models import Department, Role, User
from zhiwang.cases import intake
from zhiwang.cases.models import Case, Status
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode

pytestmark = pytest.mark.django_db(transaction=True)

# Inside base grid 441900003001001 of the test city.
POINT = (113.62, 22.95)


def report(worker: User, description: str) -> Case:
    return intake.case_report(
        actor=worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description=description,
        address="东城街道主山社区沿河路 12 号",
        category_code="E0101",
        origin=Origin.cli(),
    ).case


def open_action(page: Any, action: str) -> Any:
    """Opens the action's fold in the panel and returns its form."""
    page.locator(f'details[data-action="{action}"] > summary').click()
    return page.locator(f'details[data-action="{action}"] form')


def test_a_report_is_accepted_dispatched_signed_and_handled(
    city: dict[str, GridNode],
    make_user: Callable[..., User],
    desktop: Any,
    sign_in: Callable[[Any, User], None],
    shoot: Callable[[Any, str], Path],
) -> None:
    street = category("E01", "市容环境")
    category("E0101", "暴露垃圾", street, time_limit=1, time_unit="working_days")
    urban = Department.objects.create(
        code="DC-URBAN", name="东城综合执法队", kind="urban", jurisdiction=city["441900003"]
    )
    worker = make_user(Role.GRID_WORKER, grid=city["441900003001001"], username="worker")
    dispatcher = make_user(Role.COMMUNITY_DISPATCHER, grid=city["441900003001"], username="dispatcher")
    handler = make_user(Role.DEPARTMENT_HANDLER, department=urban, username="handler")
    report(worker, "桥下有人倾倒建筑垃圾，堆了三四车")
    case = report(worker, "路边有一堆生活垃圾无人清理，气味很大")

    # The dispatcher opens the "to accept" queue and the newest report in it.
    sign_in(desktop, dispatcher)
    page = desktop.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/console/cases/")
    page.locator('a[data-queue="to_accept"]').click()
    page.wait_for_selector('#case-results[data-queue="to_accept"]')
    assert page.locator("table.cases tbody tr").count() == 2
    assert page.locator('a[data-queue="to_accept"] .count').inner_text() == "2"
    shoot(page, "console-cases-queue")
    # The filter form narrows the table in place (htmx) and keeps the address shareable.
    page.locator('select[name="channel"]').select_option("hotline")
    page.wait_for_selector("#case-results p.empty")
    assert "channel=hotline" in page.url and "queue=to_accept" in page.url
    page.locator('select[name="channel"]').select_option("")
    page.wait_for_selector(f'#case-results tr[data-case="{case.pk}"]')
    page.locator(f'tr[data-case="{case.pk}"] a').first.click()
    page.wait_for_selector('#case-map[data-ready="true"]')
    assert page.locator("#case-facts").get_by_text("暴露垃圾").is_visible()
    assert page.locator(".case-map path.leaflet-interactive").count() >= 1  # the grid outline and the point

    # Accept with the reported category, then dispatch to the town's urban team.
    form = open_action(page, "accept")
    form.locator("textarea").fill("现场核实属实")
    form.locator('button[type="submit"]').click()
    page.wait_for_selector('#case-facts[data-status="accepted"]')
    assert page.locator('#case-timeline li[data-kind="accept"]').count() == 1
    form = open_action(page, "dispatch")
    assert form.locator(".suggestion").get_by_text("东城综合执法队").is_visible()
    form.locator('select[name="dispatch-target"]').select_option(f"department:{urban.pk}")
    shoot(page, "console-cases-dispatch-form")
    form.locator('button[type="submit"]').click()
    page.wait_for_selector('#case-facts[data-status="dispatched"]')
    assert page.locator('#case-timeline li[data-kind="dispatch"]').get_by_text("东城综合执法队").is_visible()
    assert page.url.endswith(f"/console/cases/{case.pk}/")  # htmx swapped the parts, no reload
    shoot(page, "console-cases-dispatched")

    # The handler finds it in their first queue, signs for it and reports the handling.
    desktop.clear_cookies()
    sign_in(desktop, handler)
    page.goto("/console/cases/")
    page.wait_for_selector('#case-results[data-queue="to_sign"]')
    page.locator(f'tr[data-case="{case.pk}"] a').first.click()
    page.locator('form[data-action="sign"] button').click()
    page.wait_for_selector('#case-facts[data-status="signed"]')
    form = open_action(page, "handle")
    form.locator('textarea[name="handle-result"]').fill("已组织清运，路面已冲洗干净")
    form.locator('button[type="submit"]').click()
    page.wait_for_selector('#case-facts[data-status="handled"]')
    assert (
        page.locator('#case-timeline li[data-kind="handle"]')
        .get_by_text("已组织清运，路面已冲洗干净")
        .is_visible()
    )
    shoot(page, "console-cases-handled")

    assert errors == []
    case.refresh_from_db()
    assert case.status == Status.HANDLED and case.department == urban and case.handler == handler
    kinds = list(case.events.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["report", "accept", "dispatch", "sign", "handle"]


def test_a_refused_action_keeps_the_text_in_the_browser(
    city: dict[str, GridNode],
    make_user: Callable[..., User],
    desktop: Any,
    sign_in: Callable[[Any, User], None],
) -> None:
    street = category("E01", "市容环境")
    category("E0101", "暴露垃圾", street, time_limit=1, time_unit="working_days")
    worker = make_user(Role.GRID_WORKER, grid=city["441900003001001"])
    dispatcher = make_user(Role.COMMUNITY_DISPATCHER, grid=city["441900003001"])
    case = intake.case_report(
        actor=worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description="井盖缺失",
        origin=Origin.cli(),
    ).case
    sign_in(desktop, dispatcher)
    page = desktop.new_page()
    page.goto(f"/console/cases/{case.pk}/")
    form = open_action(page, "accept")
    form.locator("textarea").fill("请先分类再受理")
    form.locator('button[type="submit"]').click()
    page.wait_for_selector('#case-actions .error-box[data-status="400"]')
    assert page.locator('details[data-action="accept"] textarea').input_value() == "请先分类再受理"
    case.refresh_from_db()
    assert case.status == Status.REPORTED
