"""Publishing a year's arrangement and seeding from the package: rights, validation, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from zhiwang.accounts.models import Role, User
from zhiwang.audit.models import AuditEntry
from zhiwang.cli import main as zhiwang_main
from zhiwang.common.errors import PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode
from zhiwang.workcalendar.models import CalendarDay, CalendarYear
from zhiwang.workcalendar.selectors import working_calendar
from zhiwang.workcalendar.services import calendar_publish_year, calendar_seed

pytestmark = pytest.mark.django_db

CLI = Origin.cli()
HOLIDAYS_2027 = [
    (date(2027, 1, 1), date(2027, 1, 3), "元旦"),
    (date(2027, 2, 6), date(2027, 2, 13), "春节"),
    (date(2027, 10, 1), date(2027, 10, 7), "国庆节"),
]
MAKEUP_2027 = [(date(2027, 2, 14), "春节调休上班"), (date(2027, 10, 9), "")]


def publish(actor: Any, **overrides: Any) -> CalendarYear:
    arguments: dict[str, Any] = {
        "year": 2027,
        "holidays": HOLIDAYS_2027,
        "makeup_workdays": MAKEUP_2027,
        "origin": CLI,
    }
    arguments.update(overrides)
    return calendar_publish_year(actor=actor, **arguments)


@pytest.fixture
def city_admin(city: dict[str, GridNode], make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMINISTRATOR, grid=city["441900"])


def test_a_city_administrator_publishes_a_year(city_admin: User) -> None:
    row = publish(city_admin, note="国办发明电〔2026〕号")
    assert row.year == 2027 and row.source == "administrator" and row.note == "国办发明电〔2026〕号"
    days = {d.day: d for d in CalendarDay.objects.filter(day__year=2027)}
    assert len(days) == 3 + 8 + 7 + 2
    assert days[date(2027, 2, 6)].name == "春节" and not days[date(2027, 2, 6)].is_workday
    assert days[date(2027, 2, 14)].is_workday and days[date(2027, 2, 14)].name == "春节调休上班"
    assert days[date(2027, 10, 9)].name == "调休上班"  # the default name
    assert {d.source for d in days.values()} == {"administrator"}
    entry = AuditEntry.objects.get(action="calendar.publish_year")
    assert entry.actor == city_admin and entry.object_id == str(row.pk) and entry.channel == "cli"
    assert entry.details["year"] == 2027
    assert entry.details["makeup_workdays"] == [
        {"day": "2027-02-14", "name": "春节调休上班"},
        {"day": "2027-10-09", "name": "调休上班"},
    ]
    assert entry.details["replaced"] == {"source": None, "note": "", "days": 0}
    calendar = working_calendar()
    assert calendar.is_published(2027) and calendar.is_workday(date(2027, 2, 14))
    assert not calendar.is_workday(date(2027, 2, 8))


def test_publishing_again_replaces_the_year(city_admin: User, superuser: User) -> None:
    publish(city_admin)
    publish(superuser, holidays=[(date(2027, 2, 5), date(2027, 2, 11), "春节")], makeup_workdays=[])
    days = CalendarDay.objects.filter(day__year=2027)
    assert sorted(d.day.day for d in days) == [5, 6, 7, 8, 9, 10, 11]
    assert AuditEntry.objects.filter(action="calendar.publish_year").count() == 2
    last = AuditEntry.objects.filter(action="calendar.publish_year").latest("at")
    assert last.details["replaced"]["days"] == 20 and last.details["replaced"]["source"] == "administrator"
    calendar = working_calendar()
    assert calendar.is_workday(date(2027, 2, 14)) is False  # an ordinary Sunday again
    assert calendar.is_workday(date(2027, 2, 12))  # Friday, now after the holiday


def test_a_published_year_replaces_the_package_and_survives_seeding(city_admin: User) -> None:
    publish(
        city_admin, year=2026, holidays=[(date(2026, 2, 16), date(2026, 2, 20), "春节")], makeup_workdays=[]
    )
    assert CalendarDay.objects.filter(day__year=2026).count() == 5
    assert working_calendar().is_workday(date(2026, 10, 1))  # the package's National Day is gone
    counts = calendar_seed(origin=CLI)
    assert counts.years_skipped == [2026] and not counts.changed
    assert CalendarDay.objects.filter(day__year=2026).count() == 5


@pytest.mark.parametrize("grid_code", ["441900003", "441900003001"])
def test_a_town_or_community_administrator_may_not_publish(
    city: dict[str, GridNode], make_user: Callable[..., User], grid_code: str
) -> None:
    admin = make_user(Role.ADMINISTRATOR, grid=city[grid_code])
    with pytest.raises(PermissionDenied) as refused:
        publish(admin)
    assert refused.value.status == 403 and refused.value.code == "city_administrator_only"
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not AuditEntry.objects.filter(action="calendar.publish_year").exists()


@pytest.mark.parametrize("role", [Role.CITY_COMMANDER, Role.LEADER, Role.GRID_WORKER])
def test_other_roles_may_not_publish_even_over_the_whole_city(
    city: dict[str, GridNode], make_user: Callable[..., User], role: str
) -> None:
    grid = city["441900003001001"] if role == Role.GRID_WORKER else city["441900"]
    with pytest.raises(PermissionDenied) as refused:
        publish(make_user(role, grid=grid))
    assert refused.value.status == 403


def test_anonymous_and_roleless_users_may_not_publish(make_user: Callable[..., User]) -> None:
    with pytest.raises(PermissionDenied) as refused:
        publish(None)
    assert refused.value.code == "not_authenticated"
    with pytest.raises(PermissionDenied) as refused:
        publish(make_user())
    assert refused.value.code == "no_role"


def test_bad_arrangements_are_refused_with_the_entries_named(superuser: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        publish(
            superuser,
            holidays=[
                (date(2027, 1, 1), date(2027, 1, 3), "元旦"),
                (date(2027, 2, 13), date(2027, 2, 6), "春节"),  # reversed
                (date(2026, 12, 31), date(2027, 1, 1), "跨年"),  # outside the year, overlaps [0]
                (date(2027, 5, 1), date(2027, 5, 5), "  "),  # no name
            ],
            makeup_workdays=[
                (date(2027, 2, 10), "调休"),  # a Wednesday
                (date(2027, 1, 2), "调休"),  # a Saturday that is also a holiday
                (date(2028, 1, 8), "调休"),  # next year
                (date(2027, 2, 20), "调休"),
                (date(2027, 2, 20), "调休"),  # twice
            ],
        )
    error = refused.value
    assert error.status == 400 and error.code == "invalid_calendar"
    found = {(p["entry"], p["kind"]) for p in error.details}
    assert found == {
        ("holidays[1]", "range_order"),
        ("holidays[2]", "outside_year"),
        ("holidays[2]", "overlap"),
        ("holidays[3]", "no_name"),
        ("makeup_workdays[0]", "not_weekend"),
        ("makeup_workdays[1]", "off_and_working"),
        ("makeup_workdays[2]", "outside_year"),
        ("makeup_workdays[4]", "duplicate"),
    }
    messages = {p["entry"]: p["message"] for p in error.details}
    assert "2027-02-13–2027-02-06" in messages["holidays[1]"]
    assert "2027-02-10 (三)" in messages["makeup_workdays[0]"]
    assert "holidays[0]" in messages["makeup_workdays[1]"]
    assert "holidays[1]" in error.message and "problem" in error.message
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not CalendarDay.objects.filter(day__year=2027).exists()
    assert not AuditEntry.objects.filter(action="calendar.publish_year").exists()


def test_an_empty_or_absurd_arrangement_is_refused(superuser: User) -> None:
    with pytest.raises(ValidationFailed) as refused:
        publish(superuser, holidays=[], makeup_workdays=[])
    assert refused.value.details[0]["kind"] == "no_holidays"
    with pytest.raises(ValidationFailed) as refused:
        publish(superuser, holidays=[(date(2027, 1, 1), date(2027, 12, 31), "全年")])
    assert refused.value.details[0]["kind"] == "range_too_long"
    with pytest.raises(ValidationFailed) as refused:
        publish(superuser, year=2200)
    assert refused.value.code == "bad_year"


def test_seeding_is_idempotent_and_repairs_the_package_years() -> None:
    before = list(CalendarDay.objects.order_by("day").values_list("day", "is_workday", "name", "source"))
    assert len(before) > 500
    counts = calendar_seed(origin=CLI)
    assert not counts.changed and counts.years_skipped == []
    assert not AuditEntry.objects.filter(action="calendar.seed").exists()  # nothing happened
    CalendarDay.objects.filter(day=date(2026, 10, 1)).delete()
    CalendarDay.objects.filter(day=date(2026, 10, 2)).update(name="改过")
    CalendarDay.objects.create(
        day=date(2026, 11, 11), is_workday=False, name="多余", source="chinese_calendar"
    )
    CalendarYear.objects.filter(year=2005).delete()
    counts = calendar_seed(origin=CLI)
    assert (counts.days_created, counts.days_updated, counts.days_deleted) == (1, 1, 1)
    assert counts.years_added == [2005]
    after = list(CalendarDay.objects.order_by("day").values_list("day", "is_workday", "name", "source"))
    assert after == before
    entry = AuditEntry.objects.get(action="calendar.seed")
    assert entry.actor_label == "system" and entry.details["years_added"] == [2005]
    with pytest.raises(ValidationFailed, match="2027"):
        calendar_seed(origin=CLI, years=[2027])


def test_the_seed_calendar_command() -> None:
    out = StringIO()
    call_command("seed_calendar", stdout=out)
    assert "covers 2004–2026" in out.getvalue() and "nothing changed" in out.getvalue()
    CalendarDay.objects.filter(day__year=2026).delete()
    out = StringIO()
    call_command("seed_calendar", "2026", stdout=out)
    assert "0 year(s) added" in out.getvalue()
    assert CalendarDay.objects.filter(day__year=2026).count() == 33 + 6  # days off, make-up days


def test_operators_run_it_as_zhiwang_seed_calendar(capsys: pytest.CaptureFixture[str]) -> None:
    zhiwang_main(["zhiwang", "seed-calendar"])
    assert "nothing changed" in capsys.readouterr().out
