"""The 12345 exchange's writes: work orders in (through `cases.intake`), the hotline's actions on them
(through `cases.services`, as the hotline's machine account), and messages back (an outbox of our own,
written with each case event and delivered by a periodic job)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from shapely.geometry import shape

from zhiwang.accounts.models import User
from zhiwang.accounts.permissions import check_city_administrator
from zhiwang.audit.services import audit_record
from zhiwang.cases import services as workflow
from zhiwang.cases.intake import case_report
from zhiwang.cases.models import Case, CaseEvent, Channel, Status
from zhiwang.cases.permissions import cities_of
from zhiwang.cases.steps import Actor
from zhiwang.common.errors import Conflict, NotFound, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode
from zhiwang.hotline.account import account_username, hotline_account, hotline_city
from zhiwang.hotline.models import HotlineCategoryMap, HotlineMessage, HotlineOrder, MessageType
from zhiwang.hotline.security import hotline_secret
from zhiwang.taxonomy.models import Category
from zhiwang.webhooks import outbox
from zhiwang.webhooks.signing import encode, post_signed

MESSAGE_HEADER = "X-Zhiwang-Message"
DEFAULT_MAX_ATTEMPTS = 12


# --- work orders in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkOrder:
    """A work order as the hotline sends it (see `schemas.OrderIn`)."""

    order_no: str
    content: str
    received_at: datetime
    caller_name: str = ""
    caller_phone: str = ""
    category: str = ""
    lon: float | None = None
    lat: float | None = None
    coord_system: str = "wgs84"
    address: str = ""
    area_code: str = ""
    time_limit: str = ""
    due_at: datetime | None = None
    urgency: str = "normal"
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    order: HotlineOrder
    created: bool  # False: the order number had been received before (a resend)


def our_category(code: str) -> str | None:
    """Our minor category for the hotline's code: ours as is, or mapped; None when unknown."""
    code = code.strip()
    if not code:
        return None
    if Category.objects.filter(code=code, is_active=True, parent__isnull=False).exists():
        return code
    mapping = (
        HotlineCategoryMap.objects.filter(hotline_code=code, category__is_active=True)
        .select_related("category")
        .first()
    )
    return mapping.category.code if mapping is not None else None


def _where(order: WorkOrder, account: User) -> tuple[float, float, str, bool]:
    """(lon, lat, coordinate system, approximate). Without coordinates the address is kept and the
    case is placed inside the area named by `area_code` (or the hotline's city), marked approximate."""
    if order.lon is not None and order.lat is not None:
        return order.lon, order.lat, order.coord_system, False
    if not order.address.strip():
        raise ValidationFailed("Give the coordinates or the address.", code="location_required")
    node = (
        GridNode.objects.filter(code=order.area_code.strip(), valid_to__isnull=True).first()
        if order.area_code.strip()
        else hotline_city(account)
    )
    if node is None:
        raise ValidationFailed(f"There is no area {order.area_code}.", code="bad_area")
    point = shape(node.geometry).representative_point()
    return float(point.x), float(point.y), "wgs84", True


def _aware(moment: datetime) -> datetime:
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def order_receive(*, order: WorkOrder, origin: Origin) -> Received:
    """Turn a work order into a case (channel "hotline", `external_ref` = the order number), once:
    a resend of the same order number returns the order received first."""
    order_no = order.order_no.strip()
    if not order_no:
        raise ValidationFailed("The order number is missing.", code="order_no_required")
    account = hotline_account()
    existing = _order_of(order_no, account)
    if existing is not None:
        return Received(existing, created=False)
    category_code = our_category(order.category)
    lon, lat, system, approximate = _where(order, account)
    received_at = min(_aware(order.received_at), timezone.now())
    due_at = _aware(order.due_at) if order.due_at is not None else None
    extra: dict[str, Any] = {"hotline_category": order.category, "hotline_time_limit": order.time_limit}
    if approximate:
        extra["location_approximate"] = True
    try:
        with transaction.atomic():
            reported = case_report(
                actor=account,
                channel=Channel.HOTLINE,
                lon=lon,
                lat=lat,
                system=system,
                origin=origin,
                description=order.content,
                address=order.address,
                category_code=category_code,
                urgency=order.urgency,
                idempotency_key=f"hotline:{order_no}",
                reporter_name=order.caller_name,
                reporter_phone=order.caller_phone,
                external_ref=order_no,
                extra=extra,
                at=received_at,
            )
            hotline_order = HotlineOrder.objects.create(
                order_no=order_no,
                case=reported.case,
                hotline_category=order.category.strip()[:64],
                time_limit=order.time_limit.strip()[:64],
                due_at=due_at,
                received_at=received_at,
                raw=order.raw,
            )
    except IntegrityError:
        # A resend raced with the first request: answer with the order it created.
        existing = _order_of(order_no, account)
        if existing is None:
            raise
        return Received(existing, created=False)
    return Received(hotline_order, created=True)


# --- the hotline's actions --------------------------------------------------------------------


def _order_of(order_no: str, account: User) -> HotlineOrder | None:
    """The order with its case, read in the cities of the exchange's account."""
    return (
        HotlineOrder.objects.select_related("case")
        .filter(cities_of(account, "case__city_id"), order_no=order_no)
        .first()
    )


def order_get(order_no: str, account: User) -> HotlineOrder:
    order = _order_of(order_no, account)
    if order is None:
        raise NotFound("No such work order.")
    return order


def order_supervise(*, order_no: str, note: str, origin: Origin) -> Case:
    """催办/督办 from the hotline: our supervision of the case."""
    account = hotline_account()
    order = order_get(order_no, account)
    return workflow.case_supervise(actor=account, case_id=order.case_id, note=note, origin=origin)


def order_return_outcome(*, order_no: str, approved: bool, note: str, origin: Origin) -> Case:
    """The hotline's answer to our return request (退单). Approved: the order leaves us, so a case not
    yet accepted is rejected and any other is parked (the clock stops; unparking resumes it should the
    order come back). Refused: the order stays with us, pressed as a supervision."""
    account = hotline_account()
    order = order_get(order_no, account)
    if not HotlineMessage.objects.filter(order=order, type=MessageType.RETURNED).exists():
        raise Conflict("No return was requested for this order.", code="no_return_requested")
    if not approved:
        return workflow.case_supervise(actor=account, case_id=order.case_id, note=note, origin=origin)
    status = Case.objects.filter(cities_of(account)).values_list("status", flat=True).get(pk=order.case_id)
    if status == Status.REPORTED:
        return workflow.case_reject(actor=account, case_id=order.case_id, reason=note, origin=origin)
    return workflow.case_park(actor=account, case_id=order.case_id, reason=note, origin=origin)


def order_extension_decision(*, order_no: str, approved: bool, note: str, origin: Origin) -> Case:
    """The hotline decides our extension request (延期)."""
    account = hotline_account()
    order = order_get(order_no, account)
    return workflow.case_decide_extension(
        actor=account, case_id=order.case_id, approve=approved, note=note, origin=origin
    )


def order_satisfaction(*, order_no: str, rating: int, comment: str, origin: Origin) -> Case:
    """The hotline's callback (回访评价): our follow-up visit. Satisfied closes, dissatisfied reopens."""
    account = hotline_account()
    order = order_get(order_no, account)
    return workflow.case_revisit(
        actor=account, case_id=order.case_id, rating=rating, comment=comment, origin=origin
    )


def order_reopen(*, order_no: str, reason: str, rating: int, origin: Origin) -> Case:
    """重办: the caller is dissatisfied; a dissatisfied follow-up visit sends the case back to the handler."""
    if not reason.strip():
        raise ValidationFailed("Say why the order is reopened.", code="reason_required")
    account = hotline_account()
    order = order_get(order_no, account)
    return workflow.case_revisit(
        actor=account, case_id=order.case_id, rating=rating, comment=reason, origin=origin
    )


# --- messages back ----------------------------------------------------------------------------


def _types_for(event: CaseEvent) -> list[str]:
    ours = event.actor_label != account_username()  # the hotline's own steps are not echoed
    simple = {
        "accept": MessageType.ACCEPTED,
        "reject": MessageType.REJECTED,
        "dispatch": MessageType.DISPATCHED,
        "return": MessageType.RETURNED,
        "request_extension": MessageType.EXTENSION_REQUESTED,
        "handle": MessageType.HANDLED,
    }
    if event.kind in simple:
        return [simple[event.kind]]
    if event.kind == "close":
        return [MessageType.CLOSED, MessageType.SATISFACTION] if ours else [MessageType.CLOSED]
    if event.kind == "reopen" and ours:
        return [MessageType.SATISFACTION]
    return []


def _data(event: CaseEvent, message_type: str) -> dict[str, Any]:
    d = event.data or {}
    if message_type == MessageType.ACCEPTED:
        return {"category": d.get("category")}
    if message_type == MessageType.REJECTED:
        return {"reason": event.note}
    if message_type == MessageType.DISPATCHED:
        return {"to": d.get("to"), "due_at": d.get("due_at")}
    if message_type == MessageType.RETURNED:
        return {"reason": event.note, "by": d.get("by")}
    if message_type == MessageType.EXTENSION_REQUESTED:
        return {"reason": event.note, "amount": d.get("amount"), "unit": d.get("unit")}
    if message_type == MessageType.HANDLED:
        return {"result": event.note, "on_time": d.get("on_time")}
    if message_type == MessageType.CLOSED:
        return {"rating": d.get("rating")}
    rating = d.get("rating")
    return {"rating": rating, "satisfied": event.kind == "close", "comment": event.note}


def messages_queue(event: CaseEvent) -> list[HotlineMessage]:
    """Queue the messages a case event means for the hotline (a `post_save` receiver, inside the
    transaction that wrote the event)."""
    types = _types_for(event)
    if not types or event.case.channel != Channel.HOTLINE:
        return []
    order = HotlineOrder.objects.filter(case_id=event.case_id).first()
    if order is None:
        return []
    return HotlineMessage.objects.bulk_create(
        HotlineMessage(
            order=order,
            type=t,
            case_event_id=event.pk,
            payload={
                "type": str(t),
                "order_no": order.order_no,
                "case_number": event.case.number,
                "status": event.to_status,
                "occurred_at": event.at.isoformat(),
                "event_id": event.pk,
                "data": _data(event, t),
            },
        )
        for t in types
    )


def hotline_url() -> str:
    return str(getattr(settings, "ZHIWANG_HOTLINE_URL", "") or "").strip()


def max_attempts() -> int:
    return int(
        getattr(settings, "ZHIWANG_HOTLINE_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS) or DEFAULT_MAX_ATTEMPTS
    )


def _send(message: HotlineMessage) -> int:
    return post_signed(
        hotline_url(),
        encode(message.payload),
        secret=hotline_secret(),
        timeout=float(getattr(settings, "ZHIWANG_NOTIFY_HTTP_TIMEOUT", 10) or 10),
        headers={MESSAGE_HEADER: str(message.pk), "Idempotency-Key": f"zhiwang-hotline-{message.pk}"},
    )


def deliver_due(now: datetime | None = None, limit: int = 100) -> int:
    """Send the messages due at `now` (the `hotline.deliver_due` periodic job). Until the hotline's
    URL and secret are configured, messages wait in the outbox."""
    if not hotline_url() or not hotline_secret():
        return 0
    return outbox.deliver_due(
        HotlineMessage.objects.all(), _send, max_attempts=max_attempts(), now=now, limit=limit
    )


def messages_retry(*, actor: Actor, message_ids: list[int], origin: Origin) -> int:
    """Queue failed, dead (or delivered) messages again, due now (a city administrator's action)."""
    check_city_administrator(actor, "send hotline messages again")
    with transaction.atomic():
        ids = outbox.requeue(HotlineMessage.objects.filter(pk__in=message_ids))
        if ids:
            audit_record(
                actor=actor,
                action="hotline.messages_retry",
                origin=origin,
                object_type="hotline.hotlinemessage",
                details={"ids": ids},
            )
    return len(ids)
