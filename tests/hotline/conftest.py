"""The hotline's side of the exchange for tests: its shared secret, its receiving system (a local
HTTP server) and a client that signs its requests like the hotline does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.cases.conftest import Place, categories, place  # noqa: F401  (fixtures)
from tests.webhooks.receiver import Receiver, running_receiver
from zhiwang.accounts.models import User
from zhiwang.common.origin import Origin
from zhiwang.hotline.account import account_ensure
from zhiwang.webhooks.signing import signed_headers

SECRET = "the-hotline-and-the-city-share-this"
# Inside base grid 441900003001001 (see tests/cases/conftest.py POINT).
LON, LAT = 113.62, 22.95


@dataclass
class Hotline:
    place: Place
    account: User
    receiver: Receiver
    client: Client

    def post(
        self,
        path: str,
        payload: dict[str, Any],
        *,
        at: float | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """POST `payload` signed with the shared secret (at `at`, Unix seconds); `body` replaces what
        is sent after signing (tampering); `headers` replaces the signature headers."""
        signed = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        sent_headers = signed_headers(SECRET, signed, now=at) if headers is None else headers
        return self.client.post(
            f"/api/v1/hotline{path}",
            data=signed if body is None else body,
            content_type="application/json",
            headers=sent_headers,
        )


def order(order_no: str = "DG12345-0001", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_no": order_no,
        "caller_name": "陈女士",
        "caller_phone": "13800001111",
        "content": "小区门口垃圾堆放多日无人清理",
        "category": "E0101",
        "location": {"lon": LON, "lat": LAT, "coord_system": "wgs84", "address": "东城街道某路1号"},
        "time_limit": "3个工作日",
        "received_at": "2026-03-02T08:30:00+08:00",
    }
    body.update(fields)
    return body


@pytest.fixture
def hotline(place: Place, settings: Any) -> Iterator[Hotline]:  # noqa: F811
    settings.ZHIWANG_HOTLINE_SECRET = SECRET
    cache.clear()
    with running_receiver() as receiver:
        settings.ZHIWANG_HOTLINE_URL = receiver.url
        account = account_ensure(city_code="441900", origin=Origin.cli())
        yield Hotline(place=place, account=account, receiver=receiver, client=Client())
    cache.clear()
