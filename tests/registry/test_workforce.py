"""Enterprise grids linked to residences: a factory worker is in the resident list of the community
they live in and in the workforce view of the enterprise grid they work in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from tests.registry.conftest import Registry
from tests.registry.world import ORIGIN, id_number
from zhiwang.accounts.models import Role, User
from zhiwang.registry import services

R = "/api/v1/registry"


def test_a_worker_appears_where_they_live_and_where_they_work(
    reg: Registry,
    make_user: Callable[..., User],
    api_client: Callable[[User | None], Client],
    django_assert_max_num_queries: Any,
) -> None:
    # Lives in community X (虎门镇第1社区), works for the factory in enterprise grid Y (东城企业网格).
    x = reg.grids["441900101001"]
    worker = services.person_create(
        actor=reg.superuser,
        room_id=reg.outside.room.pk,
        fields=services.PersonFields(
            name="李工", id_number=id_number(born="19950505"), kind="migrant", inflow_reason="work"
        ),
        origin=ORIGIN,
    )
    factory = reg.inside.unit
    assert factory.enterprise_grid is not None and factory.enterprise_grid.code == "ENT-DC-01"
    number = services.crypto.decrypt(worker.id_number_enc, "person.id_number")
    result = services.employment_create(
        actor=reg.enterprise_worker, unit_id=factory.pk, id_number=number, position="操作工", origin=ORIGIN
    )
    assert result.employment.person_id == worker.pk

    x_dispatcher = make_user(Role.COMMUNITY_DISPATCHER, grid=x)
    x_client, y_client = api_client(x_dispatcher), api_client(reg.enterprise_worker)
    with django_assert_max_num_queries(8):
        residents = x_client.get(f"{R}/communities/{x.pk}/residents").json()
    mine = {p["id"]: p for p in residents["items"]}
    assert worker.pk in mine and mine[worker.pk]["employers"] == ["东城电子厂"]
    assert reg.inside.person.pk not in mine  # the factory's other worker lives in 东城, not in X

    y = factory.enterprise_grid
    with django_assert_max_num_queries(8):
        workforce = y_client.get(f"{R}/enterprise-grids/{y.pk}/workforce").json()
    rows = {row["person"]["id"]: row for row in workforce["items"]}
    assert set(rows) == {worker.pk, reg.inside.person.pk}
    assert rows[worker.pk]["position"] == "操作工"
    assert rows[worker.pk]["person"]["residence"].startswith("虎门镇虎门镇第1社区")
    assert rows[worker.pk]["person"]["id_number"].count("*") == 10
    # The enterprise grid reads its workforce, not the rest of community X.
    assert api_client(reg.enterprise_worker).get(f"{R}/persons/{reg.outside.person.pk}").status_code == 404
    assert api_client(reg.enterprise_worker).get(f"{R}/persons/{worker.pk}").status_code == 200
    # Health and key-group tags stay with the residence's carers.
    assert rows[worker.pk]["person"]["tags"] is None


def test_more_residents_do_not_mean_more_queries(
    reg: Registry, api_client: Callable[[User | None], Client], django_assert_max_num_queries: Any
) -> None:
    for n in range(15):
        services.person_create(
            actor=reg.superuser,
            room_id=reg.inside.room.pk,
            fields=services.PersonFields(name=f"住户{n}", id_number=id_number(born="20000101")),
            origin=ORIGIN,
        )
    client = api_client(reg.dispatcher)
    with django_assert_max_num_queries(8):
        listed = client.get(f"{R}/persons").json()
    assert listed["count"] == 16
    with django_assert_max_num_queries(8):
        assert client.get(f"{R}/units").json()["count"] == 1
    with django_assert_max_num_queries(8):
        assert client.get(f"{R}/addresses").json()["count"] == 1
