"""The 12345 exchange's JSON contract (documented in the OpenAPI document and docs/hotline.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Schema


class LocationIn(Schema):
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    coord_system: Literal["wgs84", "gcj02", "bd09"] = Field("wgs84", description="Of lon/lat.")
    address: str = Field("", max_length=200)
    area_code: str = Field(
        "", max_length=32, description="Without lon/lat: the grid code (town, community) the address lies in."
    )


class OrderIn(Schema):
    order_no: str = Field(..., min_length=1, max_length=64, description="The hotline's work order number.")
    caller_name: str = Field("", max_length=60)
    caller_phone: str = Field("", max_length=20)
    content: str = Field(..., min_length=1, max_length=5000)
    category: str = Field(
        "", max_length=64, description="Our minor category code, or the hotline's (mapped)."
    )
    location: LocationIn
    time_limit: str = Field("", max_length=64, description="The hotline's time limit, as it states it.")
    due_at: datetime | None = Field(None, description="The hotline's deadline, if it gives one.")
    received_at: datetime
    urgency: Literal["normal", "urgent", "emergency"] = "normal"


class NoteIn(Schema):
    note: str = Field(..., min_length=1, max_length=1000)


class DecisionIn(Schema):
    approved: bool
    note: str = Field("", max_length=1000)


class ReturnOutcomeIn(Schema):
    approved: bool
    note: str = Field(..., min_length=1, max_length=1000, description="The hotline's reason.")


class SatisfactionIn(Schema):
    rating: int = Field(..., ge=1, le=5, description="1–5; 3 or more is satisfied and closes the case.")
    comment: str = Field("", max_length=300)


class ReopenIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)
    rating: int = Field(1, ge=1, le=2, description="The dissatisfied rating recorded (1 or 2).")


class OrderOut(Schema):
    order_no: str
    case_number: str | None
    tracking_code: str
    status: str
    created: bool = Field(..., description="False when the order number had been received before.")


class ActionOut(Schema):
    order_no: str
    case_number: str | None
    status: str
