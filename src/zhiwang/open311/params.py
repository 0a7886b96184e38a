"""Reading the values clients send: W3C datetimes, comma lists, the request window and pages.

Every refusal is a `ValidationFailed` whose message names the parameter; the views answer it with
the spec's error list and status 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from zhiwang.common.errors import ValidationFailed

# The spec: a search may span at most 90 days, and is the last 90 days when no dates are given.
WINDOW = timedelta(days=90)
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
MAX_LIST_ITEMS = 100


def parse_w3c(value: str, *, name: str) -> datetime:
    """A W3C datetime (2026-03-02T09:00:00+08:00, ...Z) or date (2026-03-02, local midnight).
    A datetime without an offset is read in the site's time zone."""
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time())
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"{name} is not a W3C datetime such as 2026-03-02T09:00:00+08:00: {value[:40]!r}.",
            code="bad_datetime",
        ) from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def comma_list(value: str | None, *, name: str) -> list[str]:
    items = [item.strip() for item in (value or "").split(",") if item.strip()]
    if len(items) > MAX_LIST_ITEMS:
        raise ValidationFailed(f"{name} lists at most {MAX_LIST_ITEMS} values.", code="too_many_values")
    return list(dict.fromkeys(items))


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def window(start_date: str | None, end_date: str | None, *, now: datetime | None = None) -> Window:
    """[start, end]: both given (at most 90 days apart); one given, 90 days from or up to it;
    neither, the last 90 days."""
    start = parse_w3c(start_date, name="start_date") if start_date else None
    end = parse_w3c(end_date, name="end_date") if end_date else None
    if start is None and end is None:
        end = now or timezone.now()
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if start > end:
        raise ValidationFailed("start_date is after end_date.", code="bad_window")
    if end - start > WINDOW:
        raise ValidationFailed("start_date and end_date may not span more than 90 days.", code="bad_window")
    return Window(start, end)


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _positive(value: str | None, *, name: str, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationFailed(f"{name} is a whole number from 1.", code="bad_page") from None
    if number < 1:
        raise ValidationFailed(f"{name} is a whole number from 1.", code="bad_page")
    return number


def page(number: str | None, size: str | None) -> Page:
    """The `page`/`page_size` extension: pages count from 1; a page holds at most 1000 requests."""
    page_size = _positive(size, name="page_size", default=DEFAULT_PAGE_SIZE)
    if page_size > MAX_PAGE_SIZE:
        raise ValidationFailed(f"page_size is at most {MAX_PAGE_SIZE}.", code="bad_page")
    page_number = _positive(number, name="page", default=1)
    if page_number > 100_000:
        raise ValidationFailed("page is too large.", code="bad_page")
    return Page(page_number, page_size)
