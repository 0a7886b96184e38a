"""Every KPI equals a direct count over the cases (recounted here one case at a time)."""

from __future__ import annotations

import random
import statistics
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.cases.conftest import ORIGIN, POINT, SHANGHAI, Place
from zhiwang.accounts.models import User
from zhiwang.cases import intake, kpis, rollups, selectors, services
from zhiwang.cases.models import Case, Extension, KpiCell, KpiDelta, Status
from zhiwang.cases.rollups import bucket
from zhiwang.grids.models import GridNode


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def build_mix(place: Place, count: int, seed: int) -> None:
    rng = random.Random(seed)
    for index in range(count):
        place.clock.set(2026, 3, 2 + index % 5, 9 + index % 8, rng.randrange(60))
        self_handled = rng.random() < 0.1
        case = intake.case_report(
            actor=place.worker,
            channel="grid_worker",
            lon=POINT[0],
            lat=POINT[1],
            description=f"问题{index}",
            category_code=rng.choice(["E0101", "E0102", "E0301"]),
            self_handled=self_handled,
            origin=ORIGIN,
        ).case
        if self_handled:
            continue
        fate = rng.random()
        if fate < 0.1:
            services.case_reject(actor=place.dispatcher, case_id=case.pk, reason="无效", origin=ORIGIN)
            continue
        if fate < 0.2:
            continue
        services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
        place.clock.now = place.clock.now.replace(minute=rng.randrange(60))
        if rng.random() < 0.3:
            place.clock.set(2026, 3, 9, 10, 0)  # dispatched late
        services.case_dispatch(
            actor=place.dispatcher, case_id=case.pk, department_id=place.urban.pk, origin=ORIGIN
        )
        if rng.random() < 0.15:
            services.case_park(actor=place.town, case_id=case.pk, reason="挂账", origin=ORIGIN)
            continue
        services.case_sign(actor=place.handler, case_id=case.pk, origin=ORIGIN)
        if rng.random() < 0.2:
            services.case_request_extension(
                actor=place.handler,
                case_id=case.pk,
                amount=2,
                unit="working_days",
                reason="协调",
                origin=ORIGIN,
            )
            services.case_decide_extension(
                actor=place.town, case_id=case.pk, approve=rng.random() < 0.7, origin=ORIGIN
            )
        if rng.random() < 0.25:
            continue  # still in hand
        place.clock.now = place.clock.now + (rng.random() * 6) * (at(2026, 3, 3) - at(2026, 3, 2))
        services.case_handle(actor=place.handler, case_id=case.pk, result="处置", origin=ORIGIN)
        if rng.random() < 0.2:
            services.case_verify(
                actor=place.worker, case_id=case.pk, passed=False, note="不合格", origin=ORIGIN
            )
            services.case_handle(actor=place.handler, case_id=case.pk, result="返工", origin=ORIGIN)
        if rng.random() < 0.2:
            continue
        services.case_verify(actor=place.worker, case_id=case.pk, passed=True, origin=ORIGIN)
        if rng.random() < 0.2:
            continue
        services.case_revisit(
            actor=place.dispatcher, case_id=case.pk, rating=rng.randint(1, 5), origin=ORIGIN
        )


def recount(cases: list[Case], now: datetime) -> dict[str, object]:
    def on_time(c: Case) -> bool:
        return c.due_at is None or (c.handled_at is not None and c.handled_at <= c.due_at)

    handled = [c for c in cases if c.handled_at is not None]
    overdue_open = [
        c
        for c in cases
        if c.handled_at is None
        and c.due_at is not None
        and c.due_at < now
        and c.paused_since is None
        and c.status not in (Status.REJECTED, Status.MERGED, Status.CLOSED, Status.PARKED)
    ]
    extended = {e.case_id for e in Extension.objects.filter(decision="approved")}
    seconds = [(c.handled_at - c.dispatched_at).total_seconds() for c in handled if c.dispatched_at]
    accepted = sum(1 for c in cases if c.accepted_at is not None)
    self_handled = sum(1 for c in cases if c.self_handled)
    return {
        "reported": len(cases),
        "valid": sum(1 for c in cases if c.status != Status.REJECTED),
        "accepted": accepted,
        "found": accepted + self_handled,
        "dispatched": sum(1 for c in cases if c.dispatched_at),
        "dispatched_on_time": sum(
            1 for c in cases if c.dispatched_at and c.dispatched_at <= c.dispatch_due_at
        ),
        "handled": len(handled),
        "handled_on_time": sum(1 for c in handled if on_time(c)),
        "overdue_unhandled": len(overdue_open),
        "due_to_close": len(handled) + len(overdue_open),
        "closed": sum(1 for c in cases if c.status == Status.CLOSED),
        "closed_on_time": sum(1 for c in cases if c.status == Status.CLOSED and on_time(c)),
        "reworked": sum(1 for c in cases if c.rework_count > 0),
        "extended": sum(1 for c in cases if c.pk in extended),
        "parked": sum(1 for c in cases if c.status == Status.PARKED),
        "overdue": sum(1 for c in handled if c.due_at and c.handled_at and c.handled_at > c.due_at)
        + len(overdue_open),
        "rated": sum(1 for c in cases if c.rating is not None),
        "satisfied": sum(1 for c in cases if c.rating is not None and c.rating >= 3),
        "mean_handling_hours": round(sum(map(int, seconds)) / len(seconds) / 3600, 3) if seconds else None,
        # The lower median, to its bucket: 0.1 h under a day, 1 h under 30 days, 1 day beyond.
        "median_handling_hours": statistics.median_low(map(bucket, seconds)) / 10 if seconds else None,
    }


def test_every_figure_equals_a_direct_count(place: Place) -> None:
    build_mix(place, count=60, seed=11)
    now = at(2026, 3, 12, 12, 0)
    figures = kpis.compute(selectors.case_cohort(actor=place.city_commander), now=now).as_dict()
    direct = recount(list(Case.objects.all()), now)
    assert {key: figures[key] for key in direct} == direct
    assert figures["handling_rate"] == round(direct["handled"] / direct["found"], 4)  # type: ignore[operator]
    assert figures["closure_rate"] == round(direct["closed"] / direct["due_to_close"], 4)  # type: ignore[operator]
    # A period and a subtree narrow the cohort the same way.
    since, until = at(2026, 3, 3), at(2026, 3, 5)
    narrowed = kpis.compute(
        selectors.case_cohort(
            actor=place.city_commander, since=since, until=until, within_path=place.city["441900003001"].path
        ),
        now=now,
    ).as_dict()
    expected = recount([c for c in Case.objects.all() if since <= c.reported_at < until], now)
    assert {key: narrowed[key] for key in expected} == expected
    # A town commander elsewhere sees none of it.
    assert kpis.compute(selectors.case_cohort(actor=place.outsider_handler), now=now).reported == 0


def kpi_questions(place: Place) -> list[dict[str, object]]:
    """The questions the rollups answer: every case, the city, a town, a department, and periods
    with and without partial days at their edges."""
    city, town = place.city["441900"], place.city["441900003"]
    periods: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (at(2026, 3, 3), at(2026, 3, 5)),
        (at(2026, 3, 3, 10, 30), at(2026, 3, 5, 14, 15)),
        (at(2026, 3, 4, 9, 0), at(2026, 3, 4, 13, 0)),
        (at(2026, 3, 4, 12, 0), None),
        (None, at(2026, 3, 4, 12, 0)),
        (at(2026, 2, 10, 8, 0), at(2026, 4, 15)),  # a whole month between days
        (at(2026, 3, 1), at(2026, 4, 1)),  # exactly one month
    ]
    questions: list[dict[str, object]] = []
    for since, until in periods:
        questions += [
            {"actor": place.city_commander, "node": city, "since": since, "until": until},
            {"actor": place.town, "node": town, "since": since, "until": until},
            {"actor": place.city_commander, "node": city, "department_id": place.urban.pk, "since": since},
        ]
    return questions


def assert_rollups_match(place: Place, superuser: User, now: datetime) -> None:
    questions = kpi_questions(place)
    questions.append({"actor": superuser, "department_id": place.urban.pk})
    questions.append({"actor": superuser})
    for question in questions:
        node = question.get("node")
        cohort = selectors.case_cohort(
            actor=question["actor"],  # type: ignore[arg-type]
            since=question.get("since"),  # type: ignore[arg-type]
            until=question.get("until"),  # type: ignore[arg-type]
            within_path=node.path if isinstance(node, GridNode) else None,
            department_id=question.get("department_id"),  # type: ignore[arg-type]
        )
        fast = kpis.report(now=now, **question).as_dict()  # type: ignore[arg-type]
        assert fast == kpis.compute(cohort, now=now).as_dict(), question
        direct = recount(list(cohort), now)
        assert {key: fast[key] for key in direct} == direct, question


def test_the_rollups_give_the_direct_counts_before_and_after_folding(
    place: Place, superuser: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_mix(place, count=50, seed=5)
    now = at(2026, 3, 12, 12, 0)
    assert KpiDelta.objects.exists() and not KpiCell.objects.exists()
    assert_rollups_match(place, superuser, now)  # from the deltas alone

    while rollups.fold(limit=37):
        pass
    assert not KpiDelta.objects.exists() and KpiCell.objects.exists()
    assert_rollups_match(place, superuser, now)  # from the cells alone

    build_mix(place, count=20, seed=6)  # more work after the fold: cells plus new deltas
    assert KpiDelta.objects.exists()
    assert_rollups_match(place, superuser, now)

    # The whole-city question is answered by the rollups, not by counting the cases.
    def no_recount(*args: object, **kwargs: object) -> None:
        raise AssertionError("counted over the cases")

    monkeypatch.setattr(kpis, "compute", no_recount)
    kpis.report(actor=place.city_commander, node=place.city["441900"], since=at(2026, 3, 3), now=now)


def test_a_rebuild_recounts_the_same_cells(place: Place) -> None:
    build_mix(place, count=40, seed=8)
    rollups.fold()
    folded = {
        (c.node_key, c.department_key, c.day): (c.reported, c.handled, c.closed, c.handling_buckets)
        for c in KpiCell.objects.all()
    }
    assert rollups.rebuild() == Case.objects.count()
    rebuilt = {
        (c.node_key, c.department_key, c.day): (c.reported, c.handled, c.closed, c.handling_buckets)
        for c in KpiCell.objects.all()
    }
    # Folding can leave cells whose counters went back to zero; a rebuild does not make them.
    assert {k: v for k, v in folded.items() if v[0]} == rebuilt
    assert not KpiDelta.objects.exists()


def test_saves_that_change_no_kpi_field_write_no_delta(place: Place) -> None:
    case = intake.case_report(
        actor=place.worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description="井盖缺失",
        category_code="E0101",
        origin=ORIGIN,
    ).case
    before = KpiDelta.objects.count()
    assert before >= 1
    case = Case.objects.get(pk=case.pk)
    case.warned_at = at(2026, 3, 2, 9, 0)
    case.save(update_fields=["warned_at"])
    case.address = "东城街道某路"
    case.save()
    assert KpiDelta.objects.count() == before
    # A case saved without having been loaded is compared with what is in the database.
    stale = Case(pk=case.pk, **{f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields})
    stale.status = Status.REJECTED
    stale.save()
    change = KpiDelta.objects.order_by("-id").first()
    assert change is not None and change.rejected == 1 and change.reported == 0


def test_without_a_node_a_commander_reads_their_area_from_the_rollups(
    place: Place, api_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_mix(place, count=20, seed=3)
    client = api_client(place.city_commander)
    with_node = client.get("/api/v1/kpis", {"node": place.city["441900"].pk}).json()

    def no_recount(*args: object, **kwargs: object) -> None:
        raise AssertionError("counted over the cases")

    monkeypatch.setattr(kpis, "compute", no_recount)
    assert client.get("/api/v1/kpis").json() == with_node


@pytest.mark.skipif(connection.vendor != "postgresql", reason="covering indexes are PostgreSQL's")
def test_the_open_overdue_count_of_a_reader_is_answered_from_the_watch_index_alone(place: Place) -> None:
    """Every KPI request counts the open overdue cases of the reader's cohort over the cases (it
    depends on the moment); the partial index holds every column that count filters on, so it is an
    index-only scan and stays fast with millions of cases (a column missing from it made the city's
    figures 20 times slower)."""
    cohort = selectors.case_cohort(actor=place.city_commander, within_path=place.city["441900"].path)
    with CaptureQueriesContext(connection) as counted:
        kpis.overdue_unhandled(cohort, timezone.now())
    (count,) = counted.captured_queries
    with connection.cursor() as cursor:
        # Leave the planner index-only scans alone: it takes one if some index covers the count.
        for access in ("seqscan", "bitmapscan", "indexscan"):
            cursor.execute(f"SET LOCAL enable_{access} = off")
        cursor.execute(f"EXPLAIN {count['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using case_overdue_watch" in plan, plan
