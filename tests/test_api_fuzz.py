"""Schemathesis drives every operation of the OpenAPI document with generated input (bounded): no
answer is a server error, and every error answer has the documented shape."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from zhiwang.accounts.models import Role, User
from zhiwang.accounts.services import token_issue
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Any:
    """The WSGI handler closes database connections after each request; inside a test transaction
    that would close the test's own connection (Django's test client does the same as here)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(city: dict[str, GridNode], make_user: Any) -> dict[str, str]:
    """A city commander's token: the widest reader who is not a superuser."""
    commander: User = make_user(Role.CITY_COMMANDER, grid=city["441900"])
    key = token_issue(actor=commander, user_id=commander.pk, name="fuzz", origin=Origin.cli()).key
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_input_breaks_the_api(case: Any, bearer: dict[str, str]) -> None:
    response = case.call(headers=bearer)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith(
        "application/json"
    ):
        error = response.json().get("error")
        assert isinstance(error, dict), response.text
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), response.text
