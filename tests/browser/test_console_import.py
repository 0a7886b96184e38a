"""A community's grid worker imports the door plates, buildings and rooms of their grid from an Excel
file on the console, and watches the page follow the import until it is applied, in chromium."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from zhiwang.accounts.models import Role, User
from zhiwang.registry.importing import jobs
from zhiwang.registry.models import Address, ImportJob, Room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _workbook() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["街路巷", "门牌号", "经度", "纬度", "楼栋", "楼层数", "单元", "室号"])
    for number in ("101", "102", "201"):
        sheet.append(["东城大道", "18号", 113.62, 22.95, "1栋", 6, "1", number])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_grid_worker_imports_places_and_follows_the_import(
    city: Any,
    make_user: Callable[..., User],
    desktop: Any,
    sign_in: Callable[[Any, User], None],
    shoot: Callable[[Any, str], Path],
) -> None:
    worker = make_user(Role.GRID_WORKER, grid=city["441900003001001"])
    sign_in(desktop, worker)
    page = desktop.new_page()
    page.goto("/console/registry/imports/")
    assert page.text_content("h2#import-title") == "导入文件"
    page.select_option("#id_kind", "places")
    page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "东城大道18号.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": _workbook(),
            }
        ],
    )
    page.click(".import-upload form button[type='submit']")
    page.wait_for_selector("#import-job[data-status='queued']")
    assert "正在等待后台任务开始导入" in page.text_content("#import-job")
    shoot(page, "console-import-queued")

    job = ImportJob.objects.get()
    assert jobs.job_run(job.pk) == "done"  # what `zhiwang worker` does with the queued task

    # The page asks again every two seconds and shows the outcome without a reload.
    page.wait_for_selector("#import-job[data-batch-status='applied']")
    outcome = page.text_content("#import-job")
    assert "已导入 3 行。" in outcome
    assert page.text_content("li[data-added='rooms']").strip() == "房屋: 3"
    assert Address.objects.filter(road="东城大道", door_number="18号").count() == 1
    assert Room.objects.filter(building__address__door_number="18号").count() == 3
    shoot(page, "console-import-applied")
    page.click("text=导入另一个文件")
    assert page.locator(f"tr[data-job='{job.pk}']").count() == 1
