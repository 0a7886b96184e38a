"""Webhook API schemas: input and output kept apart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class SubscriptionIn(Schema):
    department_id: int
    name: str = Field(..., max_length=100)
    url: str = Field(..., max_length=500)
    event_types: list[str] = Field(..., min_length=1, max_length=20)


class SubscriptionPatch(Schema):
    name: str | None = Field(None, max_length=100)
    url: str | None = Field(None, max_length=500)
    event_types: list[str] | None = Field(None, min_length=1, max_length=20)
    is_active: bool | None = None
    rotate_secret: bool = False


class SubscriptionOut(Schema):
    id: int
    department_id: int
    department_code: str = Field(..., alias="department.code")
    name: str
    url: str
    event_types: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(..., description="The signing secret: shown on creation and rotation only.")


class AttemptOut(Schema):
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: int
    subscription_id: int
    department_code: str = Field(..., alias="subscription.department.code")
    event_type: str
    case_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    last_status_code: int | None
    created_at: datetime
    sent_at: datetime | None
    payload: dict[str, Any]
    recent_attempts: list[AttemptOut]

    @staticmethod
    def resolve_recent_attempts(obj: Any) -> list[Any]:
        return list(obj.attempt_log.all())[:5]
