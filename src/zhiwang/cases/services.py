"""Every write to a case. Each transition checks the actor's right, locks the case row, checks the
state inside the lock (so of two simultaneous actions exactly one wins), writes one timeline entry
and one audit row, and queues notifications that go out after commit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from zhiwang.accounts.models import Department, Role, User
from zhiwang.accounts.permissions import scope_for
from zhiwang.audit.services import audit_record
from zhiwang.cases import clock
from zhiwang.cases import selectors as reads
from zhiwang.cases.models import (
    FINAL_STATUSES,
    Case,
    CaseEvent,
    CasePhoto,
    Channel,
    Extension,
    Status,
    Urgency,
)
from zhiwang.cases.notices import tell
from zhiwang.cases.permissions import Relation, allowed_actions, relation
from zhiwang.cases.routing import route
from zhiwang.cases.workflow import SATISFIED_RATING, TRANSITIONS
from zhiwang.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate as locating
from zhiwang.grids.models import GridNode
from zhiwang.notifications.services import notify
from zhiwang.taxonomy.models import Category
from zhiwang.workcalendar.selectors import working_calendar

Actor = AbstractBaseUser | AnonymousUser | None
TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _now() -> datetime:
    return timezone.now()


def _label(actor: Actor) -> str:
    return actor.get_username() if actor is not None and actor.is_authenticated else ""


def _user(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def _event(
    case: Case,
    kind: str,
    actor: Actor,
    *,
    before: str,
    note: str = "",
    at: datetime | None = None,
    **data: Any,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        at=at or _now(),
        actor=_user(actor),
        actor_label=_label(actor),
        from_status=before,
        to_status=case.status,
        note=note,
        data=data,
    )


def _audit(case: Case, action: str, actor: Actor, origin: Origin, **details: Any) -> None:
    audit_record(
        actor=actor,
        action=f"case.{action}",
        origin=origin,
        obj=case,
        scope_path=case.grid_path,
        details=details,
    )


def _lock(case_id: int) -> Case:
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("category", "community", "grid")
        .defer(*reads.GRID_SHAPES)
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound("No such case.")
    return case


def _check(actor: Actor, case: Case, action: str) -> Relation:
    """The actor may take `action` on `case` in its current state (checked under the row lock)."""
    rel = relation(actor, case)
    if not rel.reader:
        raise NotFound("No such case.")
    transition = TRANSITIONS[action]
    if not rel.has(transition.who):
        raise PermissionDenied(f"You may not {action.replace('_', ' ')} this case.")
    if case.status not in transition.sources:
        raise Conflict(
            f"A case that is {case.status} cannot be given the action {action}.",
            code="illegal_transition",
            details={"status": case.status, "allowed": allowed_actions(actor, case)},
        )
    return rel


def _category(code: str | None) -> Category | None:
    if not code:
        return None
    category = Category.objects.filter(code=code, is_active=True).first()
    if category is None:
        raise ValidationFailed(f"There is no active category {code}.", code="bad_category")
    if category.parent_id is None:
        raise ValidationFailed(
            f"{code} is a major category; choose one of its minor categories.", code="bad_category"
        )
    return category


# --- intake -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reported:
    case: Case
    created: bool  # False when the idempotency key had already created this case


def _tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def case_report(
    *,
    actor: Actor,
    channel: str,
    lon: float,
    lat: float,
    origin: Origin,
    description: str,
    system: str = "wgs84",
    address: str = "",
    category_code: str | None = None,
    urgency: str = Urgency.NORMAL,
    idempotency_key: str | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    external_ref: str = "",
    extra: dict[str, Any] | None = None,
    self_handled: bool = False,
    at: datetime | None = None,
) -> Reported:
    """Take a report from any channel. A retried submission with the same idempotency key returns
    the case the first one created, never a second case."""
    scope = scope_for(actor)
    if channel not in Channel.values:
        raise ValidationFailed(f"Unknown channel {channel!r}.", code="bad_channel")
    if channel == Channel.RESIDENT:
        if not reporter_phone.strip():
            raise ValidationFailed(
                "A resident's report needs a phone number for the follow-up.", code="phone_required"
            )
    elif not scope.is_authenticated or not (scope.roles or scope.is_superuser):
        raise PermissionDenied("Sign in to report through this channel.", code="not_authenticated")
    if channel == Channel.GRID_WORKER and not scope.has_role([Role.GRID_WORKER]):
        raise PermissionDenied("Only grid workers report through the grid-worker channel.")
    if urgency not in Urgency.values:
        raise ValidationFailed(f"Unknown urgency {urgency!r}.", code="bad_urgency")
    if not description.strip():
        raise ValidationFailed("Describe the problem.", code="description_required")
    key = (idempotency_key or "").strip() or None
    if key is not None:
        existing = Case.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return Reported(existing, created=False)
    location = locating.locate(lon, lat, system)
    category = _category(category_code)
    if self_handled and (channel != Channel.GRID_WORKER or location.grid_id is None):
        raise ValidationFailed(
            "Only a grid worker handles a problem on the spot, inside a grid.", code="bad_self_handle"
        )
    now = at or _now()
    grid = (
        GridNode.objects.only("pk", "code", "name", "path").filter(pk=location.grid_id).first()
        if location.grid_id
        else None
    )
    try:
        with transaction.atomic():
            case = Case(
                tracking_code=_tracking_code(),
                channel=channel,
                idempotency_key=key,
                reporter=_user(actor) if channel != Channel.RESIDENT else None,
                reporter_name=reporter_name.strip()[:60],
                reporter_phone=reporter_phone.strip()[:20],
                external_ref=external_ref[:64],
                lon=location.lon,
                lat=location.lat,
                source_system=location.source_system,
                source_lon=location.source_lon,
                source_lat=location.source_lat,
                address=address.strip()[:200],
                grid=grid,
                grid_path=grid.path if grid else "",
                category=category,
                description=description.strip(),
                urgency=urgency,
                extra=extra or {},
                reported_at=now,
                dispatch_due_at=working_calendar().add_working_seconds(
                    now, int(settings.ZHIWANG_DISPATCH_LIMIT_WORKING_HOURS * 3600)
                ),
            )
            case.save()
            case.number = f"{timezone.localtime(now):%Y%m%d}{case.pk:07d}"
            case.save(update_fields=["number"])
            if location.overlay_ids:
                Case.overlay_grids.through.objects.bulk_create(
                    Case.overlay_grids.through(case_id=case.pk, gridnode_id=grid_id)
                    for grid_id in location.overlay_ids
                )
            _event(
                case, "report", actor, before="", at=now, channel=channel, grid=grid.code if grid else None
            )
            _audit(case, "report", actor, origin, channel=channel)
            if self_handled:
                before = case.status
                case.status = Status.CLOSED
                case.self_handled = True
                case.handled_at = case.verified_at = case.closed_at = now
                case.save(update_fields=["status", "self_handled", "handled_at", "verified_at", "closed_at"])
                _event(case, "self_handle", actor, before=before, at=now)
                _audit(case, "self_handle", actor, origin)
    except IntegrityError:
        # Two retries raced on the same key: the other one won; answer with its case.
        if key is not None:
            existing = Case.objects.filter(idempotency_key=key).first()
            if existing is not None:
                return Reported(existing, created=False)
        raise
    return Reported(case, created=True)


# --- acceptance -------------------------------------------------------------------------------


def case_accept(
    *, actor: Actor, case_id: int, origin: Origin, category_code: str | None = None, note: str = ""
) -> Case:
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "accept")
        category = _category(category_code) or case.category
        if category is None:
            raise ValidationFailed("Classify the case before accepting it.", code="category_required")
        before = case.status
        case.category = category
        case.status = Status.ACCEPTED
        case.accepted_at = _now()
        case.save(update_fields=["category", "status", "accepted_at", "updated_at"])
        _event(case, "accept", actor, before=before, note=note, category=category.code)
        _audit(case, "accept", actor, origin, category=category.code)
    return case


def case_reject(*, actor: Actor, case_id: int, reason: str, origin: Origin) -> Case:
    if not reason.strip():
        raise ValidationFailed("Give the reason for not accepting the case.", code="reason_required")
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "reject")
        before = case.status
        case.status = Status.REJECTED
        case.closed_at = _now()
        case.save(update_fields=["status", "closed_at", "updated_at"])
        _event(case, "reject", actor, before=before, note=reason)
        _audit(case, "reject", actor, origin, reason=reason)
        _notify_reporters([case], "案件不予立案", f"案件 {case.number} 不予立案：{reason}")
    return case


def case_merge(*, actor: Actor, case_id: int, into_id: int, origin: Origin, note: str = "") -> Case:
    """Merge a duplicate into an open case; its reporter hears the outcome of the case it joined."""
    if case_id == into_id:
        raise ValidationFailed("A case cannot be merged into itself.", code="bad_merge")
    with transaction.atomic():
        # Lock both rows in id order so that crossing merges cannot deadlock.
        locked = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=sorted([case_id, into_id]))}
        case, target = locked.get(case_id), locked.get(into_id)
        if case is None or target is None:
            raise NotFound("No such case.")
        _check(actor, case, "merge")
        if not relation(actor, target).reader:
            raise NotFound("No such case.")
        if target.status in FINAL_STATUSES or target.merged_into_id is not None:
            raise Conflict("Merge into an open case.", code="target_closed")
        before = case.status
        case.status = Status.MERGED
        case.merged_into = target
        case.closed_at = _now()
        case.save(update_fields=["status", "merged_into", "closed_at", "updated_at"])
        _event(case, "merge", actor, before=before, note=note, into=target.number)
        CaseEvent.objects.create(
            case=target,
            kind="absorb",
            at=_now(),
            actor=_user(actor),
            actor_label=_label(actor),
            from_status=target.status,
            to_status=target.status,
            data={"merged": case.number},
        )
        _audit(case, "merge", actor, origin, into=target.pk)
    return case


# --- dispatch and handling --------------------------------------------------------------------


def case_dispatch(
    *,
    actor: Actor,
    case_id: int,
    origin: Origin,
    department_id: int | None = None,
    community_id: int | None = None,
    note: str = "",
) -> Case:
    """Send the case to a department or a community: the one named, or the one routing finds."""
    if department_id is not None and community_id is not None:
        raise ValidationFailed("Dispatch to a department or to a community, not both.", code="bad_target")
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "dispatch")
        department = community = None
        reason = "chosen by the dispatcher"
        if department_id is not None:
            department = Department.objects.filter(pk=department_id, is_active=True).first()
            if department is None:
                raise ValidationFailed("No such active department.", code="bad_department")
        elif community_id is not None:
            community = GridNode.objects.filter(
                pk=community_id, level="community", valid_to__isnull=True
            ).first()
            if community is None or not case.grid_path.startswith(community.path):
                raise ValidationFailed("Dispatch to the community the case lies in.", code="bad_community")
        else:
            found = route(case)
            if found is None:
                raise ValidationFailed("No routing rule or department fits; choose one.", code="no_route")
            department, community, reason = found.department, found.community, found.reason
        before = case.status
        now = _now()
        case.status = Status.DISPATCHED
        case.department = department
        case.community = community
        case.handler = None
        case.dispatched_at = case.dispatched_at or now
        assert (
            case.category is not None and case.category.time_limit is not None
        )  # accepted cases have a 小类
        limit = working_calendar().budget_seconds(case.category.time_limit, case.category.time_unit)
        clock.start(case, now, int(limit))
        case.save()
        target = department.name if department else community.name  # type: ignore[union-attr]
        _event(
            case,
            "dispatch",
            actor,
            before=before,
            note=note,
            to=target,
            reason=reason,
            due_at=case.due_at.isoformat() if case.due_at else None,
        )
        _audit(case, "dispatch", actor, origin, to=target, reason=reason)
        tell(
            reads.handlers_of(case),
            case,
            "新派遣案件",
            f"案件 {case.number}（{case.category.name}）已派遣给{target}，请签收处置。",
        )
    return case


def case_sign(*, actor: Actor, case_id: int, origin: Origin) -> Case:
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "sign")
        before = case.status
        case.status = Status.SIGNED
        case.handler = _user(actor)
        case.signed_at = _now()
        case.save(update_fields=["status", "handler", "signed_at", "updated_at"])
        _event(case, "sign", actor, before=before)
        _audit(case, "sign", actor, origin)
    return case


def case_return(*, actor: Actor, case_id: int, reason: str, origin: Origin) -> Case:
    """退单: the handler says the case is not theirs; it goes back for re-dispatch."""
    if not reason.strip():
        raise ValidationFailed("Say why the case is not yours.", code="reason_required")
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "return")
        before = case.status
        returned_by = case.department.name if case.department else ""
        case.status = Status.RETURNED
        case.return_count += 1
        case.department = None
        case.community = None
        case.handler = None
        case.save()
        _event(case, "return", actor, before=before, note=reason, by=returned_by)
        _audit(case, "return", actor, origin, reason=reason)
        tell(reads.dispatchers_of(case), case, "案件退单", f"案件 {case.number} 被退回：{reason}")
    return case


def case_request_extension(
    *, actor: Actor, case_id: int, amount: float, unit: str, reason: str, origin: Origin
) -> Extension:
    """延期申请: the clock stops until the request is decided."""
    if amount <= 0 or unit not in ("working_hours", "working_days"):
        raise ValidationFailed("Ask for a positive number of working hours or days.", code="bad_extension")
    if not reason.strip():
        raise ValidationFailed("Give the reason for the extension.", code="reason_required")
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "request_extension")
        if Extension.objects.filter(case=case, decision=Extension.Decision.PENDING).exists():
            raise Conflict(
                "An extension request is already pending.",
                code="extension_pending",
                details={"status": case.status, "allowed": allowed_actions(actor, case)},
            )
        now = _now()
        extension = Extension.objects.create(
            case=case, requested_by=_user(actor), amount=amount, unit=unit, reason=reason, requested_at=now
        )
        clock.pause(case, now)
        case.save(update_fields=["paused_since", "updated_at"])
        _event(case, "request_extension", actor, before=case.status, note=reason, amount=amount, unit=unit)
        _audit(case, "request_extension", actor, origin, amount=amount, unit=unit)
        unit_label = "个工作日" if unit == "working_days" else "个工作小时"
        tell(
            reads.dispatchers_of(case),
            case,
            "延期申请",
            f"案件 {case.number} 申请延期 {amount:g} {unit_label}：{reason}",
        )
    return extension


def case_decide_extension(
    *, actor: Actor, case_id: int, approve: bool, origin: Origin, note: str = ""
) -> Case:
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "decide_extension")
        extension = (
            Extension.objects.select_for_update()
            .filter(case=case, decision=Extension.Decision.PENDING)
            .first()
        )
        if extension is None:
            raise Conflict(
                "No extension request is pending.",
                code="no_pending_extension",
                details={"status": case.status, "allowed": allowed_actions(actor, case)},
            )
        now = _now()
        extension.decision = Extension.Decision.APPROVED if approve else Extension.Decision.REFUSED
        extension.decided_by = _user(actor)
        extension.decided_at = now
        extension.save(update_fields=["decision", "decided_by", "decided_at"])
        if approve:
            case.extension_seconds += int(working_calendar().budget_seconds(extension.amount, extension.unit))
        if case.status != Status.PARKED:
            clock.resume(case, now)
        clock.recompute_due(case)
        case.save()
        kind = "approve_extension" if approve else "refuse_extension"
        _event(
            case,
            kind,
            actor,
            before=case.status,
            note=note,
            due_at=case.due_at.isoformat() if case.due_at else None,
        )
        _audit(case, kind, actor, origin)
    return case


def case_park(*, actor: Actor, case_id: int, reason: str, origin: Origin) -> Case:
    """挂账: long-term or seasonal work; the clock stops and on-time figures leave the case out."""
    if not reason.strip():
        raise ValidationFailed("Give the reason for parking the case.", code="reason_required")
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "park")
        before = case.status
        case.parked_from = case.status
        case.status = Status.PARKED
        clock.pause(case, _now())
        case.save()
        _event(case, "park", actor, before=before, note=reason)
        _audit(case, "park", actor, origin, reason=reason)
    return case


def case_unpark(*, actor: Actor, case_id: int, origin: Origin, note: str = "") -> Case:
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "unpark")
        before = case.status
        case.status = case.parked_from or Status.ACCEPTED
        case.parked_from = ""
        if not Extension.objects.filter(case=case, decision=Extension.Decision.PENDING).exists():
            clock.resume(case, _now())
        case.save()
        _event(case, "unpark", actor, before=before, note=note)
        _audit(case, "unpark", actor, origin)
    return case


def case_handle(*, actor: Actor, case_id: int, result: str, origin: Origin) -> Case:
    """处理反馈: the handler reports what was done; the finder verifies next."""
    if not result.strip():
        raise ValidationFailed("Describe what was done.", code="result_required")
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "handle")
        before = case.status
        case.status = Status.HANDLED
        case.handled_at = _now()
        case.save(update_fields=["status", "handled_at", "updated_at"])
        _event(
            case,
            "handle",
            actor,
            before=before,
            note=result,
            on_time=not (case.due_at and case.handled_at > case.due_at),
        )
        _audit(case, "handle", actor, origin)
        tell(reads.finders_of(case), case, "案件待核查", f"案件 {case.number} 已处置，请到现场核查。")
    return case


def case_verify(*, actor: Actor, case_id: int, passed: bool, origin: Origin, note: str = "") -> Case:
    """核查: the finder checks on the spot; a failed check sends the case back to the same handler."""
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "verify")
        before = case.status
        now = _now()
        if passed:
            case.status = Status.REVISIT
            case.verified_at = now
        else:
            if not note.strip():
                raise ValidationFailed("Say what is still wrong.", code="reason_required")
            case.status = Status.SIGNED
            case.rework_count += 1
            case.handled_at = None
        case.save()
        kind = "verify_pass" if passed else "verify_fail"
        _event(case, kind, actor, before=before, note=note)
        _audit(case, kind, actor, origin)
        if passed:
            tell(reads.dispatchers_of(case), case, "案件待回访", f"案件 {case.number} 核查通过，请回访。")
        else:
            tell(reads.handlers_of(case), case, "案件返工", f"案件 {case.number} 核查未通过：{note}")
    return case


def case_revisit(*, actor: Actor, case_id: int, rating: int, origin: Origin, comment: str = "") -> Case:
    """回访: the reporter's rating; satisfied closes the case, dissatisfied reopens it (重办)."""
    if not 1 <= rating <= 5:
        raise ValidationFailed("A rating runs from 1 to 5.", code="bad_rating")
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "revisit")
        before = case.status
        now = _now()
        case.rating = rating
        case.rating_comment = comment[:300]
        if rating >= SATISFIED_RATING:
            case.status = Status.CLOSED
            case.closed_at = now
        else:
            case.status = Status.SIGNED
            case.rework_count += 1
            case.handled_at = None
            case.verified_at = None
        case.save()
        kind = "close" if case.status == Status.CLOSED else "reopen"
        _event(case, kind, actor, before=before, note=comment, rating=rating)
        _audit(case, kind, actor, origin, rating=rating)
        if case.status == Status.CLOSED:
            merged = list(case.merged.all())
            _notify_reporters([case, *merged], "案件已办结", f"您反映的问题（案件 {case.number}）已办结。")
        else:
            tell(reads.handlers_of(case), case, "案件重办", f"案件 {case.number} 回访不满意，请重新处置。")
    return case


def case_supervise(*, actor: Actor, case_id: int, note: str, origin: Origin) -> Case:
    """督办: a higher level presses on an open case."""
    if not note.strip():
        raise ValidationFailed("Say what is expected.", code="reason_required")
    with transaction.atomic():
        case = _lock(case_id)
        _check(actor, case, "supervise")
        case.supervision_count += 1
        case.save(update_fields=["supervision_count", "updated_at"])
        _event(case, "supervise", actor, before=case.status, note=note)
        _audit(case, "supervise", actor, origin)
        tell(
            [*reads.handlers_of(case), *reads.dispatchers_of(case)],
            case,
            "督办",
            f"案件 {case.number} 被督办：{note}",
        )
    return case


def _notify_reporters(cases: list[Case], subject: str, body: str) -> None:
    users = {c.reporter for c in cases if c.reporter is not None}
    if users:
        notify(
            recipients=list(users),
            subject=subject,
            body=body,
            object_type="cases.case",
            object_id=str(cases[0].pk),
        )


# --- photos -----------------------------------------------------------------------------------

PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png", b"RIFF": "webp"}
MAX_PHOTO_BYTES = 10 * 1024 * 1024


def _photo_kind(head: bytes) -> str | None:
    for magic, extension in PHOTO_TYPES.items():
        if head.startswith(magic) and (extension != "webp" or head[8:12] == b"WEBP"):
            return extension
    return None


def case_add_photo(*, actor: Actor, case_id: int, stage: str, content: bytes, origin: Origin) -> CasePhoto:
    """A photo at a stage: the reporter's at report, the handler's before and after handling (or the
    grid worker's own, for a problem handled on the spot), the finder's at verification."""
    if stage not in CasePhoto.Stage.values:
        raise ValidationFailed(f"Unknown photo stage {stage!r}.", code="bad_stage")
    if not content:
        raise ValidationFailed("The photo is empty.", code="empty_photo")
    if len(content) > MAX_PHOTO_BYTES:
        raise ValidationFailed("A photo may be at most 10 MB.", code="photo_too_large")
    extension = _photo_kind(content[:16])
    if extension is None:
        raise ValidationFailed("Send a JPEG, PNG or WebP photo.", code="bad_photo_type")
    with transaction.atomic():
        case = _lock(case_id)
        rel = relation(actor, case)
        if not rel.reader:
            raise NotFound("No such case.")
        own_report = case.reporter_id is not None and case.reporter_id == getattr(actor, "pk", None)
        allowed = {
            CasePhoto.Stage.REPORT: own_report and case.status in (Status.REPORTED, Status.ACCEPTED),
            CasePhoto.Stage.BEFORE: (rel.handler and case.status == Status.SIGNED)
            or (own_report and case.self_handled),
            CasePhoto.Stage.AFTER: (rel.handler and case.status in (Status.SIGNED, Status.HANDLED))
            or (own_report and case.self_handled),
            CasePhoto.Stage.VERIFY: rel.finder and case.status in (Status.HANDLED, Status.REVISIT),
        }[CasePhoto.Stage(stage)]
        if not allowed:
            raise PermissionDenied("You may not add a photo of this stage to this case now.")
        photo = CasePhoto(case=case, stage=stage, uploaded_by=_user(actor))
        photo.file.save(f"{case.number}-{stage}.{extension}", ContentFile(content), save=False)
        photo.save()
        _event(case, "photo", actor, before=case.status, stage=stage, photo=photo.pk)
        _audit(case, "photo", actor, origin, stage=stage)
    return photo
