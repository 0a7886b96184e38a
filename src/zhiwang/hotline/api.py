"""The 12345 exchange: the hotline's signed requests (no session or token: the signature is the
credential, and the request acts as the hotline's machine account)."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from zhiwang.cases.models import Case
from zhiwang.common.origin import origin_from_request
from zhiwang.hotline import services
from zhiwang.hotline.schemas import (
    ActionOut,
    DecisionIn,
    NoteIn,
    OrderIn,
    OrderOut,
    ReopenIn,
    ReturnOutcomeIn,
    SatisfactionIn,
)
from zhiwang.hotline.security import HotlineSignature

router = Router(auth=HotlineSignature())

ORDER = "/orders/{order_no}"


def _action(order_no: str, case: Case) -> dict[str, Any]:
    return {"order_no": order_no, "case_number": case.number, "status": case.status}


@router.post("/orders", response={200: OrderOut, 201: OrderOut}, summary="Receive a work order (工单)")
def receive_order(request: HttpRequest, payload: OrderIn) -> Status[dict[str, Any]]:
    where = payload.location
    received = services.order_receive(
        order=services.WorkOrder(
            order_no=payload.order_no,
            content=payload.content,
            received_at=payload.received_at,
            caller_name=payload.caller_name,
            caller_phone=payload.caller_phone,
            category=payload.category,
            lon=where.lon,
            lat=where.lat,
            coord_system=where.coord_system,
            address=where.address,
            area_code=where.area_code,
            time_limit=payload.time_limit,
            due_at=payload.due_at,
            urgency=payload.urgency,
            raw=payload.model_dump(mode="json"),
        ),
        origin=origin_from_request(request),
    )
    case = received.order.case
    body = {
        "order_no": received.order.order_no,
        "case_number": case.number,
        "tracking_code": case.tracking_code,
        "status": case.status,
        "created": received.created,
    }
    return Status(201 if received.created else 200, body)


@router.post(ORDER + "/supervise", response=ActionOut, summary="催办/督办: press on the order")
def supervise(request: HttpRequest, order_no: str, payload: NoteIn) -> dict[str, Any]:
    case = services.order_supervise(order_no=order_no, note=payload.note, origin=origin_from_request(request))
    return _action(order_no, case)


@router.post(
    ORDER + "/return-outcome", response=ActionOut, summary="The outcome of our return request (退单)"
)
def return_outcome(request: HttpRequest, order_no: str, payload: ReturnOutcomeIn) -> dict[str, Any]:
    case = services.order_return_outcome(
        order_no=order_no, approved=payload.approved, note=payload.note, origin=origin_from_request(request)
    )
    return _action(order_no, case)


@router.post(
    ORDER + "/extension-decision", response=ActionOut, summary="The decision on our extension request (延期)"
)
def extension_decision(request: HttpRequest, order_no: str, payload: DecisionIn) -> dict[str, Any]:
    case = services.order_extension_decision(
        order_no=order_no, approved=payload.approved, note=payload.note, origin=origin_from_request(request)
    )
    return _action(order_no, case)


@router.post(ORDER + "/satisfaction", response=ActionOut, summary="The callback's satisfaction (回访评价)")
def satisfaction(request: HttpRequest, order_no: str, payload: SatisfactionIn) -> dict[str, Any]:
    case = services.order_satisfaction(
        order_no=order_no, rating=payload.rating, comment=payload.comment, origin=origin_from_request(request)
    )
    return _action(order_no, case)


@router.post(ORDER + "/reopen", response=ActionOut, summary="重办: reopen the order")
def reopen(request: HttpRequest, order_no: str, payload: ReopenIn) -> dict[str, Any]:
    case = services.order_reopen(
        order_no=order_no, reason=payload.reason, rating=payload.rating, origin=origin_from_request(request)
    )
    return _action(order_no, case)
