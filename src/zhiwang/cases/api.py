"""REST endpoints for cases, whistles and KPIs. Thin: parse, call a service or selector, shape."""

from datetime import datetime
from typing import Any

from django.http import FileResponse, HttpRequest
from django.utils import timezone
from ninja import File, Form, Router, Status, UploadedFile
from ninja.pagination import paginate

from zhiwang.accounts.permissions import require_staff_role
from zhiwang.cases import clock, intake, kpis, photos, selectors, services, whistles
from zhiwang.cases.models import Case, Extension, Whistle
from zhiwang.cases.permissions import allowed_actions
from zhiwang.cases.schemas import (
    AcceptIn,
    CaseDetailOut,
    CaseIn,
    CaseOut,
    DispatchIn,
    DuplicateOut,
    ExtensionDecisionIn,
    ExtensionIn,
    HandleIn,
    MergeIn,
    NoteIn,
    PhotoOut,
    ReasonIn,
    RevisitIn,
    VerifyIn,
    WhistleIn,
    WhistleOut,
)
from zhiwang.common.origin import origin_from_request
from zhiwang.common.pagination import Pages
from zhiwang.grids.selectors import grid_get
from zhiwang.workcalendar.hours import WorkingCalendar
from zhiwang.workcalendar.selectors import working_calendar

router = Router()
whistle_router = Router()
kpi_router = Router()


def _with_light(case: Case, calendar: WorkingCalendar | None = None) -> Case:
    case.light = clock.light(case, timezone.now(), calendar)  # type: ignore[attr-defined]  # read by the schema
    return case


def _detail(
    request: HttpRequest, case_id: int, case: Case | None = None, fresh: intake.Reported | None = None
) -> dict[str, Any]:
    """The case with its light, timeline, overlay grids and the actions this user may take now.

    `case`, when given, is one the caller has just loaded or created for this user (no re-check);
    `fresh`, a case intake has just created, whose timeline and overlays are known without reading.
    """
    if case is None:
        case = selectors.case_get(actor=request.user, case_id=case_id)
    _with_light(case)
    if fresh is not None:  # nothing pending, no photos yet
        pending = False
        case.timeline = fresh.timeline  # type: ignore[attr-defined]
        case.overlay_grids_codes = fresh.overlay_codes  # type: ignore[attr-defined]
        case.photo_list = []  # type: ignore[attr-defined]
    else:
        pending = Extension.objects.pending_for(case).exists()
        case.timeline = list(selectors.case_timeline(case))  # type: ignore[attr-defined]
        case.overlay_grids_codes = list(  # type: ignore[attr-defined]
            case.overlay_grids.order_by("code").values_list("code", flat=True)
        )
        case.photo_list = [  # type: ignore[attr-defined]
            {
                "id": p.pk,
                "stage": p.stage,
                "uploaded_at": p.uploaded_at,
                "url": f"/api/v1/cases/{case.pk}/photos/{p.pk}",
            }
            for p in case.photos.filter(city_id=case.city_id).order_by("uploaded_at", "id")
        ]
    case.actions = allowed_actions(request.user, case, pending_extension=pending)  # type: ignore[attr-defined]
    return case  # type: ignore[return-value]  # the schema reads attributes


@router.post("", response={200: CaseDetailOut, 201: CaseDetailOut}, summary="Report a case")
def report_case(request: HttpRequest, payload: CaseIn) -> Status[dict[str, Any]]:
    reported = intake.case_report(
        actor=request.user,
        channel=payload.channel,
        lon=payload.lon,
        lat=payload.lat,
        system=payload.system,
        address=payload.address,
        category_code=payload.category,
        description=payload.description,
        urgency=payload.urgency,
        idempotency_key=payload.idempotency_key,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        external_ref=payload.external_ref,
        extra=payload.extra,
        self_handled=payload.self_handled,
        origin=origin_from_request(request),
    )
    if reported.created:
        return Status(201, _detail(request, reported.case.pk, reported.case, fresh=reported))
    # A replayed key re-reads the case and re-checks the reader's right.
    return Status(200, _detail(request, reported.case.pk))


@router.get("", response=list[CaseOut], summary="Work queues")
@paginate(Pages)
def list_cases(
    request: HttpRequest,
    queue: str | None = None,
    status: str | None = None,
    light: str | None = None,
    category: str | None = None,
    within: int | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    within_path = grid_get(actor=request.user, grid_id=within).path if within is not None else None
    cases = selectors.case_list(
        actor=request.user,
        queue=queue,
        status=status,
        light=light,
        category=category,
        within_path=within_path,
        channel=channel,
        since=since,
        until=until,
    )
    calendar = working_calendar()
    return [_with_light(c, calendar) for c in cases]


@router.get("/{int:case_id}", response=CaseDetailOut)
def get_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return _detail(request, case_id)


@router.get("/{int:case_id}/duplicates", response=list[DuplicateOut])
def case_duplicates(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    case = selectors.case_get(actor=request.user, case_id=case_id)
    return [
        {"case": _with_light(c), "score": s}
        for c, s in selectors.duplicate_candidates(actor=request.user, case=case)
    ]


@router.post("/{int:case_id}/accept", response=CaseDetailOut)
def accept(request: HttpRequest, case_id: int, payload: AcceptIn) -> dict[str, Any]:
    services.case_accept(
        actor=request.user,
        case_id=case_id,
        category_code=payload.category,
        note=payload.note,
        origin=origin_from_request(request),
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/reject", response=CaseDetailOut)
def reject(request: HttpRequest, case_id: int, payload: ReasonIn) -> dict[str, Any]:
    services.case_reject(
        actor=request.user, case_id=case_id, reason=payload.reason, origin=origin_from_request(request)
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/merge", response=CaseDetailOut)
def merge(request: HttpRequest, case_id: int, payload: MergeIn) -> dict[str, Any]:
    services.case_merge(
        actor=request.user,
        case_id=case_id,
        into_id=payload.into,
        note=payload.note,
        origin=origin_from_request(request),
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/dispatch", response=CaseDetailOut)
def dispatch(request: HttpRequest, case_id: int, payload: DispatchIn) -> dict[str, Any]:
    services.case_dispatch(
        actor=request.user,
        case_id=case_id,
        department_id=payload.department_id,
        community_id=payload.community_id,
        note=payload.note,
        origin=origin_from_request(request),
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/sign", response=CaseDetailOut)
def sign(request: HttpRequest, case_id: int) -> dict[str, Any]:
    services.case_sign(actor=request.user, case_id=case_id, origin=origin_from_request(request))
    return _detail(request, case_id)


@router.post("/{int:case_id}/return", response=CaseDetailOut)
def return_case(request: HttpRequest, case_id: int, payload: ReasonIn) -> dict[str, Any]:
    services.case_return(
        actor=request.user, case_id=case_id, reason=payload.reason, origin=origin_from_request(request)
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/extension", response=CaseDetailOut, summary="Request an extension")
def request_extension(request: HttpRequest, case_id: int, payload: ExtensionIn) -> dict[str, Any]:
    services.case_request_extension(
        actor=request.user,
        case_id=case_id,
        amount=payload.amount,
        unit=payload.unit,
        reason=payload.reason,
        origin=origin_from_request(request),
    )
    return _detail(request, case_id)


@router.post(
    "/{int:case_id}/extension/decision", response=CaseDetailOut, summary="Approve or refuse an extension"
)
def decide_extension(request: HttpRequest, case_id: int, payload: ExtensionDecisionIn) -> dict[str, Any]:
    services.case_decide_extension(
        actor=request.user,
        case_id=case_id,
        approve=payload.approve,
        note=payload.note,
        origin=origin_from_request(request),
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/park", response=CaseDetailOut)
def park(request: HttpRequest, case_id: int, payload: ReasonIn) -> dict[str, Any]:
    services.case_park(
        actor=request.user, case_id=case_id, reason=payload.reason, origin=origin_from_request(request)
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/unpark", response=CaseDetailOut)
def unpark(request: HttpRequest, case_id: int, payload: NoteIn) -> dict[str, Any]:
    services.case_unpark(
        actor=request.user, case_id=case_id, note=payload.note, origin=origin_from_request(request)
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/handle", response=CaseDetailOut)
def handle(request: HttpRequest, case_id: int, payload: HandleIn) -> dict[str, Any]:
    services.case_handle(
        actor=request.user, case_id=case_id, result=payload.result, origin=origin_from_request(request)
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/verify", response=CaseDetailOut)
def verify(request: HttpRequest, case_id: int, payload: VerifyIn) -> dict[str, Any]:
    services.case_verify(
        actor=request.user,
        case_id=case_id,
        passed=payload.passed,
        note=payload.note,
        origin=origin_from_request(request),
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/revisit", response=CaseDetailOut)
def revisit(request: HttpRequest, case_id: int, payload: RevisitIn) -> dict[str, Any]:
    services.case_revisit(
        actor=request.user,
        case_id=case_id,
        rating=payload.rating,
        comment=payload.comment,
        origin=origin_from_request(request),
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/supervise", response=CaseDetailOut)
def supervise(request: HttpRequest, case_id: int, payload: ReasonIn) -> dict[str, Any]:
    services.case_supervise(
        actor=request.user, case_id=case_id, note=payload.reason, origin=origin_from_request(request)
    )
    return _detail(request, case_id)


@router.post("/{int:case_id}/photos", response={201: PhotoOut}, summary="Add a photo (multipart)")
def add_photo(
    request: HttpRequest, case_id: int, stage: Form[str], file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    photo = photos.case_add_photo(
        actor=request.user,
        case_id=case_id,
        stage=stage,
        content=file.read(),
        origin=origin_from_request(request),
    )
    url = f"/api/v1/cases/{case_id}/photos/{photo.pk}"
    return Status(201, {"id": photo.pk, "stage": photo.stage, "uploaded_at": photo.uploaded_at, "url": url})


@router.get("/{int:case_id}/photos/{int:photo_id}", response={200: None}, summary="A photo's image")
def get_photo(request: HttpRequest, case_id: int, photo_id: int) -> FileResponse:
    photo = selectors.photo_get(actor=request.user, case_id=case_id, photo_id=photo_id)
    return FileResponse(photo.file.open("rb"))


@whistle_router.post("", response={201: WhistleOut}, summary="Blow a whistle (吹哨)")
def blow(request: HttpRequest, payload: WhistleIn) -> Status[Whistle]:
    whistle = whistles.whistle_blow(
        actor=request.user,
        level=payload.level,
        department_ids=payload.department_ids,
        summary=payload.summary,
        case_id=payload.case_id,
        node_id=payload.node_id,
        origin=origin_from_request(request),
    )
    return Status(201, whistle)


@whistle_router.post("/{int:whistle_id}/report-in", response=WhistleOut, summary="Report in (报到)")
def report_in(request: HttpRequest, whistle_id: int, payload: NoteIn) -> Whistle:
    summon = whistles.whistle_report_in(
        actor=request.user, whistle_id=whistle_id, note=payload.note, origin=origin_from_request(request)
    )
    return summon.whistle


@whistle_router.post("/{int:whistle_id}/close", response=WhistleOut)
def close_whistle(request: HttpRequest, whistle_id: int) -> Whistle:
    return whistles.whistle_close(
        actor=request.user, whistle_id=whistle_id, origin=origin_from_request(request)
    )


@kpi_router.get("", response=dict[str, Any], summary="KPIs for a grid node, department or grid worker")
def get_kpis(
    request: HttpRequest,
    node: int | None = None,
    department: int | None = None,
    worker: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, Any]:
    require_staff_role(request.user)
    return kpis.report(
        actor=request.user,
        node=grid_get(actor=request.user, grid_id=node) if node is not None else None,
        department_id=department,
        reporter_id=worker,
        since=since,
        until=until,
    ).as_dict()
