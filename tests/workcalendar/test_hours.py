"""`hours.WorkingCalendar` on its own: no database, the package's data loaded directly."""

from __future__ import annotations

import random
import time as clock
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import chinese_calendar
import pytest

from tests.workcalendar.conftest import SHANGHAI
from zhiwang.workcalendar.hours import (
    DEFAULT_OFFICE_HOURS,
    WorkingCalendar,
    format_office_hours,
    parse_office_hours,
)

DAY = 27_000  # 7.5 office hours


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def reference_seconds(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Office time the slow, obvious way: day by day, period by period."""
    start, end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    total = timedelta()
    day = start.date()
    while day <= end.date():
        if calendar.is_workday(day):
            for first, last in calendar.office_hours:
                low = max(start, datetime.combine(day, first, SHANGHAI))
                high = min(end, datetime.combine(day, last, SHANGHAI))
                if high > low:
                    total += high - low
        day += timedelta(days=1)
    return total // timedelta(seconds=1)


def in_office(calendar: WorkingCalendar, moment: datetime) -> bool:
    """Inside an office period of a working day, its end included and its start excluded."""
    local = moment.astimezone(SHANGHAI)
    return calendar.is_workday(local.date()) and any(
        first < local.time() <= last for first, last in calendar.office_hours
    )


# --- the calendar ---------------------------------------------------------------------------------


def test_the_package_calendar_agrees_with_the_package_on_every_day(calendar: WorkingCalendar) -> None:
    day = date(2004, 1, 1)
    while day <= date(2026, 12, 31):
        assert calendar.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_spring_festival_2026(calendar: WorkingCalendar) -> None:
    assert calendar.is_workday(date(2026, 2, 13))  # Friday
    assert calendar.is_workday(date(2026, 2, 14))  # Saturday, make-up working day
    for offset in range(9):
        assert not calendar.is_workday(date(2026, 2, 15) + timedelta(days=offset))  # 02-15 … 02-23
    assert calendar.is_workday(date(2026, 2, 24))
    assert not calendar.is_workday(date(2026, 2, 21))  # a Saturday inside the holiday
    assert calendar.is_workday(date(2026, 2, 28))  # Saturday, make-up working day
    assert not calendar.is_workday(date(2026, 3, 1))  # an ordinary Sunday
    assert calendar.workday_count(date(2026, 2, 1), date(2026, 2, 28)) == 20 - 6 + 2  # 02-16…20 and 02-23 off
    assert calendar.workday_count(date(2026, 1, 1), date(2026, 12, 31)) == 248


def test_years_not_published_follow_monday_to_friday() -> None:
    # An override in a year that is not published does not count.
    calendar = WorkingCalendar({date(2027, 2, 8): False, date(2026, 1, 1): False}, published_years=[2026])
    assert calendar.is_workday(date(2027, 2, 8))
    assert not calendar.is_workday(date(2026, 1, 1))
    assert calendar.is_published(2026) and not calendar.is_published(2027)
    assert not calendar.is_workday(date(2027, 2, 6)) and calendar.is_workday(date(2027, 2, 5))


# --- budgets and deadlines --------------------------------------------------------------------------


def test_budgets(calendar: WorkingCalendar) -> None:
    assert calendar.office_seconds_per_day == DAY
    assert calendar.budget_seconds(1, "working_days") == DAY
    assert calendar.budget_seconds(15, "working_days") == 15 * DAY
    assert calendar.budget_seconds(0.5, "working_days") == DAY // 2
    assert calendar.budget_seconds(5, "working_hours") == 18_000
    assert calendar.budget_seconds(Decimal("1.5"), "working_hours") == 5_400
    with pytest.raises(ValueError, match="unit"):
        calendar.budget_seconds(1, "calendar_days")
    with pytest.raises(ValueError, match="non-negative"):
        calendar.budget_seconds(-1, "working_days")
    with pytest.raises(ValueError, match="non-negative"):
        calendar.budget_seconds(float("nan"), "working_hours")


def test_one_working_day_from_friday_before_the_festival_ends_on_the_make_up_saturday(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.due_at(at(2026, 2, 13, 10), 1, "working_days") == at(2026, 2, 14, 10)


def test_one_working_day_from_the_make_up_saturday_afternoon_runs_past_the_festival(
    calendar: WorkingCalendar,
) -> None:
    # 2 h left on Saturday 02-14, then 5.5 h on Tuesday 02-24: 3.5 h in the morning, 2 h after lunch.
    due = calendar.due_at(at(2026, 2, 14, 16), 1, "working_days")
    assert due == at(2026, 2, 24, 16)
    assert calendar.working_seconds(at(2026, 2, 14, 16), due) == DAY


def test_working_hours_across_lunch_and_evenings(calendar: WorkingCalendar) -> None:
    # Tuesday 03-03, 11:00: 1 h before lunch, 4 h after: exactly the end of the day, which stays.
    assert calendar.due_at(at(2026, 3, 3, 11), 5, "working_hours") == at(2026, 3, 3, 18)
    # 17:00: 1 h that evening, 3.5 h the next morning, 0.5 h after lunch.
    assert calendar.due_at(at(2026, 3, 3, 17), 5, "working_hours") == at(2026, 3, 4, 14, 30)
    # Friday before the festival, 16:30: 1.5 h, then 3.5 h on the make-up Saturday: ends at 12:00.
    assert calendar.due_at(at(2026, 2, 13, 16, 30), 5, "working_hours") == at(2026, 2, 14, 12)
    # Reported at lunch, in the evening, at night or on a Sunday: counted from the next period.
    assert calendar.due_at(at(2026, 3, 3, 12, 30), 1, "working_hours") == at(2026, 3, 3, 15)
    assert calendar.due_at(at(2026, 3, 3, 20), 1, "working_hours") == at(2026, 3, 4, 9, 30)
    assert calendar.due_at(at(2026, 3, 4, 3), 1, "working_hours") == at(2026, 3, 4, 9, 30)
    assert calendar.due_at(at(2026, 3, 1, 10), 1, "working_hours") == at(2026, 3, 2, 9, 30)
    # During the festival: the first working morning after it.
    assert calendar.due_at(at(2026, 2, 18, 10), 5, "working_hours") == at(2026, 2, 24, 15, 30)
    # A deadline at the end of the morning stays at 12:00, not 14:00.
    assert calendar.due_at(at(2026, 3, 3, 8, 30), 3.5, "working_hours") == at(2026, 3, 3, 12)


def test_fifteen_working_days_across_the_festival(calendar: WorkingCalendar) -> None:
    # 02-14 (Sat), 02-24…27, 02-28 (Sat), 03-02…06, 03-09…12: the 15th working day is Thursday 03-12.
    due = calendar.due_at(at(2026, 2, 13, 10), 15, "working_days")
    assert due == at(2026, 3, 12, 10)
    assert calendar.working_seconds(at(2026, 2, 13, 10), due) == 15 * DAY
    # Plain Monday–Friday would have said Friday 03-06.
    plain = WorkingCalendar()
    assert plain.due_at(at(2026, 2, 13, 10), 15, "working_days") == at(2026, 3, 6, 10)


def test_national_day_2026(calendar: WorkingCalendar) -> None:
    # The package: 10-01 … 10-07 off; Sunday 09-20 and Saturday 10-10 are make-up working days;
    # Thursday 10-08 is an ordinary working day again.
    for day in range(1, 8):
        assert not calendar.is_workday(date(2026, 10, day))
    assert calendar.is_workday(date(2026, 10, 8))
    assert calendar.is_workday(date(2026, 9, 20)) and calendar.is_workday(date(2026, 10, 10))
    assert calendar.due_at(at(2026, 9, 30, 10), 1, "working_days") == at(2026, 10, 8, 10)
    assert calendar.due_at(at(2026, 9, 30, 17), 2, "working_hours") == at(2026, 10, 8, 9, 30)


def test_working_seconds(calendar: WorkingCalendar) -> None:
    # Friday 10:00 → Saturday (make-up) whole day → festival → Tuesday 10:00: 6 h + 7.5 h + 1.5 h.
    assert calendar.working_seconds(at(2026, 2, 13, 10), at(2026, 2, 24, 10)) == 15 * 3600
    assert calendar.working_seconds(at(2026, 3, 3, 11), at(2026, 3, 3, 15)) == 2 * 3600
    assert calendar.working_seconds(at(2026, 3, 3, 12, 10), at(2026, 3, 3, 13, 50)) == 0
    assert calendar.working_seconds(at(2026, 3, 3, 15), at(2026, 3, 3, 11)) == 0
    assert calendar.working_seconds(at(2026, 3, 3, 15), at(2026, 3, 3, 15)) == 0
    assert calendar.working_seconds(at(2026, 2, 16, 9), at(2026, 2, 16, 17)) == 0  # festival
    assert calendar.working_seconds(at(2026, 1, 1), at(2027, 1, 1)) == 248 * DAY
    # A second off an office boundary.
    assert calendar.working_seconds(at(2026, 3, 3, 11, 59, 59), at(2026, 3, 3, 14, 0, 1)) == 2


def test_other_time_zones_in_shanghai_out(calendar: WorkingCalendar) -> None:
    start = datetime(2026, 2, 13, 2, tzinfo=UTC)  # 10:00 in Shanghai
    due = calendar.due_at(start, 1, "working_days")
    assert due == at(2026, 2, 14, 10) and due.tzinfo == SHANGHAI
    assert calendar.working_seconds(start, datetime(2026, 2, 13, 3, tzinfo=UTC)) == 3600


def test_zero_budget_is_the_start_itself(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_seconds(at(2026, 3, 1, 10), 0) == at(2026, 3, 1, 10)
    with pytest.raises(ValueError, match="negative"):
        calendar.add_working_seconds(at(2026, 3, 1, 10), -1)


def test_naive_datetimes_are_refused(calendar: WorkingCalendar) -> None:
    naive = datetime(2026, 3, 3, 10)  # noqa: DTZ001
    aware = at(2026, 3, 3, 10)
    calls: list[Callable[[], object]] = [
        lambda: calendar.working_seconds(naive, aware),
        lambda: calendar.working_seconds(aware, naive),
        lambda: calendar.add_working_seconds(naive, 60),
        lambda: calendar.due_at(naive, 1, "working_days"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="naive"):
            call()


# --- office hours -----------------------------------------------------------------------------------


def test_office_hours_setting_format() -> None:
    assert parse_office_hours("08:30-12:00,14:00-18:00") == DEFAULT_OFFICE_HOURS
    assert parse_office_hours(" 14:00-18:00 , 08:30-12:00 ") == DEFAULT_OFFICE_HOURS
    assert format_office_hours(DEFAULT_OFFICE_HOURS) == "08:30-12:00,14:00-18:00"
    for bad in ("", "8:30", "08:30-12:00,11:00-13:00", "12:00-08:30", "08:30-12:00,x"):
        with pytest.raises(ValueError):
            parse_office_hours(bad)


def test_other_office_hours() -> None:
    summer = WorkingCalendar(office_hours=parse_office_hours("08:30-12:00,15:00-18:30"))
    assert summer.office_seconds_per_day == 7 * 3600
    assert summer.due_at(at(2026, 7, 1, 11), 2, "working_hours") == at(2026, 7, 1, 16)
    straight = WorkingCalendar(office_hours=[(time(9), time(17))])
    assert straight.budget_seconds(1, "working_days") == 8 * 3600
    assert straight.due_at(at(2026, 7, 1, 16), 1, "working_days") == at(2026, 7, 2, 16)


# --- properties -------------------------------------------------------------------------------------


def random_moment(rng: random.Random, *, microseconds: bool = False) -> datetime:
    start = at(2025, 6, 1)
    moment = start + timedelta(seconds=rng.randrange(2 * 366 * 86400))
    if rng.random() < 0.2:  # often exactly on an office boundary
        local = moment.astimezone(SHANGHAI)
        boundary = rng.choice([time(8, 30), time(12), time(14), time(18), time(0)])
        moment = datetime.combine(local.date(), boundary, SHANGHAI)
    if microseconds:
        moment += timedelta(microseconds=rng.randrange(1_000_000))
    return moment


def test_adding_then_measuring_gives_the_budget_back_exactly(calendar: WorkingCalendar) -> None:
    rng = random.Random(20260215)
    for i in range(3000):
        start = random_moment(rng, microseconds=i % 2 == 1)
        seconds = rng.choice([rng.randrange(1, 4 * 3600), rng.randrange(1, 40 * DAY), rng.randrange(1, DAY)])
        due = calendar.add_working_seconds(start, seconds)
        assert calendar.working_seconds(start, due) == seconds, (start, seconds, due)
        # The earliest such instant: a microsecond earlier the budget is not used up.
        assert calendar.working_seconds(start, due - timedelta(microseconds=1)) == seconds - 1
        assert in_office(calendar, due), (start, seconds, due)
        if i % 10 == 0:
            assert reference_seconds(calendar, start, due) == seconds, (start, seconds, due)


def test_measuring_then_adding_comes_back_to_the_end(calendar: WorkingCalendar) -> None:
    rng = random.Random(20261001)
    for i in range(3000):
        start = random_moment(rng)
        end = start + timedelta(seconds=rng.randrange(1, rng.choice([86400, 20 * 86400, 200 * 86400])))
        if rng.random() < 0.2:
            end = random_moment(rng)
        seconds = calendar.working_seconds(start, end)
        if i % 10 == 0:
            assert seconds == reference_seconds(calendar, start, end), (start, end)
        if end <= start or seconds == 0:
            continue
        back = calendar.add_working_seconds(start, seconds)
        if in_office(calendar, end):
            assert back == end, (start, end, seconds, back)
        else:  # the end of the last office period before `end`
            assert back < end and calendar.working_seconds(back, end) == 0, (start, end, back)


# --- speed ------------------------------------------------------------------------------------------


def per_call_us(call: Callable[[], object], number: int = 300) -> float:
    best = float("inf")
    for _ in range(5):
        began = clock.perf_counter()
        for _ in range(number):
            call()
        best = min(best, (clock.perf_counter() - began) / number)
    return best * 1e6


def test_long_spans_are_fast(calendar: WorkingCalendar) -> None:
    start = at(2026, 2, 13, 10)
    assert per_call_us(lambda: calendar.due_at(start, 15, "working_days")) < 200
    assert per_call_us(lambda: calendar.due_at(start, 500, "working_days")) < 200
    assert per_call_us(lambda: calendar.working_seconds(start, at(2027, 2, 13, 10))) < 200
    assert per_call_us(lambda: calendar.working_seconds(at(2004, 1, 1), at(2026, 12, 31, 12))) < 200
