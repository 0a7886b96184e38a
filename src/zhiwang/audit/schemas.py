from datetime import datetime
from typing import Any

from ninja import Schema


class AuditEntryOut(Schema):
    id: int
    at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    object_label: str
    channel: str
    ip: str | None
    details: dict[str, Any]
