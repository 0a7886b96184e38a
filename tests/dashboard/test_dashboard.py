"""The dashboard: every figure equals a direct count over the cases, in bounded queries, for leaders
and commanders only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.cases.test_kpis import recount
from tests.dashboard.conftest import Mix, at, build_mix, recount_row
from zhiwang.accounts.models import Role, RoleAssignment, User
from zhiwang.cases import kpis
from zhiwang.cases.models import Case
from zhiwang.cases.selectors import case_cohort
from zhiwang.dashboard import selectors
from zhiwang.dashboard.context_processors import dashboard
from zhiwang.dashboard.selectors import Period, Ranked
from zhiwang.grids.models import GridNode

MARCH = Period.of_month(2026, 3)
ROW_FIELDS = (
    "reported",
    "found",
    "handled",
    "handled_on_time",
    "overdue",
    "handling_rate",
    "on_time_handling_rate",
)


def row_figures(row: Ranked) -> dict[str, object]:
    return {name: getattr(row, name) for name in ROW_FIELDS}


def in_period(case: Case, period: Period) -> bool:
    return period.since <= case.reported_at < period.until


def test_every_figure_equals_a_direct_count(mix: Mix) -> None:
    build_mix(mix, count=75, seed=7)
    place = mix.place
    city = place.city["441900"]
    now = timezone.now()
    board = selectors.dashboard(actor=place.city_commander, node=city, period=MARCH, now=now)
    cases = [c for c in Case.objects.all() if in_period(c, MARCH)]
    assert len(cases) == 25

    headline = recount(cases, now)
    assert {key: board.headline.as_dict()[key] for key in headline} == headline

    towns = {row.name: row for row in board.children}
    assert set(towns) == {"东城街道", "虎门镇"}
    for code in ("441900003", "441900101"):
        path = place.city[code].path
        row = towns[place.city[code].name]
        assert row_figures(row) == recount_row([c for c in cases if c.grid_path.startswith(path)], now)
    assert board.elsewhere is None
    assert sum(row.reported for row in board.children) == board.headline.reported

    departments = {row.id: row for row in board.departments}
    assert set(departments) == {c.department_id for c in cases if c.department_id}
    for department_id, row in departments.items():
        assert row_figures(row) == recount_row([c for c in cases if c.department_id == department_id], now)

    workers = {row.id: row for row in board.reporters}
    assert set(workers) == {c.reporter_id for c in cases if c.channel == "grid_worker"}
    for reporter_id, row in workers.items():
        mine = [c for c in cases if c.reporter_id == reporter_id and c.channel == "grid_worker"]
        assert row_figures(row) == recount_row(mine, now)
    assert board.reporters_total == len(workers)


def test_the_rankings_agree_with_the_kpis_of_each_row(mix: Mix) -> None:
    build_mix(mix, count=45, seed=3)
    place = mix.place
    town = place.city["441900003"]
    now = timezone.now()
    board = selectors.dashboard(actor=place.city_commander, node=town, period=MARCH, now=now)
    assert [row.name for row in board.children] and all(row.id for row in board.children)
    for row in board.children:
        child = GridNode.objects.get(pk=row.id)
        figures = kpis.compute(
            case_cohort(
                actor=place.city_commander, since=MARCH.since, until=MARCH.until, within_path=child.path
            ),
            now=now,
        )
        assert (row.reported, row.found, row.handled, row.handled_on_time, row.overdue) == (
            figures.reported,
            figures.found,
            figures.handled,
            figures.handled_on_time,
            figures.overdue,
        )
        assert (row.handling_rate, row.on_time_handling_rate) == (
            figures.handling_rate,
            figures.on_time_handling_rate,
        )


def test_the_trend_counts_each_of_twelve_months(mix: Mix) -> None:
    build_mix(mix, count=45, seed=5)
    place = mix.place
    city = place.city["441900"]
    now = timezone.now()
    trend = selectors.monthly_trend(
        actor=place.city_commander, node=city, last_month=at(2026, 3, 1).date(), now=now
    )
    assert [m.month.strftime("%Y-%m") for m in trend] == [f"2025-{m:02d}" for m in range(4, 13)] + [
        "2026-01",
        "2026-02",
        "2026-03",
    ]
    cases = list(Case.objects.all())
    for month in trend:
        period = Period.of_month(month.month.year, month.month.month)
        direct = recount_row([c for c in cases if in_period(c, period)], now)
        assert {k: getattr(month, k) for k in direct if k != "overdue"} == {
            k: v for k, v in direct.items() if k != "overdue"
        }
    assert sum(m.reported for m in trend) == len(cases)


def test_rankings_sort_best_first_and_keep_rows_without_a_rate_last() -> None:
    rows = [
        Ranked(id=1, name="甲", reported=10, handling_rate=0.5, on_time_handling_rate=1.0),
        Ranked(id=2, name="乙", reported=3, handling_rate=None, on_time_handling_rate=None),
        Ranked(id=3, name="丙", reported=5, handling_rate=0.9, on_time_handling_rate=0.2),
    ]
    assert [r.id for r in selectors.rank(rows, "handling")] == [3, 1, 2]
    assert [r.id for r in selectors.rank(rows, "on_time")] == [1, 3, 2]
    assert [r.id for r in selectors.rank(rows, "reported")] == [1, 3, 2]


def test_a_custom_period_includes_both_ends(mix: Mix) -> None:
    build_mix(mix, count=30, seed=9)
    place = mix.place
    first, last = at(2026, 2, 5).date(), at(2026, 2, 12).date()
    period = Period.of_days(first, last)
    board = selectors.dashboard(actor=place.city_commander, node=place.city["441900"], period=period)
    expected = [c for c in Case.objects.all() if first <= timezone.localtime(c.reported_at).date() <= last]
    assert expected and board.headline.reported == len(expected)
    assert (period.first_day, period.last_day) == (first, last)


# --- the page --------------------------------------------------------------------------------------


def page(client: Client, **params: Any) -> Any:
    return client.get("/console/dashboard/", params)


def test_the_page_shows_the_figures_in_bounded_queries(
    mix: Mix, api_client: Callable[[User | None], Client], django_assert_max_num_queries: Any
) -> None:
    place = mix.place
    build_mix(mix, count=20, seed=1)
    client = api_client(place.city_commander)
    with CaptureQueriesContext(connection) as few:
        response = page(client, month="2026-03")
    assert response.status_code == 200
    build_mix(mix, count=60, seed=2)
    with django_assert_max_num_queries(13), CaptureQueriesContext(connection) as many:
        response = page(client, month="2026-03", rank="on_time")
    assert response.status_code == 200
    assert len(many) == len(few)  # three times the cases, departments and workers: same queries
    board = response.context["figures"]
    cases = [c for c in Case.objects.all() if in_period(c, MARCH)]
    assert board.headline.reported == len(cases)
    html = response.content.decode()
    assert "东城街道" in html and "虎门镇" in html
    assert 'id="trend-chart"' in html and 'id="dashboard-data"' in html
    charts = response.context["charts"]
    assert sum(charts["trend"]["reported"]) == Case.objects.count()
    assert charts["children"]["names"] == [row.name for row in board.children]


def test_a_child_row_links_to_its_own_dashboard_and_keeps_the_period(
    mix: Mix, api_client: Callable[[User | None], Client]
) -> None:
    place = mix.place
    build_mix(mix, count=10, seed=4)
    client = api_client(place.city_commander)
    town = place.city["441900003"]
    response = page(client, month="2026-03")
    assert f'href="?node={town.pk}&amp;month=2026-03"' in response.content.decode()
    response = page(client, node=town.pk, month="2026-03")
    assert response.status_code == 200
    assert response.context["figures"].node == town
    assert [n.pk for n in response.context["breadcrumbs"]] == [place.city["441900"].pk]


@pytest.mark.parametrize(
    ("role", "code", "status"),
    [
        (Role.LEADER, "441900003", 200),
        (Role.TOWN_COMMANDER, "441900003", 200),
        (Role.CITY_COMMANDER, "441900", 200),
        (Role.GRID_WORKER, "441900003001001", 403),
        (Role.COMMUNITY_DISPATCHER, "441900003001", 200),  # the community's command center
        (Role.ADMINISTRATOR, "441900003", 403),
    ],
)
def test_command_centers_and_leaders_read_it_and_others_do_not(
    mix: Mix,
    make_user: Callable[..., User],
    api_client: Callable[[User | None], Client],
    role: str,
    code: str,
    status: int,
) -> None:
    user = make_user(role, grid=mix.place.city[code])
    response = page(api_client(user), month="2026-03")
    assert response.status_code == status
    if status == 200:
        assert response.context["figures"].node.code == code


def test_a_department_handler_does_not_read_it(mix: Mix, api_client: Callable[[User | None], Client]) -> None:
    assert page(api_client(mix.place.handler)).status_code == 403


def test_a_node_outside_the_scope_is_not_found_and_one_without_command_is_refused(
    mix: Mix, make_user: Callable[..., User], api_client: Callable[[User | None], Client]
) -> None:
    city = mix.place.city
    leader = make_user(Role.LEADER, grid=city["441900003"])
    client = api_client(leader)
    assert page(client, node=city["441900101"].pk).status_code == 404
    assert page(client, node=city["441900"].pk).status_code == 404
    assert page(client, node=city["441900003001"].pk).status_code == 200
    # A leader who is also a grid worker elsewhere reads that grid but does not command it.
    RoleAssignment.objects.create(
        user=leader, role=Role.GRID_WORKER, grid=city["441900101001001"], starts_on="2020-01-01"
    )
    assert page(api_client(leader), node=city["441900101001001"].pk).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(db: None) -> None:
    response = Client().get("/console/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": "March"}, "month"),
        ({"start": "2026-03-01"}, None),
        ({"start": "2026-03-09", "end": "2026-03-01"}, None),
        ({"start": "1999-01-01", "end": "2026-03-01"}, "start"),
        ({"node": "abc"}, "node"),
        ({"rank": "speed"}, "rank"),
    ],
)
def test_bad_input_gets_a_clear_error_and_keeps_what_was_typed(
    mix: Mix, api_client: Callable[[User | None], Client], params: dict[str, str], field: str | None
) -> None:
    response = page(api_client(mix.place.city_commander), **params)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors.get(field or "__all__")
    html = response.content.decode()
    assert 'role="alert"' in html
    for name, value in params.items():
        if name in ("month", "start", "end"):
            assert f'value="{value}"' in html
    assert "figures" not in response.context


def test_the_navigation_knows_who_may_open_the_dashboard(
    mix: Mix, make_user: Callable[..., User], rf: Any
) -> None:
    request = rf.get("/")
    for user, expected in (
        (make_user(Role.LEADER, grid=mix.place.city["441900"]), True),
        (mix.place.town, True),
        (mix.place.worker, False),
        (mix.place.dispatcher, True),
        (mix.place.handler, False),
        (AnonymousUser(), False),
    ):
        request.user = user
        assert dashboard(request) == {"can_read_dashboard": expected}
