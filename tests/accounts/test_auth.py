"""Sign-in, lockout, second factor, API tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import PASSWORD
from zhiwang.accounts.models import Role, User
from zhiwang.accounts.services import token_issue
from zhiwang.audit.models import AuditEntry
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode


def login(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_passwords_are_hashed_with_argon2_by_default(db: None, settings: Any) -> None:
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    user = User.objects.create_user(username="hashed", password=PASSWORD)
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


def test_grid_worker_signs_in_to_the_field_app(
    city: dict[str, GridNode], make_user: Callable[..., User]
) -> None:
    make_user(Role.GRID_WORKER, grid=city["441900003001001"], username="worker")
    client = Client()
    response = login(client, "worker", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/")["Location"] == "/field/"
    page = client.get("/console/")
    assert page.status_code == 200
    assert "第1网格" in page.content.decode()
    assert AuditEntry.objects.filter(action="auth.login", actor__username="worker").count() == 1


def test_wrong_password_is_refused_in_chinese_by_default(db: None, make_user: Callable[..., User]) -> None:
    make_user(username="someone")
    response = login(Client(), "someone", "wrong-password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()


def test_lockout_after_repeated_failures(db: None, make_user: Callable[..., User], settings: Any) -> None:
    settings.ZHIWANG_LOGIN_MAX_FAILURES = 3
    user = make_user(username="target")
    client = Client()
    for _ in range(3):
        login(client, "target", "nope-nope-nope")
    user.refresh_from_db()
    assert user.locked_until is not None and user.locked_until > timezone.now()
    # Even the right password is refused while locked.
    response = login(client, "target", PASSWORD)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.locked", object_id=str(user.pk)).count() == 1
    assert AuditEntry.objects.filter(action="auth.login_failed", object_id=str(user.pk)).count() == 3
    # When the lock expires, the right password works and the counter starts again.
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timezone.timedelta(seconds=1))
    assert login(client, "target", PASSWORD).status_code == 302


def test_commanders_must_pass_a_second_factor(
    city: dict[str, GridNode], make_user: Callable[..., User]
) -> None:
    make_user(Role.TOWN_COMMANDER, grid=city["441900003"], username="commander")
    client = Client()
    response = login(client, "commander", PASSWORD)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/second-factor/")
    # Until the code passes: the console redirects and the API treats the session as anonymous.
    assert client.get("/console/").status_code == 302
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/accounts/second-factor/")
    user = User.objects.get(username="commander")
    assert user.totp_secret and user.totp_secret in page.content.decode()
    bad = client.post("/accounts/second-factor/", {"code": "000000"})
    assert bad.status_code == 200 and client.get("/api/v1/me").status_code == 401
    good = client.post("/accounts/second-factor/", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert good.status_code == 302
    assert client.get("/api/v1/me").json()["roles"] == ["town_commander"]
    user.refresh_from_db()
    assert user.totp_confirmed_at is not None
    assert AuditEntry.objects.filter(action="auth.totp_enrolled", object_id=str(user.pk)).exists()


def test_grid_workers_need_no_second_factor(
    city: dict[str, GridNode], make_user: Callable[..., User]
) -> None:
    make_user(Role.GRID_WORKER, grid=city["441900003001001"], username="worker")
    client = Client()
    login(client, "worker", PASSWORD)
    assert client.get("/api/v1/me").status_code == 200


def test_api_token_acts_as_its_user_until_revoked(
    city: dict[str, GridNode], make_user: Callable[..., User], superuser: User
) -> None:
    machine = make_user(Role.CITY_COMMANDER, grid=city["441900"], username="video-platform")
    issued = token_issue(actor=superuser, user_id=machine.pk, name="video", origin=Origin.cli())
    assert issued.key.startswith("zw_") and issued.token.key_hash != issued.key
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issued.key}"}
    me = client.get("/api/v1/me", **auth)
    assert me.status_code == 200 and me.json()["username"] == "video-platform"
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer zw_not-a-real-key").status_code == 401
    # A token needs no CSRF token: it is not a cookie.
    located = client.post(
        "/api/v1/grids/locate", {"lon": 113.61, "lat": 22.95}, content_type="application/json", **auth
    )
    assert located.status_code == 200 and located.json()["grid"]["code"] == "441900003001001"
    revoke = Client()
    revoke.force_login(superuser)
    session = revoke.session
    session["zhiwang_second_factor_ok"] = True
    session.save()
    assert revoke.post(f"/api/v1/tokens/{issued.token.pk}/revoke").status_code == 204
    assert client.get("/api/v1/me", **auth).status_code == 401


@pytest.mark.parametrize("language,expected", [("zh-hans", "网格地图"), ("en", "Grid map")])
def test_console_speaks_chinese_first_and_english_on_request(
    city: dict[str, GridNode], make_user: Callable[..., User], language: str, expected: str
) -> None:
    make_user(Role.GRID_WORKER, grid=city["441900003001001"], username="worker")
    client = Client(headers={"accept-language": "en"} if language == "en" else {})
    login(client, "worker", PASSWORD)
    assert expected in client.get("/console/").content.decode()


@pytest.mark.parametrize(
    ("role", "grid", "landing"),
    [
        (Role.CITY_COMMANDER, "441900", "/console/"),
        (Role.COMMUNITY_DISPATCHER, "441900003001", "/console/cases/"),
        (Role.GRID_WORKER, "441900003001001", "/field/"),
    ],
)
def test_each_role_lands_where_its_work_is(
    city: dict[str, GridNode], make_user: Callable[..., User], role: str, grid: str, landing: str
) -> None:
    user = make_user(role, grid=city[grid])
    client = Client()
    client.force_login(user)
    session = client.session
    session["zhiwang_second_factor_ok"] = True
    session.save()
    assert client.get("/")["Location"] == landing
    assert Client().get("/")["Location"].startswith("/accounts/login/")
