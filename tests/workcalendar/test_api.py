"""The calendar endpoints: through a test API mounted like the real one, and through the real one
once `zhiwang.api` mounts the router at /api/v1/calendar."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.security import SessionAuth
from ninja.testing import TestClient

from zhiwang.accounts.models import Role, User
from zhiwang.api import TokenAuth, error_body
from zhiwang.api import api as zhiwang_api
from zhiwang.audit.models import AuditEntry
from zhiwang.common.errors import ApplicationError, PermissionDenied
from zhiwang.grids.models import GridNode
from zhiwang.workcalendar.api import router
from zhiwang.workcalendar.models import CalendarYear

pytestmark = pytest.mark.django_db

ARRANGEMENT_2027 = {
    "holidays": [{"first_day": "2027-02-06", "last_day": "2027-02-13", "name": "春节"}],
    "makeup_workdays": [{"day": "2027-02-14", "name": "春节调休上班"}],
    "note": "测试",
}


def build_test_api() -> NinjaAPI:
    """The router mounted the way `zhiwang.api` mounts routers: same auth, same error bodies."""
    test_api = NinjaAPI(auth=[TokenAuth(), SessionAuth()], urls_namespace="test-workcalendar")
    test_api.add_router("/calendar", router)

    @test_api.exception_handler(ApplicationError)
    def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
        return test_api.create_response(
            request, error_body(exc.code, exc.message, exc.details), status=exc.status
        )

    @test_api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return test_api.create_response(
            request, error_body("not_authenticated", "Sign in or send a valid token."), status=401
        )

    return test_api


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(build_test_api())


def test_any_staff_member_reads_a_year(
    client: TestClient, city: dict[str, GridNode], make_user: Callable[..., User]
) -> None:
    worker = make_user(Role.GRID_WORKER, grid=city["441900003001001"])
    response = client.get("/calendar/2026", user=worker)
    assert response.status_code == 200
    body = response.json()
    assert body["year"] == 2026 and body["published"] is True and body["source"] == "chinese_calendar"
    assert body["workday_count"] == 248 and body["office_seconds_per_day"] == 27_000
    assert body["office_hours"] == "08:30-12:00,14:00-18:00"
    by_day = {d["day"]: d for d in body["days"]}
    assert by_day["2026-02-14"] == {
        "day": "2026-02-14",
        "weekday": 6,
        "is_workday": True,
        "name": "春节调休上班",
        "source": "chinese_calendar",
    }
    assert by_day["2026-10-01"]["name"] == "国庆节" and not by_day["2026-10-01"]["is_workday"]
    response = client.get("/calendar/2027", user=worker)
    assert response.status_code == 200
    assert response.json()["published"] is False and response.json()["days"] == []


def test_anonymous_and_roleless_callers_are_refused(
    client: TestClient, make_user: Callable[..., User], superuser: User
) -> None:
    response = client.get("/calendar/2026")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    response = client.get("/calendar/2026", user=make_user())
    assert response.status_code == 403 and response.json()["error"]["code"] == "no_role"
    response = client.get("/calendar/3000", user=superuser)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_year"


def test_a_city_administrator_publishes_through_the_api(
    client: TestClient, city: dict[str, GridNode], make_user: Callable[..., User]
) -> None:
    admin = make_user(Role.ADMINISTRATOR, grid=city["441900"])
    response = client.put(
        "/calendar/2027", json=ARRANGEMENT_2027, user=admin, META={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["published"] is True and body["source"] == "administrator" and body["note"] == "测试"
    assert [d["day"] for d in body["days"]][:2] == ["2027-02-06", "2027-02-07"] and len(body["days"]) == 9
    assert body["workday_count"] == 261 - 5 + 1
    entry = AuditEntry.objects.get(action="calendar.publish_year")
    assert entry.ip == "10.0.0.9" and entry.actor == admin


def test_publishing_is_refused_to_a_town_administrator_and_bad_input_is_named(
    client: TestClient, city: dict[str, GridNode], make_user: Callable[..., User], superuser: User
) -> None:
    town_admin = make_user(Role.ADMINISTRATOR, grid=city["441900003"])
    response = client.put("/calendar/2027", json=ARRANGEMENT_2027, user=town_admin)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "city_administrator_only"
    bad = {**ARRANGEMENT_2027, "makeup_workdays": [{"day": "2027-03-10", "name": "调休"}]}
    response = client.put("/calendar/2027", json=bad, user=superuser)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_calendar"
    assert error["details"] == [
        {
            "entry": "makeup_workdays[0]",
            "kind": "not_weekend",
            "message": "makeup_workdays[0] (调休 2027-03-10 (三)): "
            "a make-up working day must be a Saturday or Sunday.",
        }
    ]
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_handlers_called_directly(city: dict[str, GridNode], make_user: Callable[..., User]) -> None:
    # The bare router (no auth, no error mapping): the refusal surfaces as the domain error.
    bare = TestClient(router)
    leader = make_user(Role.LEADER, grid=city["441900"])
    assert bare.get("/2026", user=leader).json()["year"] == 2026
    with pytest.raises(PermissionDenied):
        bare.put("/2027", json=ARRANGEMENT_2027, user=leader)


def mounted() -> bool:
    return any(mounted_router is router for _, mounted_router in zhiwang_api._routers)


@pytest.mark.skipif(not mounted(), reason="zhiwang.api does not mount the calendar router yet")
def test_through_the_mounted_api(
    city: dict[str, GridNode],
    make_user: Callable[..., User],
    api_client: Callable[[User | None], Client],
) -> None:
    assert api_client(None).get("/api/v1/calendar/2026").status_code == 401
    worker = make_user(Role.GRID_WORKER, grid=city["441900003001001"])
    response = api_client(worker).get("/api/v1/calendar/2026")
    assert response.status_code == 200 and response.json()["published"] is True
    admin = make_user(Role.ADMINISTRATOR, grid=city["441900"])
    body: Any = json.dumps(ARRANGEMENT_2027)
    response = api_client(admin).put("/api/v1/calendar/2027", data=body, content_type="application/json")
    assert response.status_code == 200 and response.json()["published"] is True
    town_admin = make_user(Role.ADMINISTRATOR, grid=city["441900003"])
    response = api_client(town_admin).put("/api/v1/calendar/2027", data=body, content_type="application/json")
    assert response.status_code == 403
