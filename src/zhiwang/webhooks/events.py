"""What a case event looks like to a department's system: its type and its JSON body."""

from __future__ import annotations

from typing import Any

from zhiwang.cases.models import Case, CaseEvent
from zhiwang.webhooks.models import EVENT_TYPES


def event_type_of(kind: str) -> str | None:
    return EVENT_TYPES.get(kind)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def case_body(case: Case, department_code: str) -> dict[str, Any]:
    """The case as a department sees it (no personal data of the reporter)."""
    category = case.category if case.category_id is not None else None
    return {
        "number": case.number,
        "status": case.status,
        "channel": case.channel,
        "category": category.code if category is not None else None,
        "category_name": category.name if category is not None else None,
        "description": case.description,
        "address": case.address,
        "lon": case.lon,
        "lat": case.lat,
        "urgency": case.urgency,
        "department": department_code,
        "reported_at": _iso(case.reported_at),
        "due_at": _iso(case.due_at),
    }


def event_body(event: CaseEvent, event_type: str, department_code: str) -> dict[str, Any]:
    return {
        "event": event_type,
        "event_id": event.pk,
        "occurred_at": _iso(event.at),
        "case": case_body(event.case, department_code),
        "step": {
            "kind": event.kind,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "note": event.note,
            "actor": event.actor_label,
            "data": event.data,
        },
    }
