"""How an actor stands towards a case, and which actions that allows now."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from zhiwang.accounts.models import Role
from zhiwang.accounts.permissions import Scope, scope_for
from zhiwang.cases.models import Case, Extension
from zhiwang.cases.workflow import TRANSITIONS
from zhiwang.grids.locate import home_city_id

DISPATCH_ROLES = frozenset({Role.COMMUNITY_DISPATCHER, Role.TOWN_COMMANDER, Role.CITY_COMMANDER})
COMMAND_ROLES = frozenset({Role.TOWN_COMMANDER, Role.CITY_COMMANDER})

Actor = AbstractBaseUser | AnonymousUser | None


def cities_of(actor: AbstractBaseUser | AnonymousUser | None, field: str = "city_id") -> Q:
    """The cities a request may be about, as a filter on `city_id` (the key of the case tables):
    a staff member's cities (every city for a superuser); the deployment's home city for residents
    and client applications, who name a case by its tracking code or number."""
    scope = scope_for(actor)
    if scope.is_superuser or scope.roles:
        return scope.city_q(field)
    return Q(**{field: home_city_id()})


@dataclass(frozen=True)
class Relation:
    reader: bool
    dispatcher: bool
    commander: bool
    handler: bool
    finder: bool

    def has(self, who: str) -> bool:
        return bool(getattr(self, who))


NOBODY = Relation(False, False, False, False, False)


def relation(actor: Actor, case: Case, scope: Scope | None = None) -> Relation:
    scope = scope or scope_for(actor)
    if not scope.is_authenticated:
        return NOBODY
    path = case.grid_path
    covers_any = bool(path) and scope.covers(path)
    dispatcher = bool(path) and scope.covers(path, DISPATCH_ROLES)
    commander = bool(path) and scope.covers(path, COMMAND_ROLES)
    in_department = case.department_id is not None and case.department_id in scope.department_ids
    community_handler = (
        case.community_id is not None
        and case.community is not None
        and scope.covers(case.community.path, {Role.COMMUNITY_DISPATCHER})
    )
    handler = in_department or community_handler
    if case.reporter_id is not None and case.channel == "grid_worker":
        finder = case.reporter_id == scope.user_id
    else:
        finder = bool(path) and scope.covers(path, {Role.GRID_WORKER})
    reader = (
        covers_any
        or handler
        or finder
        or (case.reporter_id is not None and case.reporter_id == scope.user_id)
    )
    return Relation(reader=reader, dispatcher=dispatcher, commander=commander, handler=handler, finder=finder)


def allowed_actions(actor: Actor, case: Case, *, pending_extension: bool | None = None) -> list[str]:
    """The actions `actor` may take on `case` now, in workflow order."""
    rel = relation(actor, case)
    if pending_extension is None:
        pending_extension = Extension.objects.pending_for(case).exists()
    allowed = []
    for action, transition in TRANSITIONS.items():
        if case.status not in transition.sources or not rel.has(transition.who):
            continue
        if action == "request_extension" and pending_extension:
            continue
        if action == "decide_extension" and not pending_extension:
            continue
        if (
            action == "supervise"
            and case.escalation_level >= 2
            and not scope_for(actor).paths([Role.CITY_COMMANDER])
        ):
            continue
        allowed.append(action)
    return allowed
