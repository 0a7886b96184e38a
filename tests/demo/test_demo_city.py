"""The demo city, built small, through the same services as real data."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from zhiwang.accounts.models import Role, RoleAssignment, User
from zhiwang.cases.models import Case
from zhiwang.demo.city import DEMO_PASSWORD, build_demo_city
from zhiwang.demo.plan import plan_city
from zhiwang.grids import locate
from zhiwang.grids.models import GridNode


def test_plan_scales_from_one_town_to_the_full_city() -> None:
    full, names = plan_city(1.0, seed=1)
    assert len(full) == 32
    assert sum(c.grids for town in full for c in town.children) == 2894
    assert names["441900003"] == "东城街道"
    small, _ = plan_city(0.01, seed=1)
    assert [town.key for town in small] == ["441900003"]
    assert all(c.grids >= 1 for c in small[0].children)
    with pytest.raises(ValueError):
        plan_city(0, seed=1)
    # The same seed gives the same plan; another seed other grid counts.
    assert plan_city(1.0, seed=1)[0] == full
    assert plan_city(1.0, seed=2)[0] != full


@pytest.mark.django_db
def test_demo_city_is_valid_and_staffed() -> None:
    city = build_demo_city(scale=0.01, seed=7, progress=lambda message: None)
    assert city.towns == 1 and city.grids == GridNode.objects.filter(level="grid").count() >= city.communities
    town = GridNode.objects.get(level="town")
    assert (town.code, town.name, town.kind_label) == ("441900003", "东城街道", "街道")
    codes = sorted(GridNode.objects.filter(level="grid").values_list("code", flat=True))
    assert all(len(code) == 15 and code.startswith("441900003") for code in codes)
    # Every grid's own label point is found in that grid.
    for node in GridNode.objects.filter(level="grid")[:20]:
        assert locate.locate(node.label_lon, node.label_lat).grid_id == node.pk
    # One worker per grid except the vacancies, and a login for every role.
    workers = RoleAssignment.objects.filter(role=Role.GRID_WORKER).count()
    assert workers + city.unstaffed == city.grids and city.unstaffed >= 1
    assert {login.role for login in city.logins} == set(Role.values)
    # Sample cases in several states, each with its timeline.
    statuses = set(Case.objects.values_list("status", flat=True))
    assert Case.objects.count() >= 20 and {"reported", "closed"} <= statuses and len(statuses) >= 5
    assert not Case.objects.filter(events__isnull=True).exists()
    client = Client()
    response = client.post("/accounts/login/", {"username": "worker", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/v1/me").json()["roles"] == ["grid_worker"]


@pytest.mark.django_db
def test_demo_refuses_a_database_that_already_has_grids() -> None:
    build_demo_city(scale=0.01, seed=7, progress=lambda message: None)
    with pytest.raises(ValueError):
        build_demo_city(scale=0.01, seed=7, progress=lambda message: None)
    assert User.objects.filter(username="admin").count() == 1


@pytest.mark.django_db
def test_generate_command_prints_the_logins(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("generate_demo_city", "--scale", "0.01", "--seed", "3")
    out = capsys.readouterr().out
    assert "zhiwang-demo-2026" in out and "town_commander" in out and "东城街道" in out
