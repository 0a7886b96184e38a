"""The calendar in the database: the seeded years, the cached calendar, publishing a new year."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.workcalendar.conftest import SHANGHAI
from zhiwang.accounts.models import Role, User
from zhiwang.common.errors import PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode
from zhiwang.workcalendar import selectors
from zhiwang.workcalendar.models import CalendarDay, CalendarYear
from zhiwang.workcalendar.selectors import calendar_year, working_calendar
from zhiwang.workcalendar.services import calendar_publish_year

pytestmark = pytest.mark.django_db

SPRING_FESTIVAL_2027 = [(date(2027, 2, 6), date(2027, 2, 13), "春节")]
MAKEUP_2027 = [(date(2027, 2, 14), "调休上班")]  # a Sunday


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def test_the_migration_seeded_2004_to_2026_from_the_package() -> None:
    assert list(CalendarYear.objects.values_list("year", flat=True)) == list(range(2004, 2027))
    assert set(CalendarYear.objects.values_list("source", flat=True)) == {"chinese_calendar"}
    calendar = working_calendar()
    day = date(2004, 1, 1)
    while day <= date(2026, 12, 31):
        assert calendar.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
    assert not calendar.is_published(2027)


def test_seeded_names() -> None:
    names = dict(CalendarDay.objects.values_list("day", "name"))
    assert names[date(2026, 2, 15)] == "春节"
    assert names[date(2026, 2, 14)] == "春节调休上班"
    assert names[date(2026, 10, 1)] == "国庆节"
    assert names[date(2026, 9, 25)] == "中秋"
    assert names[date(2026, 9, 20)] == "国庆节调休上班"
    assert names[date(2026, 10, 10)] == "国庆节调休上班"
    assert date(2026, 10, 8) not in names  # an ordinary Thursday again
    assert names[date(2015, 9, 3)].startswith("中国人民抗日战争")


def test_spring_festival_2026_from_the_database() -> None:
    calendar = working_calendar()
    assert calendar.due_at(at(2026, 2, 13, 10), 1, "working_days") == at(2026, 2, 14, 10)
    assert calendar.due_at(at(2026, 2, 14, 16), 1, "working_days") == at(2026, 2, 24, 16)
    assert calendar.due_at(at(2026, 2, 13, 10), 15, "working_days") == at(2026, 3, 12, 10)
    assert calendar.due_at(at(2026, 2, 13, 16, 30), 5, "working_hours") == at(2026, 2, 14, 12)


def test_national_day_2026_from_the_database() -> None:
    days = {
        d.day: d for d in CalendarDay.objects.filter(day__gte=date(2026, 9, 19), day__lte=date(2026, 10, 11))
    }
    assert sorted(d for d, row in days.items() if not row.is_workday and d.month == 10) == [
        date(2026, 10, n) for n in range(1, 8)
    ]
    assert sorted(d for d, row in days.items() if row.is_workday) == [date(2026, 9, 20), date(2026, 10, 10)]
    calendar = working_calendar()
    assert calendar.is_workday(date(2026, 10, 8))
    assert calendar.due_at(at(2026, 9, 30, 10), 1, "working_days") == at(2026, 10, 8, 10)
    # Five working days from Friday 09-25 (中秋, off): 09-28, 09-29, 09-30, 10-08, 10-09.
    assert calendar.due_at(at(2026, 9, 25, 10), 5, "working_days") == at(2026, 10, 9, 18)


def test_a_2027_deadline_falls_back_then_moves_when_the_year_is_published(
    city: dict[str, GridNode], make_user: Callable[..., User]
) -> None:
    start = at(2027, 2, 5, 10)  # a Friday
    calendar = working_calendar()
    assert not calendar.is_published(2027)
    assert calendar.due_at(start, 1, "working_days") == at(2027, 2, 8, 10)  # Monday
    assert calendar.due_at(start, 15, "working_days") == at(2027, 2, 26, 10)
    admin = make_user(Role.ADMINISTRATOR, grid=city["441900"])
    calendar_publish_year(
        actor=admin,
        year=2027,
        holidays=SPRING_FESTIVAL_2027,
        makeup_workdays=MAKEUP_2027,
        origin=Origin.cli(),
        note="测试用安排",
    )
    calendar = working_calendar()  # rebuilt: the calendar changed
    assert calendar.is_published(2027)
    assert calendar.due_at(start, 1, "working_days") == at(2027, 2, 14, 10)  # the make-up Sunday
    # 02-14, 02-15…19, 02-22…26, 03-01…04: the 15th working day is Thursday 03-04.
    assert calendar.due_at(start, 15, "working_days") == at(2027, 3, 4, 10)
    assert calendar.working_seconds(start, at(2027, 2, 15, 10)) == 2 * 27_000


def test_an_edit_elsewhere_is_noticed_after_the_recheck_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = working_calendar()
    row = CalendarDay.objects.get(day=date(2026, 10, 7))
    row.is_workday = True  # as another process would, behind this one's services
    row.save()
    assert working_calendar() is first  # within the interval: no query, the cached calendar
    monkeypatch.setattr(selectors, "RECHECK_SECONDS", 0.0)
    assert working_calendar().is_workday(date(2026, 10, 7))


def test_the_calendar_is_cached_until_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "RECHECK_SECONDS", 0.0)  # check the version on every call
    first = working_calendar()
    assert working_calendar() is first
    row = CalendarDay.objects.get(day=date(2026, 10, 8 - 1))
    row.is_workday = True  # an edit behind the services' back is still noticed
    row.save()
    second = working_calendar()
    assert second is not first and second.is_workday(date(2026, 10, 7))
    row.delete()
    third = working_calendar()
    assert third is not second and third.is_workday(date(2026, 10, 7))  # a Wednesday, no longer named
    CalendarYear.objects.filter(year=2026).delete()
    assert not working_calendar().is_published(2026)
    assert working_calendar().is_workday(date(2026, 10, 1))  # the year fell back to Monday–Friday


def test_office_hours_come_from_the_setting(settings: object) -> None:
    settings.ZHIWANG_OFFICE_HOURS = "09:00-12:00,13:30-17:30"  # type: ignore[attr-defined]
    calendar = working_calendar()
    assert calendar.office_seconds_per_day == 7 * 3600
    assert calendar.due_at(at(2026, 3, 3, 11), 2, "working_hours") == at(2026, 3, 3, 14, 30)
    settings.ZHIWANG_OFFICE_HOURS = "nine to five"  # type: ignore[attr-defined]
    with pytest.raises(ImproperlyConfigured, match="ZHIWANG_OFFICE_HOURS"):
        working_calendar()


def test_reading_a_year(city: dict[str, GridNode], make_user: Callable[..., User], superuser: User) -> None:
    worker = make_user(Role.GRID_WORKER, grid=city["441900003001001"])
    year = calendar_year(actor=worker, year=2026)
    assert year.published and year.source == "chinese_calendar" and year.note.startswith("chinesecalendar")
    assert year.workday_count == 248
    assert year.office_hours == "08:30-12:00,14:00-18:00" and year.office_seconds_per_day == 27_000
    assert [d.day for d in year.days if d.is_workday] == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    unpublished = calendar_year(actor=superuser, year=2027)
    assert not unpublished.published and unpublished.source is None and unpublished.days == []
    assert unpublished.workday_count == 261  # Monday–Friday
    with pytest.raises(PermissionDenied):
        calendar_year(actor=make_user(), year=2026)  # no role
    with pytest.raises(PermissionDenied):
        calendar_year(actor=None, year=2026)
    with pytest.raises(ValidationFailed):
        calendar_year(actor=superuser, year=3000)
