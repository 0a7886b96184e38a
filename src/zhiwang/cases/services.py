"""Every transition of a case after intake. Each checks the actor's right, locks the case row,
checks the state inside the lock (so of two simultaneous actions exactly one wins), writes one
timeline entry and one audit row, and queues notifications that go out after commit."""

from __future__ import annotations

from django.db import transaction

from zhiwang.accounts.models import Department
from zhiwang.cases import clock, steps
from zhiwang.cases import selectors as reads
from zhiwang.cases.models import (
    FINAL_STATUSES,
    Case,
    CaseEvent,
    Extension,
    Status,
)
from zhiwang.cases.notices import tell, tell_reporters
from zhiwang.cases.permissions import allowed_actions, cities_of, relation
from zhiwang.cases.routing import route
from zhiwang.cases.steps import (
    Actor,
    category_for,
    check_action,
    label,
    lock_case,
    record_audit,
    record_event,
    user_of,
)
from zhiwang.common.errors import Conflict, NotFound, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode
from zhiwang.workcalendar.selectors import working_calendar

# --- acceptance -------------------------------------------------------------------------------


def case_accept(
    *, actor: Actor, case_id: int, origin: Origin, category_code: str | None = None, note: str = ""
) -> Case:
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "accept")
        category = category_for(category_code) or case.category
        if category is None:
            raise ValidationFailed("Classify the case before accepting it.", code="category_required")
        before = case.status
        case.category = category
        case.status = Status.ACCEPTED
        case.accepted_at = steps.now()
        case.save(update_fields=["category", "status", "accepted_at", "updated_at"])
        record_event(case, "accept", actor, before=before, note=note, category=category.code)
        record_audit(case, "accept", actor, origin, category=category.code)
    return case


def case_reject(*, actor: Actor, case_id: int, reason: str, origin: Origin) -> Case:
    if not reason.strip():
        raise ValidationFailed("Give the reason for not accepting the case.", code="reason_required")
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "reject")
        before = case.status
        case.status = Status.REJECTED
        case.closed_at = steps.now()
        case.save(update_fields=["status", "closed_at", "updated_at"])
        record_event(case, "reject", actor, before=before, note=reason)
        record_audit(case, "reject", actor, origin, reason=reason)
        tell_reporters([case], "案件不予立案", f"案件 {case.number} 不予立案：{reason}")
    return case


def case_merge(*, actor: Actor, case_id: int, into_id: int, origin: Origin, note: str = "") -> Case:
    """Merge a duplicate into an open case; its reporter hears the outcome of the case it joined."""
    if case_id == into_id:
        raise ValidationFailed("A case cannot be merged into itself.", code="bad_merge")
    with transaction.atomic():
        # Lock both rows in id order so that crossing merges cannot deadlock.
        locked = {
            c.pk: c
            for c in Case.objects.select_for_update().filter(
                cities_of(actor), pk__in=sorted([case_id, into_id])
            )
        }
        case, target = locked.get(case_id), locked.get(into_id)
        if case is None or target is None:
            raise NotFound("No such case.")
        check_action(actor, case, "merge")
        if not relation(actor, target).reader:
            raise NotFound("No such case.")
        if target.city_id != case.city_id:
            raise ValidationFailed("A case is merged only into a case of its own city.", code="bad_merge")
        if target.status in FINAL_STATUSES or target.merged_into_id is not None:
            raise Conflict("Merge into an open case.", code="target_closed")
        before = case.status
        case.status = Status.MERGED
        case.merged_into = target
        case.closed_at = steps.now()
        case.save(update_fields=["status", "merged_into", "closed_at", "updated_at"])
        record_event(case, "merge", actor, before=before, note=note, into=target.number)
        CaseEvent.objects.create(
            case=target,
            city_id=target.city_id,
            kind="absorb",
            at=steps.now(),
            actor=user_of(actor),
            actor_label=label(actor),
            from_status=target.status,
            to_status=target.status,
            data={"merged": case.number},
        )
        record_audit(case, "merge", actor, origin, into=target.pk)
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
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "dispatch")
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
        now = steps.now()
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
        record_event(
            case,
            "dispatch",
            actor,
            before=before,
            note=note,
            to=target,
            reason=reason,
            due_at=case.due_at.isoformat() if case.due_at else None,
        )
        record_audit(case, "dispatch", actor, origin, to=target, reason=reason)
        tell(
            reads.handlers_of(case),
            case,
            "新派遣案件",
            f"案件 {case.number}（{case.category.name}）已派遣给{target}，请签收处置。",
        )
    return case


def case_sign(*, actor: Actor, case_id: int, origin: Origin) -> Case:
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "sign")
        before = case.status
        case.status = Status.SIGNED
        case.handler = user_of(actor)
        case.signed_at = steps.now()
        case.save(update_fields=["status", "handler", "signed_at", "updated_at"])
        record_event(case, "sign", actor, before=before)
        record_audit(case, "sign", actor, origin)
    return case


def case_return(*, actor: Actor, case_id: int, reason: str, origin: Origin) -> Case:
    """退单: the handler says the case is not theirs; it goes back for re-dispatch."""
    if not reason.strip():
        raise ValidationFailed("Say why the case is not yours.", code="reason_required")
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "return")
        before = case.status
        returned_by = case.department.name if case.department else ""
        case.status = Status.RETURNED
        case.return_count += 1
        case.department = None
        case.community = None
        case.handler = None
        case.save()
        record_event(case, "return", actor, before=before, note=reason, by=returned_by)
        record_audit(case, "return", actor, origin, reason=reason)
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
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "request_extension")
        if Extension.objects.pending_for(case).exists():
            raise Conflict(
                "An extension request is already pending.",
                code="extension_pending",
                details={"status": case.status, "allowed": allowed_actions(actor, case)},
            )
        now = steps.now()
        extension = Extension.objects.create(
            case=case,
            city_id=case.city_id,
            requested_by=user_of(actor),
            amount=amount,
            unit=unit,
            reason=reason,
            requested_at=now,
        )
        clock.pause(case, now)
        case.save(update_fields=["paused_since", "updated_at"])
        record_event(
            case, "request_extension", actor, before=case.status, note=reason, amount=amount, unit=unit
        )
        record_audit(case, "request_extension", actor, origin, amount=amount, unit=unit)
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
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "decide_extension")
        extension = Extension.objects.select_for_update().pending_for(case).first()
        if extension is None:
            raise Conflict(
                "No extension request is pending.",
                code="no_pending_extension",
                details={"status": case.status, "allowed": allowed_actions(actor, case)},
            )
        now = steps.now()
        extension.decision = Extension.Decision.APPROVED if approve else Extension.Decision.REFUSED
        extension.decided_by = user_of(actor)
        extension.decided_at = now
        extension.save(update_fields=["decision", "decided_by", "decided_at"])
        if approve:
            granted = int(working_calendar().budget_seconds(extension.amount, extension.unit))
            case.extension_seconds += max(1, granted)  # an approved extension always shows
        if case.status != Status.PARKED:
            clock.resume(case, now)
        clock.recompute_due(case)
        case.save()
        kind = "approve_extension" if approve else "refuse_extension"
        record_event(
            case,
            kind,
            actor,
            before=case.status,
            note=note,
            due_at=case.due_at.isoformat() if case.due_at else None,
        )
        record_audit(case, kind, actor, origin)
    return case


def case_park(*, actor: Actor, case_id: int, reason: str, origin: Origin) -> Case:
    """挂账: long-term or seasonal work; the clock stops and on-time figures leave the case out."""
    if not reason.strip():
        raise ValidationFailed("Give the reason for parking the case.", code="reason_required")
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "park")
        before = case.status
        case.parked_from = case.status
        case.status = Status.PARKED
        clock.pause(case, steps.now())
        case.save()
        record_event(case, "park", actor, before=before, note=reason)
        record_audit(case, "park", actor, origin, reason=reason)
    return case


def case_unpark(*, actor: Actor, case_id: int, origin: Origin, note: str = "") -> Case:
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "unpark")
        before = case.status
        case.status = case.parked_from or Status.ACCEPTED
        case.parked_from = ""
        if not Extension.objects.pending_for(case).exists():
            clock.resume(case, steps.now())
        case.save()
        record_event(case, "unpark", actor, before=before, note=note)
        record_audit(case, "unpark", actor, origin)
    return case


def case_handle(*, actor: Actor, case_id: int, result: str, origin: Origin) -> Case:
    """处理反馈: the handler reports what was done; the finder verifies next."""
    if not result.strip():
        raise ValidationFailed("Describe what was done.", code="result_required")
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "handle")
        before = case.status
        case.status = Status.HANDLED
        case.handled_at = steps.now()
        case.save(update_fields=["status", "handled_at", "updated_at"])
        record_event(
            case,
            "handle",
            actor,
            before=before,
            note=result,
            on_time=not (case.due_at and case.handled_at > case.due_at),
        )
        record_audit(case, "handle", actor, origin)
        tell(reads.finders_of(case), case, "案件待核查", f"案件 {case.number} 已处置，请到现场核查。")
    return case


def case_verify(*, actor: Actor, case_id: int, passed: bool, origin: Origin, note: str = "") -> Case:
    """核查: the finder checks on the spot; a failed check sends the case back to the same handler."""
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "verify")
        before = case.status
        now = steps.now()
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
        record_event(case, kind, actor, before=before, note=note)
        record_audit(case, kind, actor, origin)
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
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "revisit")
        before = case.status
        kind = steps.rate(case, rating, comment, steps.now())
        case.save()
        record_event(case, kind, actor, before=before, note=comment, rating=rating)
        record_audit(case, kind, actor, origin, rating=rating)
        if kind == "close":
            merged = list(case.merged.filter(city_id=case.city_id))
            tell_reporters([case, *merged], "案件已办结", f"您反映的问题（案件 {case.number}）已办结。")
        else:
            tell(reads.handlers_of(case), case, "案件重办", f"案件 {case.number} 回访不满意，请重新处置。")
    return case


def case_supervise(*, actor: Actor, case_id: int, note: str, origin: Origin) -> Case:
    """督办: a higher level presses on an open case."""
    if not note.strip():
        raise ValidationFailed("Say what is expected.", code="reason_required")
    with transaction.atomic():
        case = lock_case(case_id, cities_of(actor))
        check_action(actor, case, "supervise")
        case.supervision_count += 1
        case.save(update_fields=["supervision_count", "updated_at"])
        record_event(case, "supervise", actor, before=case.status, note=note)
        record_audit(case, "supervise", actor, origin)
        tell(
            [*reads.handlers_of(case), *reads.dispatchers_of(case)],
            case,
            "督办",
            f"案件 {case.number} 被督办：{note}",
        )
    return case
