from datetime import datetime
from typing import Any

from ninja import Field, Schema


class NotificationOut(Schema):
    id: int
    title: str
    body: str
    link: str
    object_type: str
    object_id: str
    created_at: datetime
    read_at: datetime | None
    is_read: bool


def mask_address(channel: str, address: str) -> str:
    """Enough of a phone number or openid to tell recipients apart, not to contact them."""
    if not address:
        return ""
    if channel == "sms" and len(address) >= 7:
        return f"{address[:3]}****{address[-4:]}"
    return f"{address[:4]}…" if len(address) > 4 else "…"


class OutboxMessageOut(Schema):
    id: int
    channel: str
    recipient_id: int | None
    recipient_username: str | None = Field(None, alias="recipient.username")
    address: str
    subject: str
    link: str
    object_type: str
    object_id: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None

    @staticmethod
    def resolve_address(obj: Any) -> str:
        return mask_address(str(obj.channel), str(obj.address))
