"""The closed loop end to end, in chromium, each person on their own screen: a resident reports on the
portal; the community dispatcher accepts and dispatches on the console; the department handler
handles; the grid worker verifies in the phone app (and files a report made without a signal, sent
exactly once); the resident rates the outcome; the town's dashboard counts all of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from tests.browser.test_console_cases import open_action
from tests.browser.test_field import SYNC_TIMEOUT_MS, label, open_app, outbox_item
from tests.field.world import CATEGORY, make_crew
from zhiwang.accounts.models import Role, User
from zhiwang.cases.models import Case, Status
from zhiwang.grids.models import GridNode
from zhiwang.portal.abuse import challenge_read

pytestmark = pytest.mark.django_db(transaction=True)
Shoot = Callable[[Any, str], Path]


def headline(page: Any) -> dict[str, int]:
    """Reported, found and handled as the dashboard shows them (its first three figures)."""
    page.goto("/console/dashboard/")
    page.wait_for_selector("#trend-chart canvas")
    values = page.locator(".kpi-value").all_inner_texts()
    return {"reported": int(values[0]), "found": int(values[1]), "handled": int(values[2])}


def test_a_report_goes_round_the_whole_loop(
    city: dict[str, GridNode],
    make_user: Callable[..., User],
    phone: Any,
    another_phone: Any,
    desktop: Any,
    sign_in: Callable[[Any, User], None],
    shoot: Shoot,
    settings: Any,
) -> None:
    settings.ZHIWANG_PORTAL_MIN_FILL_SECONDS = 0
    cache.clear()
    crew = make_crew(city, make_user)
    commander = make_user(Role.TOWN_COMMANDER, grid=city["441900003"], username="town")

    # 1. A resident reports from a phone, with the pin at the phone's position.
    resident = phone.new_page()
    resident.goto("/resident/")
    resident.wait_for_selector("body[data-pin='located']")
    resident.fill("#id_description", "小区门口的路灯坏了一个星期，晚上很黑")
    resident.select_option("#id_category", CATEGORY)
    resident.fill("#id_phone", "13912345678")
    challenge = challenge_read(resident.input_value("input[name='challenge']"))
    assert challenge is not None
    resident.fill("#id_answer", str(challenge.a + challenge.b))
    resident.tap("#send")
    resident.wait_for_selector("#tracking-code")
    case = Case.objects.get(channel="resident")
    assert resident.text_content("#tracking-code") == case.tracking_code
    shoot(resident, "loop-1-resident-reported")

    sign_in(desktop, commander)
    console = desktop.new_page()
    assert headline(console) == {"reported": 1, "found": 0, "handled": 0}
    shoot(console, "loop-2-dashboard-before")

    # 2. The community dispatcher accepts it and dispatches it to the town's urban team.
    desktop.clear_cookies()
    sign_in(desktop, crew.dispatcher)
    console.goto("/console/cases/?queue=to_accept")
    console.locator(f'tr[data-case="{case.pk}"] a').first.click()
    open_action(console, "accept").locator('button[type="submit"]').click()
    console.wait_for_selector('#case-facts[data-status="accepted"]')
    form = open_action(console, "dispatch")
    form.locator('select[name="dispatch-target"]').select_option(f"department:{crew.department.pk}")
    form.locator('button[type="submit"]').click()
    console.wait_for_selector('#case-facts[data-status="dispatched"]')
    shoot(console, "loop-3-dispatched")

    # 3. The department handler signs for it and reports the handling.
    desktop.clear_cookies()
    sign_in(desktop, crew.handler)
    console.goto(f"/console/cases/{case.pk}/")
    console.locator('form[data-action="sign"] button').click()
    console.wait_for_selector('#case-facts[data-status="signed"]')
    form = open_action(console, "handle")
    form.locator('textarea[name="handle-result"]').fill("已更换路灯灯泡，夜间照明恢复")
    form.locator('button[type="submit"]').click()
    console.wait_for_selector('#case-facts[data-status="handled"]')
    shoot(console, "loop-4-handled")

    # 4. The grid worker of that grid verifies it in the phone app...
    worker = open_app(another_phone, sign_in, crew.worker)
    task = worker.locator(f"#verify-list li[data-case-id='{case.pk}']")
    expect(task).to_contain_text("路灯坏了")
    task.locator("a").click()
    worker.locator("#verify-form input[value='yes']").check()
    worker.locator("#verify-form button[type=submit]").click()
    expect(worker.locator("#notice")).to_have_text(label("verified_passed"))
    shoot(worker, "loop-5-verified")

    # ... and files a report while out of signal: it waits, then goes out exactly once.
    worker.goto("/field/#report")
    expect(worker.locator("#report-form")).to_have_attribute("data-located", "true")
    another_phone.set_offline(True)
    worker.fill("#report-description", "河道护栏断了一段，有落水危险")
    worker.click("#report-submit")
    item = outbox_item(worker, "河道护栏断了一段")
    expect(item).to_have_attribute("data-state", "queued")
    shoot(worker, "loop-6-offline-queued")
    another_phone.set_offline(False)
    expect(item).to_have_attribute("data-state", "sent", timeout=SYNC_TIMEOUT_MS)
    assert Case.objects.filter(description="河道护栏断了一段，有落水危险").count() == 1
    shoot(worker, "loop-7-offline-sent")

    # 5. The resident follows the report and rates the outcome: satisfied, the case closes.
    resident.goto(f"/resident/track/{case.tracking_code}/")
    resident.locator("input[name='rating'][value='5']").check()
    resident.locator("#rate button[type='submit']").click()
    resident.wait_for_selector("#rated")
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.rating == 5
    shoot(resident, "loop-8-resident-rated")

    # 6. The town's dashboard counts both reports, the accepted one, and its handling.
    desktop.clear_cookies()
    sign_in(desktop, commander)
    assert headline(console) == {"reported": 2, "found": 1, "handled": 1}
    shoot(console, "loop-9-dashboard-after")
    kinds = list(case.events.order_by("at", "id").values_list("kind", flat=True))
    assert kinds == ["report", "accept", "dispatch", "sign", "handle", "verify_pass", "close"]
