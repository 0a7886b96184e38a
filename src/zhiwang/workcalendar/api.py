"""REST endpoints of the working calendar (mounted at /api/v1/calendar)."""

from django.http import HttpRequest
from ninja import Router

from zhiwang.common.origin import origin_from_request
from zhiwang.workcalendar import selectors, services
from zhiwang.workcalendar.schemas import CalendarYearIn, CalendarYearOut

router = Router()


@router.get("/{int:year}", response=CalendarYearOut, summary="A year's holidays and make-up working days")
def get_year(request: HttpRequest, year: int) -> selectors.YearArrangement:
    return selectors.calendar_year(actor=request.user, year=year)


@router.put("/{int:year}", response=CalendarYearOut, summary="Publish a year's State Council arrangement")
def publish_year(request: HttpRequest, year: int, payload: CalendarYearIn) -> selectors.YearArrangement:
    services.calendar_publish_year(
        actor=request.user,
        year=year,
        holidays=[(h.first_day, h.last_day, h.name) for h in payload.holidays],
        makeup_workdays=[(m.day, m.name) for m in payload.makeup_workdays],
        origin=origin_from_request(request),
        note=payload.note,
    )
    return selectors.calendar_year(actor=request.user, year=year)
