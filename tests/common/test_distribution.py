"""The check that statements name the city of every distributed table they touch (tests/distribution.py),
and the city key the case tables carry."""

from __future__ import annotations

from typing import Any

import pytest

from tests.distribution import unrouted
from zhiwang.accounts.models import Role
from zhiwang.cases.models import CaseEvent
from zhiwang.common.distribution import DISTRIBUTED, REFERENCE


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT * FROM "cases_case" WHERE ("cases_case"."city_id" IN (%s) AND "cases_case"."id" = %s)',
        "SELECT * FROM cases_case WHERE city_id = 7",
        "SELECT * FROM cases_case a JOIN cases_caseevent e ON e.case_id = a.id AND e.city_id = a.city_id "
        "WHERE a.city_id = %s",
        "SELECT * FROM cases_case a LEFT JOIN grids_gridnode g ON g.id = a.grid_id WHERE a.city_id = ANY(%s)",
        "SELECT (SELECT u.number FROM cases_case u WHERE u.city_id = a.city_id AND u.id = a.merged_into_id) "
        "FROM cases_case a WHERE a.city_id = 1",
        "SELECT count(*) FROM (SELECT 1 FROM cases_case WHERE city_id = 3) AS sub",
        "INSERT INTO cases_caseevent (case_id, kind, city_id) VALUES (%s, %s, %s) RETURNING id",
        "UPDATE cases_case SET status = %s WHERE city_id = %s AND id = %s",
        "DELETE FROM cases_extension WHERE city_id = 2 AND id = 5",
        "SELECT * FROM cases_kpidelta WHERE root_key = 1 AND day >= %s",
        "SELECT * FROM grids_gridnode WHERE id = %s",  # a reference table needs no city
        "SAVEPOINT s1",
    ],
)
def test_statements_that_name_their_city_pass(sql: str) -> None:
    assert unrouted(sql) == []


@pytest.mark.parametrize(
    ("sql", "found"),
    [
        ("SELECT * FROM cases_case WHERE id = %s", ["cases_case"]),
        ("SELECT 1 FROM cases_case WHERE city_id = 3 OR id = 4", ["cases_case"]),
        ("SELECT * FROM cases_case WHERE city_id IN (SELECT id FROM grids_gridnode)", ["cases_case"]),
        (
            "SELECT * FROM cases_case a JOIN cases_caseevent e ON e.case_id = a.id WHERE a.city_id = %s",
            ["cases_caseevent"],
        ),
        (
            "SELECT * FROM open311_requesttoken t LEFT JOIN cases_case c ON c.id = t.case_id "
            "WHERE t.token = %s",
            ["cases_case"],
        ),
        (
            "INSERT INTO cases_caseevent (case_id, kind) VALUES (%s, %s)",
            ["cases_caseevent (INSERT without city_id)"],
        ),
        ("UPDATE cases_case SET status = %s WHERE id = %s", ["cases_case"]),
        (
            "DELETE FROM cases_case WHERE city_id = 1 "
            "AND id IN (SELECT case_id FROM cases_caseevent WHERE kind = %s)",
            ["cases_caseevent"],
        ),
        ("SELECT * FROM cases_kpidelta WHERE town_key = 4", ["cases_kpidelta"]),
        (
            "SELECT a.id FROM cases_case a UNION ALL SELECT b.id FROM cases_case b WHERE b.city_id = 1",
            ["cases_case"],
        ),
    ],
)
def test_statements_that_leave_a_city_open_are_found(sql: str, found: list[str]) -> None:
    assert unrouted(sql) == found


def test_every_distributed_table_is_a_model_table_and_none_is_also_a_reference_table() -> None:
    from django.apps import apps

    tables = {model._meta.db_table: model for model in apps.get_models()}
    for table, key in DISTRIBUTED.items():
        assert table in tables, table
        assert key in {f.column for f in tables[table]._meta.concrete_fields}, (table, key)
    assert set(REFERENCE) <= set(tables)
    assert not set(REFERENCE) & set(DISTRIBUTED)


def test_a_case_and_its_timeline_carry_the_city_of_its_grid(
    city: Any, make_user: Any, api_client: Any
) -> None:
    worker = make_user(Role.GRID_WORKER, grid=city["441900101001001"])
    answer = api_client(worker).post(
        "/api/v1/cases",
        {"channel": "grid_worker", "lon": 113.73, "lat": 22.95, "description": "路灯不亮"},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    root = city["441900"].pk
    case_id = answer.json()["id"]
    assert (
        CaseEvent.objects.filter(case_id=case_id).values_list("city_id", flat=True).distinct().get() == root
    )
    from zhiwang.cases.models import Case

    assert Case.objects.get(pk=case_id).city_id == root
    from zhiwang.audit.models import AuditEntry

    assert AuditEntry.objects.get(action="case.report", object_id=str(case_id)).city_id == root
    # An entry without a place takes its actor's city.
    from zhiwang.audit.services import audit_record
    from zhiwang.common.origin import Origin

    assert audit_record(actor=worker, action="token.create", origin=Origin.cli()).city_id == root


def test_the_home_city_is_the_only_city_or_the_one_named_by_its_code(city: Any, settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from zhiwang.grids import locate

    assert locate.home_city_id() == city["441900"].pk
    settings.ZHIWANG_HOME_CITY = "441900"
    assert locate.home_city_id() == city["441900"].pk
    settings.ZHIWANG_HOME_CITY = "440300"
    with pytest.raises(ImproperlyConfigured):
        locate.home_city_id()
