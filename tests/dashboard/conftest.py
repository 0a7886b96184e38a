"""A city with cases across both towns, three months, departments and grid workers, and a direct
recount of the figures the dashboard and the map show."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tests.cases import conftest as case_fixtures
from tests.cases.conftest import ORIGIN, SHANGHAI, Place
from zhiwang.accounts.models import Role, User
from zhiwang.cases import intake, services
from zhiwang.cases.models import OPEN_STATUSES, Case, Status

# One point inside each of five base grids, in both towns.
POINTS = {
    "441900003001001": (113.62, 22.95),
    "441900003001002": (113.67, 22.95),
    "441900003002001": (113.62, 23.05),
    "441900101001001": (113.72, 22.95),
    "441900101002002": (113.77, 23.05),
}
# Cases are reported in these months (2026); the dashboard tests look at March.
MONTHS = (1, 2, 3)


# The case workflow's fixtures: a small city with categories, departments and staff.
categories = case_fixtures.categories
place = case_fixtures.place


@dataclass
class Mix:
    place: Place
    humen_worker: User
    humen_handler: User


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def _department_for(mix: Mix, code: str) -> tuple[int, User]:
    if code.startswith("441900003"):
        return mix.place.urban.pk, mix.place.handler
    return mix.place.city_urban.pk, mix.humen_handler


def _finder(mix: Mix, grid: str) -> User | None:
    """The grid worker of the grid, who verifies reports from other channels (if the grid has one)."""
    return {"441900003001001": mix.place.worker, "441900101001001": mix.humen_worker}.get(grid)


def _walk(mix: Mix, case: Case, grid: str, rng: random.Random, finder: User | None) -> None:
    place = mix.place
    fate = rng.random()
    if fate < 0.1:
        services.case_reject(actor=place.city_commander, case_id=case.pk, reason="无效", origin=ORIGIN)
        return
    if fate < 0.2:
        return  # waits for acceptance
    services.case_accept(actor=place.city_commander, case_id=case.pk, origin=ORIGIN)
    if fate < 0.3:
        return
    department_id, handler = _department_for(mix, grid)
    services.case_dispatch(
        actor=place.city_commander, case_id=case.pk, department_id=department_id, origin=ORIGIN
    )
    if fate < 0.4:
        return  # dispatched, never signed: overdue by now
    services.case_sign(actor=handler, case_id=case.pk, origin=ORIGIN)
    if fate < 0.45:
        services.case_park(actor=place.city_commander, case_id=case.pk, reason="挂账", origin=ORIGIN)
        return
    # Handled within hours (on time) or weeks later (late).
    place.clock.now = place.clock.now + (timedelta(hours=2) if rng.random() < 0.6 else timedelta(days=20))
    services.case_handle(actor=handler, case_id=case.pk, result="已处置", origin=ORIGIN)
    if fate < 0.6 or finder is None:
        return
    services.case_verify(actor=finder, case_id=case.pk, passed=True, origin=ORIGIN)
    if fate < 0.75:
        return
    services.case_revisit(
        actor=place.city_commander, case_id=case.pk, rating=rng.randint(1, 5), origin=ORIGIN
    )


def build_mix(mix: Mix, count: int, seed: int) -> None:
    """`count` cases over the five grids and three months, walked to every kind of outcome."""
    rng = random.Random(seed)
    place = mix.place
    grids = sorted(POINTS)
    for index in range(count):
        grid = grids[index % len(grids)]
        month = MONTHS[index % len(MONTHS)]
        place.clock.set(2026, month, 2 + index % 20, 9 + index % 8, rng.randrange(60))
        lon, lat = POINTS[grid]
        hotline = rng.random() < 0.2
        reporter = (
            mix.humen_worker
            if grid.startswith("441900101")
            else rng.choice([place.worker, place.other_worker])
        )
        self_handled = not hotline and rng.random() < 0.1
        case = intake.case_report(
            actor=place.city_commander if hotline else reporter,
            channel="hotline" if hotline else "grid_worker",
            lon=lon,
            lat=lat,
            description=f"问题{index}",
            category_code=rng.choice(["E0101", "E0102", "E0301"]),
            self_handled=self_handled,
            origin=ORIGIN,
        ).case
        if not self_handled:
            _walk(mix, case, grid, rng, _finder(mix, grid) if hotline else reporter)


@pytest.fixture
def mix(place: Place, make_user: Callable[..., User]) -> Mix:
    humen_worker = make_user(Role.GRID_WORKER, grid=place.city["441900101001001"], username="humen_worker")
    humen_handler = make_user(Role.DEPARTMENT_HANDLER, department=place.city_urban, username="city_handler")
    return Mix(place=place, humen_worker=humen_worker, humen_handler=humen_handler)


def is_open(case: Case) -> bool:
    return case.status in OPEN_STATUSES


def is_overdue(case: Case, now: datetime) -> bool:
    """Recount of "overdue and unhandled": open, clock running, past the deadline."""
    return (
        case.status in OPEN_STATUSES
        and case.status != Status.PARKED
        and case.handled_at is None
        and case.paused_since is None
        and case.due_at is not None
        and case.due_at < now
    )


def recount_row(cases: Iterable[Case], now: datetime) -> dict[str, object]:
    """A ranking row's figures counted one case at a time (docs/kpis.md)."""
    cases = list(cases)
    handled = [c for c in cases if c.handled_at is not None]
    on_time = [c for c in handled if c.due_at is None or c.handled_at <= c.due_at]  # type: ignore[operator]
    late = [c for c in handled if c.due_at is not None and c.handled_at > c.due_at]  # type: ignore[operator]
    found = sum(1 for c in cases if c.accepted_at is not None) + sum(1 for c in cases if c.self_handled)
    return {
        "reported": len(cases),
        "found": found,
        "handled": len(handled),
        "handled_on_time": len(on_time),
        "overdue": len(late) + sum(1 for c in cases if is_overdue(c, now)),
        "handling_rate": round(len(handled) / found, 4) if found else None,
        "on_time_handling_rate": round(len(on_time) / len(handled), 4) if handled else None,
    }
