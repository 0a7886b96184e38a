"""The building blocks of every case service: the clock, the row lock, the right check, the
timeline entry and the audit row, the rating. Services in `intake`, `services`, `resident` and `photos`
compose them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone

from zhiwang.accounts.models import User
from zhiwang.audit.services import audit_record
from zhiwang.cases import selectors as reads
from zhiwang.cases.models import Case, CaseEvent, Status
from zhiwang.cases.permissions import Relation, allowed_actions, relation
from zhiwang.cases.workflow import SATISFIED_RATING, TRANSITIONS
from zhiwang.common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.taxonomy.models import Category

Actor = AbstractBaseUser | AnonymousUser | None


def now() -> datetime:
    """The services' clock (tests replace it)."""
    return timezone.now()


def label(actor: Actor) -> str:
    return actor.get_username() if actor is not None and actor.is_authenticated else ""


def user_of(actor: Actor) -> User | None:
    return actor if isinstance(actor, User) else None


def record_event(
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
        city_id=case.city_id,
        kind=kind,
        at=at or now(),
        actor=user_of(actor),
        actor_label=label(actor),
        from_status=before,
        to_status=case.status,
        note=note,
        data=data,
    )


def record_audit(case: Case, action: str, actor: Actor, origin: Origin, **details: Any) -> None:
    audit_record(
        actor=actor,
        action=f"case.{action}",
        origin=origin,
        obj=case,
        scope_path=case.grid_path,
        details=details,
    )


def lock_case(case_id: int, cities: Q) -> Case:
    """The case, locked for the rest of the transaction; `cities` names its city (`cities_of`)."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("category", "community", "grid")
        .defer(*reads.GRID_SHAPES)
        .filter(cities, pk=case_id)
        .first()
    )
    if case is None:
        raise NotFound("No such case.")
    return case


def check_action(actor: Actor, case: Case, action: str) -> Relation:
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


def category_for(code: str | None) -> Category | None:
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


def rate(case: Case, rating: int, comment: str, at: datetime) -> str:
    """回访's rating on a locked case: satisfied closes it, dissatisfied reopens it for the same
    handler (重办). Returns the timeline kind ("close" or "reopen"); the caller saves and records."""
    case.rating = rating
    case.rating_comment = comment[:300]
    if rating >= SATISFIED_RATING:
        case.status = Status.CLOSED
        case.closed_at = at
        return "close"
    case.status = Status.SIGNED
    case.rework_count += 1
    case.handled_at = None
    case.verified_at = None
    return "reopen"
