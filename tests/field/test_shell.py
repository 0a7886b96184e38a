"""The app shell: signed-in grid workers only, no personal data (it is cached on the phone), and
the configuration its scripts read."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.field.world import Crew
from zhiwang.accounts.models import Role, RoleAssignment, User
from zhiwang.grids.models import GridNode

SHELL = "/field/"


def config_of(body: str) -> dict[str, Any]:
    match = re.search(r'<script id="field-config" type="application/json">(.*?)</script>', body, re.S)
    assert match is not None
    return dict(json.loads(match.group(1)))


def test_the_shell_sends_signed_out_visitors_to_the_sign_in_page(db: None) -> None:
    answer = Client().get(SHELL)
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/login/?next=/field/"


@pytest.mark.parametrize(
    "role",
    [
        Role.COMMUNITY_DISPATCHER,
        Role.TOWN_COMMANDER,
        Role.CITY_COMMANDER,
        Role.LEADER,
        Role.ADMINISTRATOR,
        Role.DEPARTMENT_HANDLER,
        None,
    ],
)
def test_the_shell_refuses_everyone_but_grid_workers(
    role: str | None,
    city: dict[str, GridNode],
    crew: Crew,
    make_user: Callable[..., User],
    api_client: Callable[[User | None], Client],
) -> None:
    if role == Role.DEPARTMENT_HANDLER:
        user = make_user(role, department=crew.department)
    else:
        user = make_user(role, grid=city["441900003"] if role else None)
    answer = api_client(user).get(SHELL)
    assert answer.status_code == 403
    assert b"field-config" not in answer.content
    assert "grid worker" in answer.content.decode() or "网格员" in answer.content.decode()


def test_the_shell_refuses_a_superuser_without_a_grid(
    superuser: User, api_client: Callable[[User | None], Client]
) -> None:
    assert api_client(superuser).get(SHELL).status_code == 403


def test_the_shell_refuses_a_grid_worker_whose_assignment_has_ended(
    crew: Crew, api_client: Callable[[User | None], Client]
) -> None:
    RoleAssignment.objects.filter(user=crew.worker).update(
        starts_on=date(2020, 1, 1), ends_on=timezone.localdate() - timedelta(days=1)
    )
    assert api_client(crew.worker).get(SHELL).status_code == 403


def test_a_grid_worker_gets_the_shell_with_its_manifest_and_scripts(
    crew: Crew, api_client: Callable[[User | None], Client], django_assert_max_num_queries: Any
) -> None:
    crew.worker.username, crew.worker.display_name = "wxm7731", "王小明"
    crew.worker.save()
    client = api_client(crew.worker)
    with django_assert_max_num_queries(3):  # the session, the user, their role assignments
        answer = client.get(SHELL)
    assert answer.status_code == 200
    body = answer.content.decode()
    assert '<link rel="manifest" href="/field/manifest.webmanifest">' in body
    for script in ("vendor/leaflet/leaflet.js", "field/queue.js", "field/app.js"):
        assert f'<script src="/static/{script}"></script>' in body
    assert 'capture="environment"' in body
    assert 'accept="image/*"' in body
    # The page is cached by the service worker and shared by whoever signs in on the phone.
    assert "wxm7731" not in body
    assert "王小明" not in body
    assert "private" in answer["Cache-Control"]
    assert "no-cache" in answer["Cache-Control"]
    # The scripts send the CSRF token from this cookie.
    assert answer.cookies["csrftoken"].value


def test_the_shell_configuration_names_the_api_and_the_wording(
    crew: Crew, api_client: Callable[[User | None], Client]
) -> None:
    config = config_of(api_client(crew.worker).get(SHELL).content.decode())
    assert config["urls"] == {
        "me": "/api/v1/me",
        "cases": "/api/v1/cases",
        "categories": "/api/v1/categories?tree=true",
        "grids": "/api/v1/grids/",
        "login": "/accounts/login/?next=/field/",
        "sw": "/field/sw.js",
        "scope": "/field/",
    }
    assert config["photo"] == {"maxSide": 1600, "quality": 0.82}
    assert config["locale"] == "zh-CN"
    assert set(config["statuses"]) >= {"handled", "revisit", "closed"}
    assert set(config["stages"]) == {"report", "before", "after", "verify"}
    for key in ("state_queued", "state_sending", "state_sent", "state_failed", "online", "offline"):
        assert config["labels"][key]
    assert config["errors"]["description_required"]


def test_the_shell_follows_the_chosen_language(
    crew: Crew, api_client: Callable[[User | None], Client]
) -> None:
    client = api_client(crew.worker)
    client.post("/i18n/setlang/", {"language": "en", "next": SHELL})
    answer = client.get(SHELL)
    assert '<html lang="en">' in answer.content.decode()
    assert config_of(answer.content.decode())["locale"] == "en"
