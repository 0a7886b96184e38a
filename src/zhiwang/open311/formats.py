"""One document, two formats: every Open311 answer is built once as plain Python values and written
as JSON or as XML (xml.etree), both UTF-8.

A document is a root tag and a value. In JSON the value is written as it is (a list of requests,
or an object for discovery and a service definition). In XML the root tag wraps it; a list becomes
one child element per item, named by `ITEM_TAGS` after the list's own tag (``services`` →
``service``); booleans are ``true``/``false`` and ``None`` an empty element.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import HttpResponse
from django.utils import timezone

JSON = "json"
XML = "xml"
FORMATS = (JSON, XML)
CONTENT_TYPES = {JSON: "application/json; charset=utf-8", XML: "text/xml; charset=utf-8"}
MEDIA_TYPES = ("text/xml", "application/json")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# The element of one item in each list, by the list's tag.
ITEM_TAGS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
}


@dataclass(frozen=True)
class Document:
    root: str  # the XML root element, e.g. "services"
    value: Any  # a list or a mapping of plain values


def w3c(moment: datetime | None) -> str | None:
    """A moment in the site's time zone, ISO 8601 with its offset (2026-03-02T09:00:00+08:00)."""
    if moment is None:
        return None
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def to_json(document: Document) -> bytes:
    return json.dumps(document.value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return w3c(value)
    return str(value)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, str(key)), item)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        item_tag = ITEM_TAGS.get(element.tag, "item")
        for item in value:
            _fill(ET.SubElement(element, item_tag), item)
    else:
        element.text = _text(value)


def to_xml(document: Document) -> bytes:
    root = ET.Element(document.root)
    _fill(root, document.value)
    return XML_DECLARATION + ET.tostring(root, encoding="unicode").encode("utf-8")


def respond(document: Document, fmt: str, *, status: int = 200) -> HttpResponse:
    body = to_xml(document) if fmt == XML else to_json(document)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def errors_document(status: int, descriptions: Sequence[str]) -> Document:
    """The spec's error list: each error carries the HTTP status as its code."""
    return Document("errors", [{"code": status, "description": text} for text in descriptions])
