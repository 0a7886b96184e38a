"""Exports of the registry as CSV or Excel, only ever of what the exporter may read.

ID and phone numbers are masked. A collector who may see whole numbers (see permissions.py) can
ask for them: whole numbers are written only for the rows whose residence they collect, and one
audit row lists every person whose numbers left in whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from zhiwang.accounts.permissions import scope_for
from zhiwang.audit.services import audit_read
from zhiwang.common.errors import ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.registry import crypto, selectors
from zhiwang.registry.models import ID_NUMBER_COLUMN, PERSON_PHONE_COLUMN, Person
from zhiwang.registry.permissions import Actor, can_reveal, can_see_care_fields

PERSON_HEADER = (
    "id",
    "name",
    "id_number",
    "sex",
    "birth_year",
    "ethnicity",
    "phone",
    "kind",
    "inflow_reason",
    "permit_type",
    "room_code",
    "grid_code",
    "residence_matches",
    "employer_name",
    "employment_status",
    "mobility_status",
    "health_status",
    "tags",
)
KINDS = ("persons", "units", "facilities", "addresses")
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Export:
    filename: str
    content_type: str
    content: bytes
    rows: int


def _person_rows(
    persons: QuerySet[Person], actor: Actor, whole: bool, revealed: list[int]
) -> Iterator[list[Any]]:
    scope = scope_for(actor)
    for p in persons.iterator(chunk_size=2000):
        reveal = whole and can_reveal(scope, p.grid_path)
        care = can_see_care_fields(scope, p.grid_path)
        if reveal:
            revealed.append(p.pk)
        yield [
            p.pk,
            p.name,
            crypto.decrypt(p.id_number_enc, ID_NUMBER_COLUMN) if reveal else p.id_number_masked,
            p.sex,
            p.birth_year or "",
            p.ethnicity,
            crypto.decrypt(p.phone_enc, PERSON_PHONE_COLUMN) if reveal else p.phone_masked,
            p.kind,
            p.inflow_reason,
            p.permit_type,
            p.room.code if p.room else "",
            p.grid.code if p.grid else "",
            "1" if p.residence_matches else "0",
            p.employer_name,
            p.employment_status,
            p.mobility_status,
            p.health_status if care else "",
            ";".join(p.tags) if care else "",
        ]


def _simple_rows(kind: str, actor: Actor) -> tuple[tuple[str, ...], Iterable[list[Any]]]:
    header: tuple[str, ...]
    if kind == "units":
        header = (
            "id",
            "name",
            "kind",
            "credit_code",
            "industry",
            "contact_name",
            "contact_phone",
            "headcount",
            "risk_level",
            "grid_code",
            "enterprise_grid_code",
        )
        units = selectors.unit_list(actor=actor)
        return header, (
            [
                u.pk,
                u.name,
                u.kind,
                u.credit_code or "",
                u.industry,
                u.contact_name,
                u.contact_phone_masked,
                u.headcount,
                u.risk_level,
                u.grid.code if u.grid else "",
                u.enterprise_grid.code if u.enterprise_grid else "",
            ]
            for u in units.iterator(chunk_size=2000)
        )
    if kind == "facilities":
        header = (
            "code",
            "name",
            "major_code",
            "minor_code",
            "owner_name",
            "maintainer_name",
            "status",
            "lon",
            "lat",
            "grid_code",
        )
        facilities = selectors.facility_list(actor=actor)
        return header, (
            [
                f.code,
                f.name,
                f.major_code,
                f.minor_code,
                f.owner_name,
                f.maintainer_name,
                f.status,
                f.lon,
                f.lat,
                f.grid.code if f.grid else "",
            ]
            for f in facilities.iterator(chunk_size=2000)
        )
    header = ("code", "full_text", "road", "door_number", "aliases", "lon", "lat", "grid_code")
    addresses = selectors.address_list(actor=actor)
    return header, (
        [
            a.code,
            a.full_text,
            a.road,
            a.door_number,
            ";".join(a.aliases),
            a.lon,
            a.lat,
            a.grid.code if a.grid else "",
        ]
        for a in addresses.iterator(chunk_size=2000)
    )


def _encode(fmt: str, header: tuple[str, ...], rows: Iterable[list[Any]]) -> tuple[bytes, int]:
    count = 0
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
        return out.getvalue().encode(), count
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(list(header))
    for row in rows:
        sheet.append(row)
        count += 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), count


def export(*, actor: Actor, kind: str, fmt: str, origin: Origin, whole: bool = False) -> Export:
    if kind not in KINDS or fmt not in FORMATS:
        raise ValidationFailed(
            f"Export one of {', '.join(KINDS)} as {' or '.join(FORMATS)}.", code="bad_export"
        )
    revealed: list[int] = []
    if kind == "persons":
        persons = selectors.person_list(actor=actor)
        content, count = _encode(fmt, PERSON_HEADER, _person_rows(persons, actor, whole, revealed))
    else:
        if whole:
            raise ValidationFailed("Whole numbers are exported for persons only.", code="bad_export")
        header, rows = _simple_rows(kind, actor)
        content, count = _encode(fmt, header, rows)
    if revealed and actor is not None and actor.is_authenticated:
        audit_read(
            actor=actor,
            origin=origin,
            object_type="registry.person",
            object_ids=revealed,
            action="registry.person.reveal_export",
            details={"fields": ["id_number", "phone"], "format": fmt},
        )
    content_type = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    return Export(f"registry-{kind}.{fmt}", content_type, content, count)
