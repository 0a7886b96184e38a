"""China's working calendar: the State Council's yearly arrangement of holidays and make-up days.

`CalendarYear` marks a year whose arrangement is loaded ("published"); a year without one follows
the Monday–Friday rule. `CalendarDay` holds every day the arrangement names: each day of a holiday
period (off, weekend days included, so a year reads back as its announcement did: 春节 2026-02-15
to 02-23) and each make-up working day (调休上班, a weekend day on). Every other day of the year
follows Monday–Friday. Only days of published years count (see `hours.WorkingCalendar`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from zhiwang.common.models import TimeStampedModel


class Source(models.TextChoices):
    CHINESE_CALENDAR = "chinese_calendar", _("chinesecalendar package")
    ADMINISTRATOR = "administrator", _("Published by an administrator")


class CalendarYear(TimeStampedModel):
    year = models.PositiveSmallIntegerField(unique=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    note = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(help_text="When the arrangement was loaded here.")

    class Meta:
        ordering = ["year"]
        # `selectors.working_calendar` asks for the latest change on every call.
        indexes = [models.Index(fields=["updated_at"], name="calendaryear_updated_at")]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(TimeStampedModel):
    day = models.DateField(unique=True)
    is_workday = models.BooleanField()
    name = models.CharField(max_length=100, help_text="春节, 国庆节, 调休上班, …")
    source = models.CharField(max_length=20, choices=Source.choices)

    class Meta:
        ordering = ["day"]
        indexes = [models.Index(fields=["updated_at"], name="calendarday_updated_at")]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.name} ({'上班' if self.is_workday else '休息'})"


# The years an arrangement may be read or published for.
FIRST_YEAR = 1990
LAST_YEAR = 2100
