"""The Open311 answers as documents (see `formats`): discovery, services, a service definition,
requests, tokens and updates. Identifiers (`service_request_id`, `service_code`, `update_id`) are
always strings; datetimes carry the site's offset; nothing about the reporter appears."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from zhiwang.cases.models import FINAL_STATUSES, Case, CaseEvent, Status
from zhiwang.open311 import wording
from zhiwang.open311.formats import MEDIA_TYPES, Document, w3c
from zhiwang.open311.models import RequestToken
from zhiwang.open311.selectors import Service
from zhiwang.taxonomy.models import LIST_TYPES, Category, TimeUnit

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"


def public_status(status: str) -> str:
    return "closed" if status in FINAL_STATUSES else "open"


def discovery(*, base_url: str, contact: str, changeset: datetime) -> Document:
    return Document(
        "discovery",
        {
            "changeset": w3c(changeset),
            "contact": contact,
            "key_service": str(wording.KEY_SERVICE),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base_url,
                    "changeset": w3c(changeset),
                    "type": "production",
                    "formats": list(MEDIA_TYPES),
                }
            ],
        },
    )


def services(rows: Iterable[Service]) -> Document:
    return Document(
        "services",
        [
            {
                "service_code": str(row.category.code),
                "service_name": row.category.name,
                "description": row.category.filing_criteria,
                "metadata": bool(row.category.extra_fields),
                "type": "realtime",
                "keywords": ",".join(str(word) for word in row.category.keywords or []),
                "group": row.group,
            }
            for row in rows
        ],
    )


def _attribute(order: int, spec: dict[str, Any]) -> dict[str, Any]:
    hint = spec.get("description") or str(wording.DATATYPE_HINTS.get(spec["datatype"], ""))
    return {
        "variable": True,
        "code": str(spec["code"]),
        "datatype": spec["datatype"],
        "required": bool(spec.get("required")),
        "datatype_description": hint,
        "order": order,
        "description": spec["name"],
        "values": [{"key": str(value["key"]), "name": value["name"]} for value in spec.get("values") or []]
        if spec["datatype"] in LIST_TYPES
        else [],
    }


def service_definition(category: Category) -> Document:
    return Document(
        "service_definition",
        {
            "service_code": str(category.code),
            "attributes": [
                _attribute(order, spec) for order, spec in enumerate(category.extra_fields or [], start=1)
            ],
        },
    )


def _service_notice(category: Category | None) -> str:
    if category is None or not category.time_limit:
        return ""
    template = (
        wording.TIME_LIMIT_DAYS if category.time_unit == TimeUnit.WORKING_DAYS else wording.TIME_LIMIT_HOURS
    )
    return str(template) % {"count": category.time_limit}


def _status_notes(case: Case) -> str:
    merged_into = getattr(case, "merged_into_number", None)
    if case.status == Status.MERGED and merged_into:
        return str(wording.MERGED_INTO) % {"number": merged_into}
    return str(wording.STATUS_NOTES.get(case.status, ""))


def _media_url(case: Case, base_url: str) -> str | None:
    token: RequestToken | None = getattr(case, "open311_request", None)
    if token is None:
        return None
    if token.media_url:
        return token.media_url
    if token.media_photo_id is not None:
        return f"{base_url}media/{token.token}"
    return None


def _agency(case: Case) -> str:
    if case.department_id is not None and case.department is not None:
        return case.department.name
    if case.community_id is not None and case.community is not None:
        return case.community.name
    return ""


def request_item(case: Case, base_url: str) -> dict[str, Any]:
    """A case as a public request. Only a request a client application posted shows its
    description and media: other channels' descriptions are staff notes and may name people."""
    from_app = getattr(case, "open311_request", None) is not None
    category = case.category
    return {
        "service_request_id": str(case.number),
        "status": public_status(case.status),
        "status_notes": _status_notes(case),
        "service_name": category.name if category is not None else "",
        "service_code": str(category.code) if category is not None else "",
        "description": case.description if from_app else "",
        "agency_responsible": _agency(case),
        "service_notice": _service_notice(category),
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(case.updated_at),
        "expected_datetime": w3c(case.due_at),
        "address": case.address,
        "address_id": case.grid.code if case.grid_id is not None and case.grid is not None else "",
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": _media_url(case, base_url),
    }


def requests(cases: Iterable[Case], base_url: str) -> Document:
    return Document("service_requests", [request_item(case, base_url) for case in cases])


def submitted(token: RequestToken, service_notice: str) -> Document:
    item: dict[str, Any] = {}
    if token.case is not None and token.case.number:
        item["service_request_id"] = str(token.case.number)
    item["token"] = token.token
    item["service_notice"] = service_notice
    item["account_id"] = token.account_id or None
    return Document("service_requests", [item])


def submitted_notice(token: RequestToken) -> str:
    return _service_notice(token.case.category if token.case is not None else None)


def token(found: RequestToken) -> Document:
    number = found.case.number if found.case is not None else None
    return Document(
        "service_requests",
        [{"service_request_id": str(number) if number else None, "token": found.token}],
    )


def updates(events: Iterable[CaseEvent]) -> Document:
    return Document(
        "service_request_updates",
        [
            {
                "update_id": str(event.pk),
                "service_request_id": str(event.case.number),
                "status": public_status(event.to_status or event.case.status),
                "updated_datetime": w3c(event.at),
                "description": str(wording.STEP_WORDS.get(event.kind, "")),
                "media_url": None,
            }
            for event in events
        ],
    )


def update_posted(event: CaseEvent) -> Document:
    return Document("service_request_updates", [{"update_id": str(event.pk)}])
