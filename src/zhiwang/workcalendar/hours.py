"""Office time on China's working calendar. Pure: no Django, so benchmarks and tools use it directly.

A `WorkingCalendar` knows which days are working days (Monday to Friday, corrected by the State
Council's arrangement for the years that are published: public holidays off, make-up working days
on, 调休) and the office hours of a working day (by default 08:30–12:00 and 14:00–18:00, 7.5 hours).
It answers how much office time lies between two instants and when a budget of office time
started at an instant runs out.

Office time is counted on the local wall clock of the calendar's time zone (Asia/Shanghai has no
daylight saving time). Internally every length is an integer number of microseconds, so
`working_seconds` and `add_working_seconds` are exact inverses; nothing loops over minutes or
days: whole working days are counted with week arithmetic plus a prefix sum over the days that
differ from the Monday–Friday rule.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

OfficeHours = tuple[tuple[time, time], ...]

DEFAULT_OFFICE_HOURS: OfficeHours = ((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0)))
DEFAULT_OFFICE_HOURS_TEXT = "08:30-12:00,14:00-18:00"
DEFAULT_TIME_ZONE = "Asia/Shanghai"
WORKING_HOURS = "working_hours"
WORKING_DAYS = "working_days"
UNITS: tuple[str, ...] = (WORKING_HOURS, WORKING_DAYS)

_US = 1_000_000  # microseconds per second


def parse_office_hours(text: str) -> OfficeHours:
    """`"08:30-12:00,14:00-18:00"` → ((08:30, 12:00), (14:00, 18:00)); ValueError when malformed."""
    periods: list[tuple[time, time]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        start_text, sep, end_text = part.partition("-")
        if not sep:
            raise ValueError(f"Office period {part!r} is not of the form HH:MM-HH:MM.")
        try:
            start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
        except ValueError as exc:
            raise ValueError(f"Office period {part!r} is not of the form HH:MM-HH:MM.") from exc
        periods.append((start, end))
    if not periods:
        raise ValueError("Office hours are empty.")
    return check_office_hours(periods)


def check_office_hours(periods: Iterable[tuple[time, time]]) -> OfficeHours:
    """Sorted, non-empty, non-overlapping periods inside one day, each starting before it ends."""
    ordered = sorted(periods)
    if not ordered:
        raise ValueError("Office hours are empty.")
    previous_end: time | None = None
    for start, end in ordered:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("Office hours are local wall-clock times without a time zone.")
        if not start < end:
            raise ValueError(f"Office period {start:%H:%M}-{end:%H:%M} does not start before it ends.")
        if previous_end is not None and start < previous_end:
            raise ValueError(f"Office period {start:%H:%M}-{end:%H:%M} overlaps the one before it.")
        previous_end = end
    return tuple(ordered)


def format_office_hours(periods: Iterable[tuple[time, time]]) -> str:
    return ",".join(f"{start:%H:%M}-{end:%H:%M}" for start, end in periods)


def _time_us(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * _US + value.microsecond


def _plain_workdays_before(ordinal: int) -> int:
    """How many Mondays–Fridays there are among the ordinals [1, ordinal) (ordinal 1 is a Monday)."""
    weeks, rest = divmod(ordinal - 1, 7)
    return 5 * weeks + min(rest, 5)


def _is_plain_workday(ordinal: int) -> bool:
    return (ordinal - 1) % 7 < 5


class WorkingCalendar:
    """Working days and office hours; aware datetimes in, aware datetimes (in `time_zone`) out.

    `overrides` maps days to whether they are working days; only overrides in `published_years`
    count, every other year follows the Monday–Friday rule. Naive datetimes raise ValueError.
    Immutable, so one instance may be shared between threads.
    """

    __slots__ = (
        "_correction_ordinals",
        "_correction_prefix",
        "_day_us",
        "_office_hours",
        "_overrides",
        "_periods",
        "_published",
        "_tz",
    )

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        published_years: Iterable[int] = (),
        office_hours: Sequence[tuple[time, time]] = DEFAULT_OFFICE_HOURS,
        time_zone: str | tzinfo = DEFAULT_TIME_ZONE,
    ) -> None:
        self._office_hours = check_office_hours(office_hours)
        self._periods: tuple[tuple[int, int], ...] = tuple(
            (_time_us(start), _time_us(end)) for start, end in self._office_hours
        )
        self._day_us = sum(end - start for start, end in self._periods)
        self._tz: tzinfo = ZoneInfo(time_zone) if isinstance(time_zone, str) else time_zone
        self._published = frozenset(published_years)
        self._overrides: dict[int, bool] = {
            day.toordinal(): bool(is_workday)
            for day, is_workday in (overrides or {}).items()
            if day.year in self._published
        }
        # Days whose status differs from the Monday–Friday rule, with the running correction
        # (+1 for a make-up working day, -1 for a holiday on a weekday) to the plain count.
        ordinals: list[int] = []
        prefix = [0]
        for ordinal in sorted(self._overrides):
            is_workday = self._overrides[ordinal]
            if is_workday != _is_plain_workday(ordinal):
                ordinals.append(ordinal)
                prefix.append(prefix[-1] + (1 if is_workday else -1))
        self._correction_ordinals = ordinals
        self._correction_prefix = prefix

    def __repr__(self) -> str:
        years = sorted(self._published)
        span = f"{years[0]}–{years[-1]}" if years else "none"
        return (
            f"<WorkingCalendar published={span} special_days={len(self._correction_ordinals)} "
            f"office_hours={format_office_hours(self._office_hours)} tz={self._tz}>"
        )

    # --- the calendar ---------------------------------------------------------------------------

    @property
    def office_hours(self) -> OfficeHours:
        return self._office_hours

    @property
    def time_zone(self) -> tzinfo:
        return self._tz

    @property
    def published_years(self) -> frozenset[int]:
        return self._published

    def is_published(self, year: int) -> bool:
        """Whether the year's arrangement is loaded (otherwise it falls back to Monday–Friday)."""
        return year in self._published

    def is_workday(self, d: date) -> bool:
        ordinal = d.toordinal()
        override = self._overrides.get(ordinal)
        if override is not None:
            return override
        return _is_plain_workday(ordinal)

    def _workdays_before(self, ordinal: int) -> int:
        """Working days among the ordinals [1, ordinal): week arithmetic plus the corrections."""
        return (
            _plain_workdays_before(ordinal)
            + self._correction_prefix[bisect_left(self._correction_ordinals, ordinal)]
        )

    def workday_count(self, first: date, last: date) -> int:
        """Working days from `first` to `last`, both included (0 if last < first)."""
        if last < first:
            return 0
        return self._workdays_before(last.toordinal() + 1) - self._workdays_before(first.toordinal())

    def _nth_workday_after(self, ordinal: int, n: int) -> int:
        """The ordinal of the n-th working day after `ordinal` (n >= 1)."""
        target = self._workdays_before(ordinal + 1) + n
        # Find the smallest x with _workdays_before(x) >= target; the day is x - 1.
        low = ordinal + 1  # _workdays_before(low) < target
        step = n * 7 // 5 + 10
        high = low + step
        while self._workdays_before(high) < target:
            low, step = high, step * 2
            high = low + step
        while high - low > 1:
            middle = (low + high) // 2
            if self._workdays_before(middle) >= target:
                high = middle
            else:
                low = middle
        return high - 1

    # --- office time ----------------------------------------------------------------------------

    @property
    def office_seconds_per_day(self) -> int:
        return self._day_us // _US

    def budget_seconds(self, amount: float | Decimal, unit: str) -> int:
        """A limit as office seconds: working hours × 3600, or working days × a day's office time."""
        value = float(amount)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"A time limit must be a non-negative number, not {amount!r}.")
        if unit == WORKING_HOURS:
            return round(value * 3600)
        if unit == WORKING_DAYS:
            return round(value * self._day_us / _US)
        raise ValueError(f"Unknown time unit {unit!r}: expected one of {', '.join(UNITS)}.")

    def _local(self, moment: datetime) -> tuple[int, int]:
        """(day ordinal, microseconds since local midnight) of an aware datetime."""
        if not isinstance(moment, datetime):
            raise TypeError(f"Expected a datetime, not {type(moment).__name__}.")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"A naive datetime ({moment.isoformat()}) has no time zone; pass an aware one.")
        local = moment.astimezone(self._tz)
        return local.toordinal(), (
            ((local.hour * 60 + local.minute) * 60 + local.second) * _US + local.microsecond
        )

    def _office_before(self, us: int) -> int:
        """Office time of a working day before the wall-clock time `us`."""
        total = 0
        for start, end in self._periods:
            if us <= start:
                break
            total += min(us, end) - start
        return total

    def _wall_time(self, office_us: int) -> int:
        """The wall-clock time at which `office_us` (0 < office_us <= a day) of office time is done.

        A point at the end of a period stays there rather than moving to the next period's start.
        """
        for start, end in self._periods:
            length = end - start
            if office_us <= length:
                return start + office_us
            office_us -= length
        return self._periods[-1][1]

    def _at(self, ordinal: int, us: int) -> datetime:
        day = date.fromordinal(ordinal)
        return datetime(day.year, day.month, day.day, tzinfo=self._tz) + timedelta(microseconds=us)

    def working_seconds(self, start: datetime, end: datetime) -> int:
        """Office time between two instants, in whole seconds (0 if end <= start)."""
        start_day, start_us = self._local(start)
        end_day, end_us = self._local(end)
        if end <= start:
            return 0
        if start_day == end_day:
            if not self.is_workday(date.fromordinal(start_day)):
                return 0
            total = self._office_before(end_us) - self._office_before(start_us)
        else:
            total = (self._workdays_before(end_day) - self._workdays_before(start_day + 1)) * self._day_us
            if self.is_workday(date.fromordinal(start_day)):
                total += self._day_us - self._office_before(start_us)
            if self.is_workday(date.fromordinal(end_day)):
                total += self._office_before(end_us)
        return max(total, 0) // _US

    def add_working_seconds(self, start: datetime, seconds: int) -> datetime:
        """The instant at which `seconds` of office time have passed after `start`.

        A start outside office hours counts from the next office period; a deadline that falls
        exactly at the end of a period stays there. 0 seconds gives `start` itself.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise TypeError(f"Office seconds must be an int, not {type(seconds).__name__}.")
        if seconds < 0:
            raise ValueError(f"Office seconds must not be negative ({seconds}).")
        day, us = self._local(start)
        if seconds == 0:
            return self._at(day, us)
        remaining = seconds * _US
        if self.is_workday(date.fromordinal(day)):
            done = self._office_before(us)
            if remaining <= self._day_us - done:
                return self._at(day, self._wall_time(done + remaining))
            remaining -= self._day_us - done
        full_days = (remaining - 1) // self._day_us  # whole working days before the last one
        landing = self._nth_workday_after(day, full_days + 1)
        return self._at(landing, self._wall_time(remaining - full_days * self._day_us))

    def due_at(self, start: datetime, amount: float | Decimal, unit: str) -> datetime:
        """When a limit of `amount` working hours or working days started at `start` runs out."""
        return self.add_working_seconds(start, self.budget_seconds(amount, unit))
