"""Limit/offset pages for every list in the API, with both numbers bounded: no request can ask the
database for more rows than a page or for an offset it cannot represent (a 422, not a 500)."""

from __future__ import annotations

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
MAX_OFFSET = 10_000_000


class Pages(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Items per page")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip")
