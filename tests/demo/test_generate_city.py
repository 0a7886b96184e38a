"""`zhiwang generate-city`: the demo city with its case history loaded in bulk (COPY on PostgreSQL,
batched INSERTs on SQLite), whose KPI rollups equal a direct count over the cases."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from zhiwang.accounts.models import Role, RoleAssignment, User
from zhiwang.cases import kpis, selectors
from zhiwang.cases.models import Case, CaseEvent
from zhiwang.demo import bulk, history
from zhiwang.grids.models import GridNode

pytestmark = pytest.mark.django_db

UNTIL = date(2026, 1, 1)


def _city_kpis() -> tuple[dict[str, object], dict[str, object]]:
    commander = User.objects.get(username="city")
    city = GridNode.objects.get(level="city", valid_to__isnull=True)
    now = timezone.now()
    rolled = kpis.report(actor=commander, node=city, now=now).as_dict()
    direct = kpis.compute(selectors.case_cohort(actor=commander, within_path=city.path), now=now).as_dict()
    return rolled, direct


def test_generate_city_loads_cases_whose_kpis_equal_a_direct_count() -> None:
    out = StringIO()
    call_command("generate_city", scale=0.01, cases=6000, seed=5, stdout=out)
    assert "6,000/6,000 cases" in out.getvalue() and "City ready" in out.getvalue()
    # Bulk tracking codes hold a 0, which the intake's alphabet never uses.
    sample = Case.objects.exclude(tracking_code__startswith="B0").count()
    assert Case.objects.count() == sample + 6000
    # ~10,000 grid workers at scale 1.0, proportionally fewer here.
    assert RoleAssignment.objects.filter(role=Role.GRID_WORKER).count() == 100
    # Every case has its report in the timeline, and every timeline entry its case.
    assert not Case.objects.filter(events__isnull=True).exists()
    assert CaseEvent.objects.filter(kind="report").count() == Case.objects.count()
    rolled, direct = _city_kpis()
    assert rolled == direct
    assert rolled["reported"] == Case.objects.count()
    assert 0.93 <= rolled["handling_rate"] <= 0.97  # type: ignore[operator]


def test_loaded_cases_have_a_realistic_mix() -> None:
    call_command("generate_city", scale=0.01, cases=0, seed=5, stdout=StringIO())
    bulk.load_cases(count=8000, seed=9, until=UNTIL, progress=lambda message: None)
    loaded = Case.objects.filter(tracking_code__startswith="B0")
    statuses = dict(loaded.values_list("status").annotate(n=Count("id")))
    assert 0.04 < statuses["rejected"] / 8000 < 0.06
    assert statuses["closed"] > 0.8 * 8000 and {"signed", "parked", "revisit"} <= statuses.keys()
    # Reports per day in the 龙舟水 rainy season (May–June) against the rest of the year.
    rainy = loaded.filter(reported_at__month__in=[5, 6]).count()
    per_day_rainy = rainy / (61 * 2 + 0.5)  # May–June of 2024 and 2025 (2023's falls outside)
    per_day_rest = (8000 - rainy) / (history.DAYS - 122)
    assert 1.3 < per_day_rainy / per_day_rest < 1.7
    # The loaded cases lie within the 2.5 years before UNTIL, with numbers in the intake's format.
    first = loaded.order_by("reported_at").first()
    last = loaded.order_by("-reported_at").first()
    assert first is not None and last is not None
    assert timezone.localdate(first.reported_at) >= history.first_day(UNTIL)
    assert timezone.localdate(last.reported_at) < UNTIL
    assert last.number == f"{timezone.localtime(last.reported_at):%Y%m%d}{last.pk:07d}"
    # The most common categories are the everyday ones.
    top = loaded.values_list("category__name").annotate(n=Count("id")).order_by("-n").first()
    assert top is not None and top[0] == "暴露垃圾"


def test_a_case_reported_after_the_bulk_load_gets_the_next_id() -> None:
    call_command("generate_city", scale=0.01, cases=500, seed=5, stdout=StringIO())
    last = Case.objects.order_by("-pk").first()
    assert last is not None
    worker = User.objects.get(username="worker")
    grid = GridNode.objects.filter(level="grid").order_by("code").first()
    assert grid is not None
    from zhiwang.cases import intake
    from zhiwang.common.origin import Origin

    reported = intake.case_report(
        actor=worker,
        channel="grid_worker",
        lon=grid.label_lon,
        lat=grid.label_lat,
        description="路边有一堆生活垃圾",
        origin=Origin(channel="system"),
    )
    assert reported.case.pk == last.pk + 1
    rolled, direct = _city_kpis()
    assert rolled == direct


def test_generate_city_refuses_bad_arguments_and_a_city_already_there() -> None:
    with pytest.raises(CommandError, match="--scale"):
        call_command("generate_city", scale=0, stdout=StringIO())
    with pytest.raises(CommandError, match="negative"):
        call_command("generate_city", scale=0.01, cases=-1, stdout=StringIO())
    with pytest.raises(CommandError, match="no city"):
        call_command("generate_city", scale=0.01, cases=10, cases_only=True, stdout=StringIO())
    call_command("generate_city", scale=0.01, cases=100, seed=5, stdout=StringIO())
    with pytest.raises(CommandError, match="--cases-only"):
        call_command("generate_city", scale=0.01, cases=100, seed=5, stdout=StringIO())
    before = Case.objects.count()
    call_command("generate_city", scale=0.01, cases=100, seed=6, cases_only=True, stdout=StringIO())
    assert Case.objects.count() == before + 100
    assert _city_kpis()[0]["reported"] == before + 100
