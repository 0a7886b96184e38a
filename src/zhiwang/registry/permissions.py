"""Who may read, change and see in whole what in the registry.

- Places, units and facilities: every staff role reads those inside its grid scope.
- Persons: every role but department handlers reads the residents of its scope; the staff of an
  enterprise grid (and everyone whose scope covers it) also read the workforce of its units,
  wherever they live.
- Collecting (create, change, move, import): grid workers, community dispatchers and administrators
  over the grid concerned.
- Deleting a person (anonymisation): community dispatchers and administrators.
- Whole ID and phone numbers: only grid workers and community dispatchers of the residence (the
  people who check documents face to face), one person at a time, with a reason, audited.
- Key-group tags and health status: grid workers, community dispatchers and town commanders (综治)
  of the residence; others see neither.
- Residents' declarations (居住登记, 自主申报): grid workers and community dispatchers of the room's
  grid read and review them; for everyone else the queue is closed (403).
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from zhiwang.accounts.models import Role
from zhiwang.accounts.permissions import Scope, require_staff_role
from zhiwang.common.errors import NotFound, PermissionDenied

Actor = AbstractBaseUser | AnonymousUser | None

PERSON_READERS = frozenset(
    {
        Role.GRID_WORKER,
        Role.COMMUNITY_DISPATCHER,
        Role.TOWN_COMMANDER,
        Role.CITY_COMMANDER,
        Role.LEADER,
        Role.ADMINISTRATOR,
    }
)
COLLECTORS = frozenset({Role.GRID_WORKER, Role.COMMUNITY_DISPATCHER, Role.ADMINISTRATOR})
ERASERS = frozenset({Role.COMMUNITY_DISPATCHER, Role.ADMINISTRATOR})
REVEALERS = frozenset({Role.GRID_WORKER, Role.COMMUNITY_DISPATCHER})
CARERS = frozenset({Role.GRID_WORKER, Role.COMMUNITY_DISPATCHER, Role.TOWN_COMMANDER})
REVIEWERS = frozenset({Role.GRID_WORKER, Role.COMMUNITY_DISPATCHER})


def require_person_reader(actor: Actor) -> Scope:
    scope = require_staff_role(actor)
    if not scope.has_role(PERSON_READERS):
        raise PermissionDenied("Your role does not read resident records.", code="registry_no_person_access")
    return scope


def check_collect(actor: Actor, path: str) -> Scope:
    """The actor collects base data at `path` (403 otherwise)."""
    scope = require_staff_role(actor)
    if not path or not scope.covers(path, COLLECTORS):
        raise PermissionDenied(
            "Only grid workers, community dispatchers and administrators of this grid record base data here.",
            code="registry_not_collector",
        )
    return scope


def check_collect_visible(actor: Actor, path: str) -> Scope:
    """Like `check_collect`, but a place outside the actor's scope is answered as not found."""
    scope = require_staff_role(actor)
    if not scope.covers(path):
        raise NotFound()
    return check_collect(actor, path)


def can_reveal(scope: Scope, grid_path: str) -> bool:
    return bool(grid_path) and scope.covers(grid_path, REVEALERS)


def can_see_care_fields(scope: Scope, grid_path: str) -> bool:
    return bool(grid_path) and scope.covers(grid_path, CARERS)


def check_erase(actor: Actor, path: str) -> Scope:
    scope = require_staff_role(actor)
    if not path or not scope.covers(path, ERASERS):
        raise PermissionDenied(
            "Only community dispatchers and administrators of this grid delete resident records.",
            code="registry_not_eraser",
        )
    return scope


def require_reviewer(actor: Actor) -> Scope:
    """The actor reviews residents' declarations somewhere (403 otherwise)."""
    scope = require_staff_role(actor)
    if not scope.has_role(REVIEWERS):
        raise PermissionDenied(
            "Only grid workers and community dispatchers review residents' declarations.",
            code="registry_not_reviewer",
        )
    return scope
