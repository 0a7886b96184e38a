"""Fixtures of the working-calendar tests: a calendar built straight from the package (no database)."""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from chinese_calendar.constants import holidays, workdays

from zhiwang.workcalendar import selectors
from zhiwang.workcalendar.hours import WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def package_calendar() -> WorkingCalendar:
    overrides = {day: False for day in holidays} | {day: True for day in workdays}
    return WorkingCalendar(overrides, published_years=range(2004, 2027))


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return package_calendar()


@pytest.fixture(autouse=True)
def _fresh_calendar_cache() -> Iterator[None]:
    selectors.clear_cache()
    yield
    selectors.clear_cache()
