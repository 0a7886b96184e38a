"""REST endpoints of the base-data registry. Thin: parse, call a service or selector, shape.

Outputs mask ID and phone numbers; `POST persons/{id}/reveal` is the one way to a whole number
(audited). Every read is scoped by the selectors; objects outside the scope answer 404.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Status, UploadedFile
from ninja.pagination import paginate

from zhiwang.accounts.models import User
from zhiwang.accounts.permissions import scope_for
from zhiwang.audit.services import audit_read
from zhiwang.common.errors import ValidationFailed
from zhiwang.common.origin import origin_from_request
from zhiwang.common.pagination import Pages
from zhiwang.registry import declarations, exporting, importing, selectors, services
from zhiwang.registry.importing import jobs
from zhiwang.registry.models import (
    Address,
    Building,
    Declaration,
    Employment,
    Facility,
    ImportBatch,
    ImportJob,
    Person,
    Room,
    Unit,
)
from zhiwang.registry.permissions import can_see_care_fields
from zhiwang.registry.schemas import (
    AddressIn,
    AddressOut,
    BuildingIn,
    BuildingOut,
    DeclarationOut,
    EmploymentIn,
    EmploymentOut,
    EndIn,
    FacilityIn,
    FacilityOut,
    ImportJobOut,
    ImportOut,
    MoveIn,
    PersonDetailOut,
    PersonIn,
    PersonOut,
    PersonPatch,
    ReasonIn,
    RejectIn,
    RevealOut,
    RoomIn,
    RoomOut,
    UnitIn,
    UnitOut,
    WorkforceOut,
)

router = Router()


def _marked(request: HttpRequest, persons: Iterable[Person]) -> list[Person]:
    """Mark each person with whether this reader sees their health and key-group tags."""
    scope = scope_for(request.user)
    marked = list(persons)
    for person in marked:
        person.show_care = can_see_care_fields(scope, person.grid_path)  # type: ignore[attr-defined]
    return marked


# Places ------------------------------------------------------------------------------------------


@router.get("/addresses", response=list[AddressOut], summary="Standard addresses")
@paginate(Pages)
def list_addresses(request: HttpRequest, q: str = "", community_id: int | None = None) -> Any:
    return selectors.address_list(actor=request.user, search=q, community_id=community_id)


@router.post("/addresses", response={201: AddressOut})
def create_address(request: HttpRequest, payload: AddressIn) -> Status[Address]:
    address = services.address_create(
        actor=request.user,
        road=payload.road,
        door_number=payload.door_number,
        lon=payload.lon,
        lat=payload.lat,
        system=payload.system,
        aliases=payload.aliases,
        origin=origin_from_request(request),
    )
    return Status(201, selectors.address_get(actor=request.user, address_id=address.pk))


@router.get("/addresses/{int:address_id}", response=AddressOut)
def get_address(request: HttpRequest, address_id: int) -> Address:
    return selectors.address_get(actor=request.user, address_id=address_id)


@router.get("/buildings", response=list[BuildingOut])
@paginate(Pages)
def list_buildings(request: HttpRequest, address_id: int | None = None, rental: bool | None = None) -> Any:
    return selectors.building_list(actor=request.user, address_id=address_id, rental=rental)


@router.post("/buildings", response={201: BuildingOut})
def create_building(request: HttpRequest, payload: BuildingIn) -> Status[Building]:
    building = services.building_create(
        actor=request.user, origin=origin_from_request(request), **payload.dict()
    )
    return Status(201, selectors.building_get(actor=request.user, building_id=building.pk))


@router.get("/buildings/{int:building_id}", response=BuildingOut)
def get_building(request: HttpRequest, building_id: int) -> Building:
    return selectors.building_get(actor=request.user, building_id=building_id)


@router.get("/rooms", response=list[RoomOut], summary="Rooms; `code` looks one up (房屋编码查询)")
@paginate(Pages)
def list_rooms(request: HttpRequest, building_id: int | None = None, code: str = "") -> Any:
    return selectors.room_list(actor=request.user, building_id=building_id, code=code)


@router.post("/rooms", response={201: RoomOut})
def create_room(request: HttpRequest, payload: RoomIn) -> Status[Room]:
    room = services.room_create(actor=request.user, origin=origin_from_request(request), **payload.dict())
    return Status(201, selectors.room_get(actor=request.user, room_id=room.pk))


@router.get("/rooms/{int:room_id}", response=RoomOut)
def get_room(request: HttpRequest, room_id: int) -> Room:
    return selectors.room_get(actor=request.user, room_id=room_id)


# Persons -----------------------------------------------------------------------------------------


@router.get("/persons", response=list[PersonOut], summary="Persons; search by exact ID or phone number")
@paginate(Pages)
def list_persons(
    request: HttpRequest,
    id_number: str = "",
    phone: str = "",
    name: str = "",
    status: str = "active",
    kind: str = "",
) -> Any:
    persons = selectors.person_list(
        actor=request.user, id_number=id_number, phone=phone, name=name, status=status or None, kind=kind
    )
    return _MarkedList(request, persons)


class _MarkedList:
    """A lazily sliced person list that marks only the page it returns."""

    def __init__(self, request: HttpRequest, queryset: Any) -> None:
        self.request = request
        self.queryset = queryset

    def __len__(self) -> int:
        return int(self.queryset.count())

    def count(self) -> int:
        return int(self.queryset.count())

    def __getitem__(self, item: slice) -> list[Person]:
        return _marked(self.request, self.queryset[item])


@router.post("/persons", response={201: PersonDetailOut})
def create_person(request: HttpRequest, payload: PersonIn) -> Status[Person]:
    data = payload.dict()
    room_id, tenancy_kind, moved_in_on = (
        data.pop("room_id"),
        data.pop("tenancy_kind"),
        data.pop("moved_in_on"),
    )
    data["tags"] = tuple(data["tags"])
    person = services.person_create(
        actor=request.user,
        room_id=room_id,
        fields=services.PersonFields(**data),
        tenancy_kind=tenancy_kind,
        moved_in_on=moved_in_on,
        origin=origin_from_request(request),
    )
    return Status(201, _detail(request, person.pk))


def _detail(request: HttpRequest, person_id: int) -> Person:
    person = selectors.person_get(actor=request.user, person_id=person_id)
    _marked(request, [person])
    person.history = selectors.person_history(person, scope_for(request.user))  # type: ignore[attr-defined]
    return person


@router.get("/persons/{int:person_id}", response=PersonDetailOut)
def get_person(request: HttpRequest, person_id: int) -> Person:
    person = _detail(request, person_id)
    assert isinstance(request.user, User)
    services.person_read_recorded(actor=request.user, person=person, origin=origin_from_request(request))
    return person


@router.patch("/persons/{int:person_id}", response=PersonDetailOut)
def update_person(request: HttpRequest, person_id: int, payload: PersonPatch) -> Person:
    changes = payload.dict(exclude_unset=True)
    services.person_update(
        actor=request.user, person_id=person_id, changes=changes, origin=origin_from_request(request)
    )
    return _detail(request, person_id)


@router.post("/persons/{int:person_id}/move", response=PersonDetailOut, summary="Move in to a room, or out")
def move_person(request: HttpRequest, person_id: int, payload: MoveIn) -> Person:
    person = services.person_move(
        actor=request.user,
        person_id=person_id,
        room_id=payload.room_id,
        tenancy_kind=payload.tenancy_kind,
        on=payload.on,
        origin=origin_from_request(request),
    )
    return _detail(request, person.pk)


@router.post(
    "/persons/{int:person_id}/reveal", response=RevealOut, summary="Whole ID and phone numbers (audited)"
)
def reveal_person(request: HttpRequest, person_id: int, payload: ReasonIn) -> dict[str, str]:
    return services.person_reveal(
        actor=request.user, person_id=person_id, reason=payload.reason, origin=origin_from_request(request)
    )


@router.post("/persons/{int:person_id}/anonymise", response=PersonOut, summary="Delete personal data")
def anonymise_person(request: HttpRequest, person_id: int, payload: ReasonIn) -> Person:
    person = services.person_anonymise(
        actor=request.user, person_id=person_id, reason=payload.reason, origin=origin_from_request(request)
    )
    return _marked(request, [selectors.person_get(actor=request.user, person_id=person.pk)])[0]


@router.get(
    "/communities/{int:grid_id}/residents", response=list[PersonOut], summary="A community's residents"
)
@paginate(Pages)
def community_residents(request: HttpRequest, grid_id: int) -> Any:
    return _MarkedList(request, selectors.community_residents(actor=request.user, grid_id=grid_id))


@router.get(
    "/enterprise-grids/{int:grid_id}/workforce",
    response=list[WorkforceOut],
    summary="An enterprise grid's workforce and where they live",
)
@paginate(Pages)
def enterprise_workforce(request: HttpRequest, grid_id: int) -> Any:
    employments = selectors.enterprise_workforce(actor=request.user, grid_id=grid_id)
    return _MarkedWorkforce(request, employments)


class _MarkedWorkforce(_MarkedList):
    def __getitem__(self, item: slice) -> list[Employment]:  # type: ignore[override]
        page = list(self.queryset[item])
        _marked(self.request, [e.person for e in page])
        return page


# Units, employment, facilities -------------------------------------------------------------------


@router.get("/units", response=list[UnitOut])
@paginate(Pages)
def list_units(
    request: HttpRequest, kind: str = "", credit_code: str = "", enterprise_grid_id: int | None = None
) -> Any:
    return selectors.unit_list(
        actor=request.user, kind=kind, credit_code=credit_code, enterprise_grid_id=enterprise_grid_id
    )


@router.post("/units", response={201: UnitOut})
def create_unit(request: HttpRequest, payload: UnitIn) -> Status[Unit]:
    unit = services.unit_create(actor=request.user, origin=origin_from_request(request), **payload.dict())
    return Status(201, selectors.unit_get(actor=request.user, unit_id=unit.pk))


@router.get("/units/{int:unit_id}", response=UnitOut)
def get_unit(request: HttpRequest, unit_id: int) -> Unit:
    return selectors.unit_get(actor=request.user, unit_id=unit_id)


def _employment_out(request: HttpRequest, employment: Employment) -> Employment:
    """The person is named only to a reader who may read them anyway."""
    visible_q = selectors.person_visible_q(scope_for(request.user))
    employment.person_visible = employment.person_id is not None and (  # type: ignore[attr-defined]
        Person.objects.filter(visible_q, pk=employment.person_id).exists()
    )
    return employment


@router.post(
    "/employment", response={200: EmploymentOut, 201: EmploymentOut}, summary="Link a person to a unit"
)
def create_employment(request: HttpRequest, payload: EmploymentIn) -> Status[Employment]:
    result = services.employment_create(
        actor=request.user,
        unit_id=payload.unit_id,
        person_id=payload.person_id,
        id_number=payload.id_number,
        position=payload.position,
        starts_on=payload.starts_on,
        origin=origin_from_request(request),
    )
    return Status(201 if result.created else 200, _employment_out(request, result.employment))


@router.post("/employment/{int:employment_id}/end", response=EmploymentOut)
def end_employment(request: HttpRequest, employment_id: int, payload: EndIn) -> Employment:
    employment = services.employment_end(
        actor=request.user,
        employment_id=employment_id,
        ends_on=payload.ends_on,
        origin=origin_from_request(request),
    )
    return _employment_out(request, employment)


@router.get("/facilities", response=list[FacilityOut], summary="City components (部件)")
@paginate(Pages)
def list_facilities(
    request: HttpRequest, major_code: str = "", status: str = "", department_id: int | None = None
) -> Any:
    return selectors.facility_list(
        actor=request.user, major_code=major_code, status=status, department_id=department_id
    )


@router.post("/facilities", response={201: FacilityOut})
def create_facility(request: HttpRequest, payload: FacilityIn) -> Status[Facility]:
    facility = services.facility_create(
        actor=request.user, origin=origin_from_request(request), **payload.dict()
    )
    return Status(201, selectors.facility_get(actor=request.user, facility_id=facility.pk))


@router.get("/facilities/{int:facility_id}", response=FacilityOut)
def get_facility(request: HttpRequest, facility_id: int) -> Facility:
    return selectors.facility_get(actor=request.user, facility_id=facility_id)


# Import and export -------------------------------------------------------------------------------


@router.post(
    "/imports",
    response={201: ImportOut},
    summary="Import residents, units, facilities or places from CSV or Excel (all or nothing)",
)
def import_file(
    request: HttpRequest,
    file: File[UploadedFile],
    mapping: Form[str] = "",
    kind: Form[str] = "persons",
) -> Status[ImportBatch]:
    """`kind`: persons (the default), units, facilities or places (standard addresses with their
    buildings and rooms); `mapping`: a JSON object of field names to column headers, for headers the
    import does not recognise. The file is imported within the request: for large files, queue an
    import job instead."""
    if file.file is None:
        raise ValidationFailed("Send a file.", code="no_file")
    batch = importing.import_file(
        kind=kind,
        actor=request.user,
        stream=file.file,
        filename=file.name or "upload.csv",
        mapping=_mapping(mapping),
        origin=origin_from_request(request),
    )
    return Status(201, batch)


def _mapping(text: str) -> dict[str, str] | None:
    """A column mapping sent as JSON text."""
    try:
        columns = json.loads(text) if text else None
    except json.JSONDecodeError as exc:
        raise ValidationFailed("The mapping is not JSON.", code="bad_mapping") from exc
    if columns is not None and not (
        isinstance(columns, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items())
    ):
        raise ValidationFailed(
            "The mapping is an object of field names to column headers.", code="bad_mapping"
        )
    return columns


@router.post(
    "/import-jobs",
    response={202: ImportJobOut},
    summary="Queue a file for import in the background (large files); follow it with GET",
)
def queue_import(
    request: HttpRequest,
    file: File[UploadedFile],
    mapping: Form[str] = "",
    kind: Form[str] = "persons",
) -> Status[ImportJob]:
    """As `POST imports`, but answered at once: `zhiwang worker` imports the file (kept sealed while it
    waits). `GET import-jobs/{id}` tells the rows checked so far, then the batch (applied, or refused
    with its report) or why the file could not be imported."""
    if file.file is None:
        raise ValidationFailed("Send a file.", code="no_file")
    job = jobs.job_queue(
        actor=request.user,
        stream=file.file,
        filename=file.name or "upload.csv",
        kind=kind,
        mapping=_mapping(mapping),
        origin=origin_from_request(request),
    )
    return Status(202, job)


@router.get("/import-jobs/{int:job_id}", response=ImportJobOut)
def get_import_job(request: HttpRequest, job_id: int) -> ImportJob:
    return selectors.import_job_get(actor=request.user, job_id=job_id)


@router.get("/imports/{int:batch_id}", response=ImportOut)
def get_import(request: HttpRequest, batch_id: int) -> ImportBatch:
    return selectors.import_batch_get(actor=request.user, batch_id=batch_id)


@router.get("/imports/{int:batch_id}/report", summary="The row-by-row report as CSV")
def import_report(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = selectors.import_batch_get(actor=request.user, batch_id=batch_id)
    response = HttpResponse(importing.report_csv(batch), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-report.csv"'
    return response


@router.get("/export", summary="Export what you may read, masked unless `whole` (audited)")
def export(
    request: HttpRequest, kind: str = "persons", format: str = "csv", whole: bool = False
) -> HttpResponse:
    result = exporting.export(
        actor=request.user, kind=kind, fmt=format, whole=whole, origin=origin_from_request(request)
    )
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return response


# Residents' declarations (居住登记, 自主申报) --------------------------------------------------------


@router.get(
    "/declarations",
    response=list[DeclarationOut],
    summary="Residents' declarations waiting for review (`status`: pending, approved, rejected, or empty)",
)
@paginate(Pages)
def list_declarations(request: HttpRequest, status: str = "pending", kind: str = "") -> Any:
    return selectors.declaration_queue(actor=request.user, status=status, kind=kind)


@router.get("/declarations/{int:declaration_id}", response=DeclarationOut)
def get_declaration(request: HttpRequest, declaration_id: int) -> Declaration:
    declaration = selectors.declaration_get(actor=request.user, declaration_id=declaration_id)
    assert isinstance(request.user, User)
    audit_read(
        actor=request.user,
        origin=origin_from_request(request),
        object_type="registry.declaration",
        object_ids=[declaration.pk],
        action="registry.declaration.read",
    )
    return declaration


@router.post(
    "/declarations/{int:declaration_id}/approve",
    response=DeclarationOut,
    summary="Approve: register the person in the room",
)
def approve_declaration(request: HttpRequest, declaration_id: int) -> Declaration:
    return declarations.declaration_approve(
        actor=request.user, declaration_id=declaration_id, origin=origin_from_request(request)
    )


@router.post(
    "/declarations/{int:declaration_id}/reject",
    response=DeclarationOut,
    summary="Reject with a reason the declarant reads",
)
def reject_declaration(request: HttpRequest, declaration_id: int, payload: RejectIn) -> Declaration:
    return declarations.declaration_reject(
        actor=request.user,
        declaration_id=declaration_id,
        reason=payload.reason,
        origin=origin_from_request(request),
    )
