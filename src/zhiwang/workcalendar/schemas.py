from datetime import date, datetime
from typing import Any

from ninja import Field, Schema


class CalendarDayOut(Schema):
    day: date
    weekday: int = Field(..., description="1 = Monday … 7 = Sunday")
    is_workday: bool
    name: str
    source: str

    @staticmethod
    def resolve_weekday(obj: Any) -> int:
        return int(obj.day.isoweekday())


class CalendarYearOut(Schema):
    year: int
    published: bool = Field(..., description="false: the year follows Monday–Friday (no arrangement)")
    source: str | None
    note: str
    published_at: datetime | None
    workday_count: int
    office_hours: str
    office_seconds_per_day: int
    days: list[CalendarDayOut]


class HolidayIn(Schema):
    first_day: date
    last_day: date
    name: str = Field(..., min_length=1, max_length=100, examples=["春节"])


class MakeupWorkdayIn(Schema):
    day: date
    name: str = Field("调休上班", max_length=100)


class CalendarYearIn(Schema):
    holidays: list[HolidayIn]
    makeup_workdays: list[MakeupWorkdayIn] = []
    note: str = Field("", max_length=300, examples=["国务院办公厅关于2027年部分节假日安排的通知"])
