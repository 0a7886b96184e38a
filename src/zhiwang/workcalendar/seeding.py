"""The arrangements of 2004–2026 from the `chinesecalendar` package, and writing them to the database.

`sync_package_years` takes the model classes as arguments so the data migration can call it with
its historical models and the `calendar_seed` service with the real ones. It is idempotent: a
second run changes nothing. Years an administrator has published are left alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import chinese_calendar
from chinese_calendar.constants import Holiday
from chinese_calendar.constants import holidays as package_holidays
from chinese_calendar.constants import workdays as package_workdays

PACKAGE_SOURCE = "chinese_calendar"
ADMINISTRATOR_SOURCE = "administrator"
MAKEUP_SUFFIX = "调休上班"


@dataclass(frozen=True)
class SpecialDay:
    day: date
    is_workday: bool
    name: str


@dataclass
class SeedCounts:
    years_added: list[int] = field(default_factory=list)
    years_skipped: list[int] = field(default_factory=list)  # published by an administrator
    days_created: int = 0
    days_updated: int = 0
    days_deleted: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.years_added or self.days_created or self.days_updated or self.days_deleted)


def package_version() -> str:
    return str(getattr(chinese_calendar, "__version__", "unknown"))


def _chinese_name(english: str) -> str:
    try:
        return str(Holiday(english).chinese)
    except ValueError:
        return english


def package_years() -> range:
    """The years the package covers (2004–2026 in chinesecalendar 1.11.0)."""
    return range(min(package_holidays).year, max(package_holidays).year + 1)


def package_arrangements() -> dict[int, list[SpecialDay]]:
    """year → its holidays (off, named after the festival) and make-up working days (on)."""
    by_year: dict[int, list[SpecialDay]] = defaultdict(list)
    for day, english in package_holidays.items():
        by_year[day.year].append(SpecialDay(day, False, _chinese_name(english)))
    for day, english in package_workdays.items():
        by_year[day.year].append(SpecialDay(day, True, f"{_chinese_name(english)}{MAKEUP_SUFFIX}"))
    return {year: sorted(by_year.get(year, []), key=lambda s: s.day) for year in package_years()}


def sync_package_years(
    day_model: Any, year_model: Any, *, now: datetime, years: list[int] | None = None
) -> SeedCounts:
    """Write the package's arrangement of each year (all it covers by default). Call in a transaction."""
    arrangements = package_arrangements()
    counts = SeedCounts()
    note = f"chinesecalendar {package_version()}"
    for year in sorted(arrangements if years is None else years):
        if year not in arrangements:
            raise ValueError(
                f"The chinesecalendar package has no arrangement for {year} "
                f"(it covers {min(arrangements)}–{max(arrangements)})."
            )
        year_row = year_model.objects.filter(year=year).first()
        if year_row is not None and year_row.source == ADMINISTRATOR_SOURCE:
            counts.years_skipped.append(year)
            continue
        wanted = {special.day: special for special in arrangements[year]}
        rows = {
            row.day: row
            for row in day_model.objects.filter(day__gte=date(year, 1, 1), day__lte=date(year, 12, 31))
        }
        stale = [row.pk for day, row in rows.items() if day not in wanted]
        if stale:
            day_model.objects.filter(pk__in=stale).delete()
            counts.days_deleted += len(stale)
        new = []
        for day, special in wanted.items():
            row = rows.get(day)
            if row is None:
                new.append(
                    day_model(
                        day=day, is_workday=special.is_workday, name=special.name, source=PACKAGE_SOURCE
                    )
                )
            elif (row.is_workday, row.name, row.source) != (special.is_workday, special.name, PACKAGE_SOURCE):
                row.is_workday, row.name, row.source = special.is_workday, special.name, PACKAGE_SOURCE
                row.save(update_fields=["is_workday", "name", "source", "updated_at"])
                counts.days_updated += 1
        day_model.objects.bulk_create(new)
        counts.days_created += len(new)
        if year_row is None:
            year_model.objects.create(year=year, source=PACKAGE_SOURCE, note=note, published_at=now)
            counts.years_added.append(year)
        elif year_row.note != note:
            year_row.note = note
            year_row.save(update_fields=["note", "updated_at"])
    return counts
