"""The SMS and WeChat adapters against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction

from zhiwang.accounts.models import User
from zhiwang.notifications.adapters import DeliveryError, SmsAdapter, WeChatAdapter, adapter_for
from zhiwang.notifications.models import OutboxMessage, OutboxStatus
from zhiwang.notifications.services import deliver_due, notify


@dataclass
class Gateway:
    url: str
    status: int = 200
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append(
                {
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": json.loads(self.rfile.read(length).decode("utf-8")),
                }
            )
            if state.delay:
                time.sleep(state.delay)
            payload = b'{"ok": true}' if state.status < 300 else b'{"error": "refused"}'
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that gave up waiting (the timeout test) is no error here

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sms_on(settings: Any, gateway: Gateway) -> Gateway:
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,sms"
    settings.ZHIWANG_SMS_GATEWAY_URL = gateway.url
    settings.ZHIWANG_SMS_GATEWAY_TOKEN = "sms-secret"
    settings.ZHIWANG_NOTIFY_HTTP_TIMEOUT = 2
    return gateway


def _queue_sms(make_user: Callable[..., User]) -> OutboxMessage:
    user = make_user()
    user.phone = "13800138000"
    user.save()
    with transaction.atomic():
        messages = notify(
            recipients=[user],
            subject="案件待核查",
            body="案件 DG-7 已处置，请到现场核查。",
            link="/console/cases/7/",
            object_type="cases.case",
            object_id="7",
            channels=["sms"],
        )
    return next(m for m in messages if m.channel == "sms")


def test_the_sms_adapter_posts_json_with_the_token(make_user: Callable[..., User], sms_on: Gateway) -> None:
    message = _queue_sms(make_user)
    assert deliver_due() == 2  # in-app and SMS
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 1

    (request,) = sms_on.requests
    assert request["path"] == "/sms/send"
    assert request["headers"]["authorization"] == "Bearer sms-secret"
    assert request["headers"]["content-type"] == "application/json; charset=utf-8"
    assert request["headers"]["idempotency-key"] == f"zhiwang-outbox-{message.pk}"
    assert request["body"] == {
        "id": str(message.pk),
        "channel": "sms",
        "to": "13800138000",
        "subject": "案件待核查",
        "body": "案件 DG-7 已处置，请到现场核查。",
        "link": "/console/cases/7/",
        "text": "案件待核查\n案件 DG-7 已处置，请到现场核查。\n/console/cases/7/",
        "object_type": "cases.case",
        "object_id": "7",
    }


def test_a_server_error_is_retried_and_the_same_key_is_sent_again(
    make_user: Callable[..., User], sms_on: Gateway
) -> None:
    message = _queue_sms(make_user)
    sms_on.status = 500
    deliver_due()
    message.refresh_from_db()
    assert message.status == OutboxStatus.QUEUED and message.attempts == 1
    assert message.last_error.startswith("The sms gateway answered 500")
    assert "refused" in message.last_error

    sms_on.status = 200
    assert deliver_due(now=message.next_attempt_at) == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.attempts == 2
    keys = {r["headers"]["idempotency-key"] for r in sms_on.requests}
    assert len(sms_on.requests) == 2 and keys == {f"zhiwang-outbox-{message.pk}"}


@pytest.mark.parametrize(("status", "retryable"), [(400, False), (401, False), (429, True), (503, True)])
def test_which_answers_are_retried(
    make_user: Callable[..., User], sms_on: Gateway, status: int, retryable: bool
) -> None:
    message = _queue_sms(make_user)
    sms_on.status = status
    with pytest.raises(DeliveryError) as caught:
        adapter_for("sms").send(message)
    assert caught.value.retryable is retryable


def test_a_client_error_marks_the_message_failed(make_user: Callable[..., User], sms_on: Gateway) -> None:
    message = _queue_sms(make_user)
    sms_on.status = 400
    deliver_due()
    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED and message.attempts == 1
    assert "400" in message.last_error


def test_a_timeout_and_a_closed_port_are_retryable(make_user: Callable[..., User], sms_on: Gateway) -> None:
    message = _queue_sms(make_user)
    sms_on.delay = 0.5
    with pytest.raises(DeliveryError) as caught:
        SmsAdapter(url=sms_on.url, timeout=0.1).send(message)
    assert caught.value.retryable
    # Port 9 (discard) on 127.0.0.1 is closed here: connection refused.
    with pytest.raises(DeliveryError) as caught:
        SmsAdapter(url="http://127.0.0.1:9/sms", timeout=1).send(message)
    assert caught.value.retryable and "could not be reached" in str(caught.value)


def test_only_http_urls_are_followed(make_user: Callable[..., User], sms_on: Gateway) -> None:
    message = _queue_sms(make_user)
    with pytest.raises(DeliveryError) as caught:
        SmsAdapter(url="file:///etc/passwd").send(message)
    assert not caught.value.retryable


def test_without_a_url_no_sms_rows_are_written(
    make_user: Callable[..., User], sms_on: Gateway, settings: Any
) -> None:
    settings.ZHIWANG_SMS_GATEWAY_URL = ""
    user = make_user()
    user.phone = "13800138000"
    user.save()
    with transaction.atomic():
        messages = notify(recipients=[user], subject="s", body="b")
    assert [m.channel for m in messages] == ["inapp"]
    assert not OutboxMessage.objects.filter(channel="sms").exists()
    assert sms_on.requests == []


def test_wechat_uses_its_own_gateway_and_an_openid(
    make_user: Callable[..., User], gateway: Gateway, settings: Any
) -> None:
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,wechat"
    settings.ZHIWANG_WECHAT_GATEWAY_URL = gateway.url.replace("/sms/", "/wechat/")
    settings.ZHIWANG_WECHAT_GATEWAY_TOKEN = ""
    with_openid, without = make_user(), make_user()
    with_openid.wechat_openid = "oAbCdEf123"  # type: ignore[attr-defined]  # what a deployment would add
    with transaction.atomic():
        messages = notify(recipients=[with_openid, without], subject="督办", body="请尽快处置。")
    assert sorted((m.recipient_id, m.channel) for m in messages) == sorted(
        [(with_openid.pk, "inapp"), (with_openid.pk, "wechat"), (without.pk, "inapp")]
    )
    assert deliver_due() == 3
    (request,) = gateway.requests
    assert request["path"] == "/wechat/send" and "authorization" not in request["headers"]
    assert request["body"]["to"] == "oAbCdEf123" and request["body"]["channel"] == "wechat"
    assert isinstance(adapter_for("wechat"), WeChatAdapter)
