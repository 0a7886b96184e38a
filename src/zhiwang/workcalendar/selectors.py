"""Reads of the working calendar.

`working_calendar()` is what every deadline computation uses: a `hours.WorkingCalendar` built from
the database once per process and rebuilt when the calendar changes (any added, changed or removed
`CalendarDay`/`CalendarYear` row, or other office hours). Checking costs one small query; code
that counts office time for many cases in a loop should call it once and reuse the result.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from zhiwang.accounts.permissions import require_staff_role
from zhiwang.common.errors import ValidationFailed
from zhiwang.workcalendar.hours import (
    DEFAULT_OFFICE_HOURS_TEXT,
    OfficeHours,
    WorkingCalendar,
    format_office_hours,
    parse_office_hours,
)
from zhiwang.workcalendar.models import FIRST_YEAR, LAST_YEAR, CalendarDay, CalendarYear

Actor = AbstractBaseUser | AnonymousUser | None
OFFICE_HOURS_SETTING = "ZHIWANG_OFFICE_HOURS"

_lock = threading.Lock()
_cache: dict[tuple[Any, ...], WorkingCalendar] = {}


@functools.lru_cache(maxsize=8)
def _parse_setting(text: str) -> OfficeHours:
    try:
        return parse_office_hours(text)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{OFFICE_HOURS_SETTING}={text!r}: {exc}") from exc


def office_hours_setting() -> OfficeHours:
    """`settings.ZHIWANG_OFFICE_HOURS`, e.g. "08:30-12:00,14:00-18:00" (comma-separated HH:MM-HH:MM)."""
    return _parse_setting(str(getattr(settings, OFFICE_HOURS_SETTING, DEFAULT_OFFICE_HOURS_TEXT)))


def _calendar_version() -> tuple[Any, ...]:
    """Changes whenever a calendar row is added, changed or removed (one query)."""
    days = connection.ops.quote_name(CalendarDay._meta.db_table)
    years = connection.ops.quote_name(CalendarYear._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM {days}), (SELECT MAX(id) FROM {days}), "  # noqa: S608
            f"(SELECT MAX(updated_at) FROM {days}), (SELECT COUNT(*) FROM {years}), "
            f"(SELECT MAX(id) FROM {years}), (SELECT MAX(updated_at) FROM {years})"
        )
        row = cursor.fetchone()
    return tuple(row) if row is not None else ()


def _build(office_hours: OfficeHours) -> WorkingCalendar:
    return WorkingCalendar(
        overrides=dict(CalendarDay.objects.values_list("day", "is_workday")),
        published_years=CalendarYear.objects.values_list("year", flat=True),
        office_hours=office_hours,
        time_zone=settings.TIME_ZONE,
    )


# Another process's change is noticed within this many seconds; this process's own changes clear
# the cache on commit. Arrangements change once a year, deadlines are computed on every request.
RECHECK_SECONDS = 5.0
_last_check: list[float] = [float("-inf")]


def working_calendar() -> WorkingCalendar:
    """The working calendar as the database has it now (cached per process)."""
    office_hours = office_hours_setting()
    now = time.monotonic()
    with _lock:
        if _cache and now - _last_check[0] < RECHECK_SECONDS:
            cached = next(iter(_cache.items()))
            if cached[0][-2:] == (office_hours, settings.TIME_ZONE):
                return cached[1]
    key = (*_calendar_version(), office_hours, settings.TIME_ZONE)
    with _lock:
        calendar = _cache.get(key)
        _last_check[0] = now
    if calendar is not None:
        return calendar
    calendar = _build(office_hours)
    with _lock:
        _cache.clear()  # only the newest calendar is worth keeping
        _cache[key] = calendar
    return calendar


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _last_check[0] = float("-inf")


@dataclass(frozen=True)
class YearArrangement:
    """One year as the calendar has it: published (and by whom) or falling back to Monday–Friday."""

    year: int
    published: bool
    source: str | None
    note: str
    published_at: datetime | None
    days: list[CalendarDay]
    workday_count: int
    office_hours: str
    office_seconds_per_day: int


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(
            f"The year must lie between {FIRST_YEAR} and {LAST_YEAR}.",
            code="bad_year",
            details={"year": year},
        )


def calendar_year(*, actor: Actor, year: int) -> YearArrangement:
    """The special days of `year` and whether its arrangement is published (any staff role)."""
    require_staff_role(actor)
    check_year(year)
    row = CalendarYear.objects.filter(year=year).first()
    days = (
        list(CalendarDay.objects.filter(day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)))
        if row is not None
        else []  # days of a year that is not published do not count
    )
    calendar = working_calendar()
    return YearArrangement(
        year=year,
        published=row is not None,
        source=row.source if row is not None else None,
        note=row.note if row is not None else "",
        published_at=row.published_at if row is not None else None,
        days=days,
        workday_count=calendar.workday_count(date(year, 1, 1), date(year, 12, 31)),
        office_hours=format_office_hours(calendar.office_hours),
        office_seconds_per_day=calendar.office_seconds_per_day,
    )
