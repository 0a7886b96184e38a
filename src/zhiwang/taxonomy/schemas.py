from datetime import datetime
from typing import Any

from ninja import Field, Schema


class ExtraFieldValue(Schema):
    key: str
    name: str


class ExtraFieldOut(Schema):
    code: str
    name: str
    datatype: str
    required: bool
    description: str
    values: list[ExtraFieldValue]


class CategoryOut(Schema):
    code: str
    name: str
    kind: str
    parent_code: str | None
    is_major: bool
    filing_criteria: str
    closing_criteria: str
    time_limit: int | None
    time_unit: str
    department_kind: str
    overlay_layer: str
    handled_by_community: bool
    urgency_default: str
    keywords: list[str]
    extra_fields: list[ExtraFieldOut]
    is_active: bool
    sort_order: int
    updated_at: datetime


class CategoryTreeOut(CategoryOut):
    """A category; a 大类 in a tree or detail answer also carries its 小类 (null otherwise)."""

    minors: list[CategoryOut] | None = None


class ImportOut(Schema):
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    deactivated: list[str]


class CategoryFileIn(Schema):
    """A category file (see ``zhiwang/taxonomy/data/README.md``); entries are checked by the service,
    which names every bad one."""

    format: str | None = None
    version: int | None = None
    title: str | None = None
    notes: str | None = None
    source: str | None = None
    categories: list[Any]


class ExtraFieldIn(Schema):
    code: str
    name: str
    datatype: str
    required: bool = False
    description: str = ""
    values: list[ExtraFieldValue] = Field(default_factory=list)


class CategoryPatchIn(Schema):
    """The fields to change; fields left out keep their values."""

    name: str | None = None
    filing_criteria: str | None = None
    closing_criteria: str | None = None
    time_limit: int | None = None
    time_unit: str | None = None
    department_kind: str | None = None
    overlay_layer: str | None = None
    handled_by_community: bool | None = None
    urgency_default: str | None = None
    keywords: list[str] | None = None
    extra_fields: list[ExtraFieldIn] | None = None
    is_active: bool | None = None
    sort_order: int | None = None
