"""Input and output shapes of the registry API. Outputs mask ID and phone numbers, always; whole
numbers leave only through the audited reveal endpoint. Health and key-group tags are present only
when the API marked the person for the reader (`show_care`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from zhiwang.grids.coords import CoordSystem
from zhiwang.registry.declarations import room_address
from zhiwang.registry.importing.jobs import job_progress


def _code(obj: Any, attr: str) -> str | None:
    node = getattr(obj, attr, None)
    return node.code if node is not None else None


class PointIn(Schema):
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    system: CoordSystem = CoordSystem.WGS84


class AddressIn(PointIn):
    road: str = Field(..., max_length=100)
    door_number: str = Field(..., max_length=20)
    aliases: list[str] = []


class AddressOut(Schema):
    id: int
    code: str
    town: str = Field(..., alias="town.name")
    community: str = Field(..., alias="community.name")
    road: str
    door_number: str
    full_text: str
    aliases: list[str]
    lon: float | None
    lat: float | None
    grid_code: str | None

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _code(obj, "grid")


class BuildingIn(Schema):
    address_id: int
    name: str = Field(..., max_length=50)
    kind: str = "residential"
    floors: int = 1
    use: str = ""
    is_rental: bool = False
    owner_name: str = ""
    manager_name: str = ""
    manager_phone: str = ""


class BuildingOut(Schema):
    id: int
    code: str
    address_id: int
    address: str = Field(..., alias="address.full_text")
    name: str
    kind: str
    floors: int
    use: str
    is_rental: bool
    owner_name: str
    manager_name: str
    manager_phone: str = Field(..., alias="manager_phone_masked")
    grid_code: str | None

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _code(obj, "grid")


class RoomIn(Schema):
    building_id: int
    number: str = Field(..., max_length=20)
    unit: str = ""
    floor: int | None = None
    use: str = "residential"
    rental_status: str = "self_occupied"


class RoomOut(Schema):
    id: int
    code: str
    building_id: int
    building: str = Field(..., alias="building.name")
    unit: str
    number: str
    floor: int | None
    use: str
    rental_status: str


class PersonIn(Schema):
    room_id: int
    name: str = Field(..., max_length=50)
    id_number: str = Field(..., max_length=24)
    phone: str = ""
    ethnicity: str = ""
    registered_address: str = ""
    residence_matches: bool = False
    employer_name: str = ""
    kind: str = "registered"
    inflow_reason: str = ""
    permit_type: str = ""
    health_status: str = ""
    employment_status: str = ""
    mobility_status: str = "resident"
    tags: list[str] = []
    tenancy_kind: str = "owner"
    moved_in_on: date | None = None


class PersonPatch(Schema):
    name: str | None = None
    phone: str | None = None
    ethnicity: str | None = None
    registered_address: str | None = None
    residence_matches: bool | None = None
    employer_name: str | None = None
    kind: str | None = None
    inflow_reason: str | None = None
    permit_type: str | None = None
    health_status: str | None = None
    employment_status: str | None = None
    mobility_status: str | None = None
    tags: list[str] | None = None


class MoveIn(Schema):
    room_id: int | None = None
    tenancy_kind: str = "owner"
    on: date | None = None


class ReasonIn(Schema):
    reason: str = Field(..., max_length=200)


class RevealOut(Schema):
    id_number: str
    phone: str


def _residence(obj: Any) -> str:
    room = getattr(obj, "room", None)
    if room is None:
        return ""
    building = room.building
    unit = f"{room.unit}单元" if room.unit else ""
    return f"{building.address.full_text}{building.name}{unit}{room.number}"


class PersonOut(Schema):
    id: int
    id_number: str = Field(..., alias="id_number_masked")
    name: str
    sex: str
    birth_year: int | None
    ethnicity: str
    registered_region: str
    registered_address: str
    residence_matches: bool
    phone: str = Field(..., alias="phone_masked")
    employer_name: str
    employers: list[str]
    kind: str
    inflow_reason: str
    permit_type: str
    room_id: int | None
    room_code: str | None
    residence: str
    grid_code: str | None
    status: str
    employment_status: str
    employment_since: date | None
    mobility_status: str
    mobility_since: date | None
    health_status: str | None
    health_since: date | None
    tags: list[str] | None

    @staticmethod
    def resolve_employers(obj: Any) -> list[str]:
        return [e.unit.name for e in getattr(obj, "current_employments", [])]

    @staticmethod
    def resolve_room_code(obj: Any) -> str | None:
        return obj.room.code if obj.room_id else None

    @staticmethod
    def resolve_residence(obj: Any) -> str:
        return _residence(obj)

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _code(obj, "grid")

    @staticmethod
    def resolve_health_status(obj: Any) -> str | None:
        return obj.health_status if getattr(obj, "show_care", False) else None

    @staticmethod
    def resolve_health_since(obj: Any) -> date | None:
        return obj.health_since if getattr(obj, "show_care", False) else None

    @staticmethod
    def resolve_tags(obj: Any) -> list[str] | None:
        return list(obj.tags) if getattr(obj, "show_care", False) else None


class TenancyOut(Schema):
    room_code: str = Field(..., alias="room.code")
    kind: str
    starts_on: date
    ends_on: date | None


class PersonDetailOut(PersonOut):
    history: list[TenancyOut]


class WorkforceOut(Schema):
    employment_id: int = Field(..., alias="id")
    unit_id: int
    unit: str = Field(..., alias="unit.name")
    position: str
    starts_on: date
    person: PersonOut


class UnitIn(PointIn):
    name: str = Field(..., max_length=200)
    kind: str = "enterprise"
    credit_code: str = ""
    industry: str = ""
    address_id: int | None = None
    contact_name: str = ""
    contact_phone: str = ""
    headcount: int = 0
    risk_level: str = "low"
    enterprise_grid_id: int | None = None


class UnitOut(Schema):
    id: int
    name: str
    kind: str
    credit_code: str | None
    industry: str
    address_id: int | None
    contact_name: str
    contact_phone: str = Field(..., alias="contact_phone_masked")
    headcount: int
    risk_level: str
    enterprise_grid_id: int | None
    enterprise_grid_code: str | None
    grid_code: str | None
    lon: float | None
    lat: float | None

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _code(obj, "grid")

    @staticmethod
    def resolve_enterprise_grid_code(obj: Any) -> str | None:
        return _code(obj, "enterprise_grid")


class EmploymentIn(Schema):
    unit_id: int
    person_id: int | None = None
    id_number: str = ""
    position: str = ""
    starts_on: date | None = None


class EndIn(Schema):
    ends_on: date | None = None


class EmploymentOut(Schema):
    id: int
    unit_id: int
    position: str
    starts_on: date
    ends_on: date | None
    person_id: int | None

    @staticmethod
    def resolve_person_id(obj: Any) -> int | None:
        return obj.person_id if getattr(obj, "person_visible", False) else None


class FacilityIn(PointIn):
    code: str = Field(..., max_length=16)
    name: str = Field(..., max_length=100)
    owner_department_id: int | None = None
    owner_name: str = ""
    maintainer_department_id: int | None = None
    maintainer_name: str = ""
    status: str = "intact"
    address_text: str = ""


class FacilityOut(Schema):
    id: int
    code: str
    name: str
    major_code: str
    minor_code: str
    owner_department_id: int | None
    owner_name: str
    maintainer_department_id: int | None
    maintainer_name: str
    status: str
    address_text: str
    lon: float | None
    lat: float | None
    grid_code: str | None

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _code(obj, "grid")


class ImportErrorOut(Schema):
    row: int
    column: str
    code: str
    message: str


class ImportOut(Schema):
    id: int
    kind: str
    status: str
    rows_total: int
    rows_imported: int
    error_count: int
    added: dict[str, int]
    created_at: datetime
    errors: list[ImportErrorOut]
    report_url: str

    @staticmethod
    def resolve_report_url(obj: Any) -> str:
        return f"/api/v1/registry/imports/{obj.pk}/report"


class ImportJobOut(Schema):
    id: int
    kind: str
    filename: str
    size: int
    status: str
    rows_checked: int | None
    batch: ImportOut | None
    error_code: str
    error_message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_rows_checked(obj: Any) -> int | None:
        return job_progress(obj)


# Residents' declarations -------------------------------------------------------------------------


class DeclarationOut(Schema):
    """A declaration in the reviewer's queue; numbers masked."""

    id: int
    code: str
    kind: str
    status: str
    room_id: int
    room_code: str = Field(..., alias="room.code")
    residence: str
    grid_code: str | None
    declarant_name: str
    declarant_phone: str = Field(..., alias="declarant_phone_masked")
    person_name: str
    id_number: str = Field(..., alias="id_number_masked")
    person_phone: str = Field(..., alias="person_phone_masked")
    person_kind: str
    inflow_reason: str
    employer_name: str
    moved_in_on: date | None
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    reject_reason: str
    person_id: int | None

    @staticmethod
    def resolve_residence(obj: Any) -> str:
        return room_address(obj.room)

    @staticmethod
    def resolve_grid_code(obj: Any) -> str | None:
        return _code(obj, "grid")

    @staticmethod
    def resolve_reviewed_by(obj: Any) -> str | None:
        user = obj.reviewed_by
        return (user.display_name or user.username) if user is not None else None


class RejectIn(Schema):
    reason: str = Field(..., max_length=300)
