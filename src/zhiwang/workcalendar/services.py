"""Writes to the working calendar: publishing a year's arrangement, seeding from the package.

Publishing is for an administrator of a whole city (an administrator assigned to a top-level grid
node) or a superuser: the calendar is national and every case deadline of every city depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from zhiwang.accounts.permissions import Scope
from zhiwang.accounts.permissions import check_city_administrator as check_city_admin_of_accounts
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import Conflict, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.workcalendar.models import CalendarDay, CalendarYear, Source
from zhiwang.workcalendar.seeding import MAKEUP_SUFFIX, SeedCounts, SpecialDay, sync_package_years
from zhiwang.workcalendar.selectors import check_year, clear_cache

Actor = AbstractBaseUser | AnonymousUser | None
MAX_HOLIDAY_DAYS = 31
MAX_NAME_LENGTH = 100
DEFAULT_MAKEUP_NAME = MAKEUP_SUFFIX  # 调休上班


def check_city_administrator(actor: Actor) -> Scope:
    """An administrator of a whole city, or a superuser (403 otherwise)."""
    return check_city_admin_of_accounts(actor, "publish the working calendar")


@dataclass(frozen=True)
class Problem:
    entry: str  # "holidays[0]", "makeup_workdays[2]", or "holidays"
    kind: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"entry": self.entry, "kind": self.kind, "message": self.message}


def _label(day: date) -> str:
    return f"{day.isoformat()} ({'一二三四五六日'[day.weekday()]})"


def arrangement_problems(
    year: int,
    holidays: Sequence[tuple[date, date, str]],
    makeup_workdays: Sequence[tuple[date, str]],
) -> tuple[list[SpecialDay], list[Problem]]:
    """The days an arrangement names, and everything wrong with it (each problem names its entry)."""
    problems: list[Problem] = []
    days: list[SpecialDay] = []
    off: dict[date, str] = {}  # day -> entry of the holiday it belongs to
    if not holidays:
        problems.append(Problem("holidays", "no_holidays", f"The arrangement for {year} lists no holiday."))
    for i, (first, last, name) in enumerate(holidays):
        entry = f"holidays[{i}]"
        label = f"{entry} ({name.strip() or '?'} {first.isoformat()}–{last.isoformat()})"
        name = name.strip()
        bad = False
        if not name:
            problems.append(Problem(entry, "no_name", f"{label}: a holiday needs a name."))
            bad = True
        elif len(name) > MAX_NAME_LENGTH:
            problems.append(Problem(entry, "name_too_long", f"{label}: the name is too long."))
            bad = True
        if first.year != year or last.year != year:
            problems.append(Problem(entry, "outside_year", f"{label}: the days must lie in {year}."))
            bad = True
        if first > last:
            problems.append(Problem(entry, "range_order", f"{label}: the first day is after the last."))
            continue
        if (last - first).days + 1 > MAX_HOLIDAY_DAYS:
            problems.append(
                Problem(entry, "range_too_long", f"{label}: longer than {MAX_HOLIDAY_DAYS} days.")
            )
            continue
        overlapping: set[str] = set()
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            if day in off:
                overlapping.add(off[day])
                continue
            off[day] = entry
            if not bad:
                days.append(SpecialDay(day, False, name))
        for other in sorted(overlapping):
            problems.append(Problem(entry, "overlap", f"{label}: overlaps {other}."))
    seen: dict[date, str] = {}
    for j, (day, name) in enumerate(makeup_workdays):
        entry = f"makeup_workdays[{j}]"
        name = name.strip() or DEFAULT_MAKEUP_NAME
        label = f"{entry} ({name} {_label(day)})"
        bad = False
        if day.year != year:
            problems.append(Problem(entry, "outside_year", f"{label}: the day must lie in {year}."))
            bad = True
        if day.weekday() < 5:
            problems.append(
                Problem(entry, "not_weekend", f"{label}: a make-up working day must be a Saturday or Sunday.")
            )
            bad = True
        if len(name) > MAX_NAME_LENGTH:
            problems.append(Problem(entry, "name_too_long", f"{label}: the name is too long."))
            bad = True
        if day in off:
            problems.append(
                Problem(entry, "off_and_working", f"{label}: the day is also a holiday in {off[day]}.")
            )
            bad = True
        if day in seen:
            problems.append(Problem(entry, "duplicate", f"{label}: listed twice (also {seen[day]})."))
            bad = True
        seen.setdefault(day, entry)
        if not bad:
            days.append(SpecialDay(day, True, name))
    return sorted(days, key=lambda s: s.day), problems


def calendar_publish_year(
    *,
    actor: Actor,
    year: int,
    holidays: Sequence[tuple[date, date, str]],
    makeup_workdays: Sequence[tuple[date, str]],
    origin: Origin,
    note: str = "",
) -> CalendarYear:
    """Record a year's State Council arrangement: holiday periods (every day off, weekends included)
    and make-up working days (weekend days on).

    The year's days are replaced atomically: whatever was there before (an earlier publication or
    the package's data) goes, so the administrator's arrangement is the whole truth for the year.
    """
    check_city_administrator(actor)
    check_year(year)
    days, problems = arrangement_problems(year, holidays, makeup_workdays)
    if problems:
        raise ValidationFailed(
            f"The arrangement for {year} has {len(problems)} problem(s): "
            + " ".join(p.message for p in problems[:5]),
            code="invalid_calendar",
            details=[p.as_dict() for p in problems],
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            previous = CalendarYear.objects.select_for_update().filter(year=year).first()
            old_days = CalendarDay.objects.filter(day__gte=date(year, 1, 1), day__lte=date(year, 12, 31))
            replaced = {
                "source": previous.source if previous is not None else None,
                "note": previous.note if previous is not None else "",
                "days": old_days.count(),
            }
            old_days.delete()
            CalendarDay.objects.bulk_create(
                CalendarDay(day=s.day, is_workday=s.is_workday, name=s.name, source=Source.ADMINISTRATOR)
                for s in days
            )
            row, _created = CalendarYear.objects.update_or_create(
                year=year,
                defaults={"source": Source.ADMINISTRATOR, "note": note.strip()[:300], "published_at": now},
            )
            audit_record(
                actor=actor,
                action="calendar.publish_year",
                origin=origin,
                obj=row,
                object_label=f"{year} working calendar",
                details={
                    "year": year,
                    "holidays": [
                        {"first_day": first.isoformat(), "last_day": last.isoformat(), "name": name.strip()}
                        for first, last, name in holidays
                    ],
                    "makeup_workdays": [
                        {"day": s.day.isoformat(), "name": s.name} for s in days if s.is_workday
                    ],
                    "note": row.note,
                    "replaced": replaced,
                },
            )
            clear_cache()  # this connection sees the change at once
            transaction.on_commit(clear_cache)  # and so does every other thread, after commit
    except IntegrityError as exc:
        raise Conflict(
            f"The calendar of {year} was changed at the same moment; try again.", code="calendar_conflict"
        ) from exc
    return row


def calendar_seed(*, actor: Actor = None, origin: Origin, years: Sequence[int] | None = None) -> SeedCounts:
    """Load the chinesecalendar package's arrangements (2004–2026; idempotent).

    Years an administrator has published are left alone. `actor=None` is the operator at the
    console (`zhiwang seed-calendar`); a user must be a city administrator.
    """
    if actor is not None:
        check_city_administrator(actor)
    try:
        with transaction.atomic():
            counts = sync_package_years(
                CalendarDay, CalendarYear, now=timezone.now(), years=None if years is None else list(years)
            )
            if counts.changed:
                details: dict[str, Any] = {
                    "years_added": counts.years_added,
                    "years_skipped": counts.years_skipped,
                    "days_created": counts.days_created,
                    "days_updated": counts.days_updated,
                    "days_deleted": counts.days_deleted,
                }
                audit_record(
                    actor=actor,
                    action="calendar.seed",
                    origin=origin,
                    object_type=CalendarYear._meta.label_lower,
                    object_label="chinesecalendar package",
                    details=details,
                    actor_label="" if actor is not None else "system",
                )
                clear_cache()  # this connection sees the change at once
                transaction.on_commit(clear_cache)  # and so does every other thread, after commit
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="bad_year") from exc
    return counts
