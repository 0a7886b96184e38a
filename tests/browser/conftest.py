"""Browser tests: Playwright's sync API driving Debian's chromium against Django's live server.

No browser is downloaded: `scripts/browser-deps` installs the `chromium` and `fonts-wqy-microhei`
Debian packages. Every screen a test looks at can be saved with `shoot(page, name)` under
`test-artifacts/screenshots/` (kept by CI as artefacts, ignored by git).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from zhiwang.accounts.middleware import SESSION_KEY
from zhiwang.accounts.models import User

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("ZHIWANG_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
# A point inside the test city's first base grid (441900003001001), on WGS-84.
FIELD_POINT = {"longitude": 113.625, "latitude": 22.95}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser-deps")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


def _new_context(browser: Any, base_url: str, *, phone: bool) -> Any:
    options: dict[str, Any] = {
        "base_url": base_url,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "viewport": PHONE if phone else DESKTOP,
    }
    if phone:
        options.update(
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
            geolocation=FIELD_POINT,
            permissions=["geolocation"],
        )
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def desktop(browser: Any, live_server: Any) -> Iterator[Any]:
    """A 1366×768 browser context (the command-center console's smallest screen), in Chinese."""
    context = _new_context(browser, live_server.url, phone=False)
    yield context
    context.close()


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """A phone-sized context with touch and a GPS fix inside the test city."""
    context = _new_context(browser, live_server.url, phone=True)
    yield context
    context.close()


@pytest.fixture
def another_phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """A second phone (a grid worker's, beside a resident's): its own cookies, storage and network."""
    context = _new_context(browser, live_server.url, phone=True)
    yield context
    context.close()


@pytest.fixture
def sign_in(live_server: Any) -> Callable[[Any, User], None]:
    """Puts a signed-in session for `user` (second factor passed) into a browser context."""

    def sign_in(context: Any, user: User) -> None:
        client = Client()
        client.force_login(user)
        session = client.session
        session[SESSION_KEY] = True
        session.save()
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": session.session_key,
                    "url": live_server.url,
                }
            ]
        )

    return sign_in


@pytest.fixture
def shoot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Saves a full-page screenshot as a test artefact and returns its path."""

    def shoot(page: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        backend = "pg" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "sqlite"
        path = ARTIFACTS / f"{name}-{backend}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    return shoot
