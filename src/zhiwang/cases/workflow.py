"""The case workflow as data: which action moves a case from which states to which, and who may take it.

Roles of an actor towards one case (see `cases.permissions.relation`):
- dispatcher: a community dispatcher, town or city commander whose scope covers the case's grid;
- commander: a town or city commander covering it (parks, supervises);
- handler: a handler of the department the case is dispatched to, or the dispatcher of the
  community that settles it itself;
- finder: the grid worker who reported it, or (for cases from residents, the hotline, machines)
  a grid worker of its grid. The finder verifies: who finds does not fix, who fixes does not close.
"""

from __future__ import annotations

from dataclasses import dataclass

from zhiwang.cases.models import OPEN_STATUSES, Status


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: the status stays (or is decided by the service)
    who: str  # "dispatcher", "commander", "handler", "finder", "supervisor"


def _s(*statuses: str) -> frozenset[str]:
    return frozenset(statuses)


TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(_s(Status.REPORTED), Status.ACCEPTED, "dispatcher"),
    "reject": Transition(_s(Status.REPORTED), Status.REJECTED, "dispatcher"),
    "merge": Transition(_s(Status.REPORTED, Status.ACCEPTED), Status.MERGED, "dispatcher"),
    "dispatch": Transition(_s(Status.ACCEPTED, Status.RETURNED), Status.DISPATCHED, "dispatcher"),
    "sign": Transition(_s(Status.DISPATCHED), Status.SIGNED, "handler"),
    "return": Transition(_s(Status.DISPATCHED, Status.SIGNED), Status.RETURNED, "handler"),
    "request_extension": Transition(_s(Status.DISPATCHED, Status.SIGNED), None, "handler"),
    "decide_extension": Transition(_s(Status.DISPATCHED, Status.SIGNED), None, "dispatcher"),
    "park": Transition(
        _s(Status.ACCEPTED, Status.DISPATCHED, Status.SIGNED, Status.RETURNED), Status.PARKED, "commander"
    ),
    "unpark": Transition(_s(Status.PARKED), None, "commander"),
    "handle": Transition(_s(Status.SIGNED), Status.HANDLED, "handler"),
    "verify": Transition(_s(Status.HANDLED), None, "finder"),  # passed → revisit, failed → signed (返工)
    "revisit": Transition(
        _s(Status.REVISIT), None, "dispatcher"
    ),  # good rating → closed, bad → signed (重办)
    "supervise": Transition(frozenset(OPEN_STATUSES - {Status.REPORTED}), None, "commander"),
    "whistle": Transition(frozenset(OPEN_STATUSES), None, "dispatcher"),
}

# The lowest rating that closes a case at the follow-up visit (1–5 scale).
SATISFIED_RATING = 3
