"""Delivery channels behind one interface.

Every channel is a `ChannelAdapter`: `send(message)` delivers one outbox message or raises
`DeliveryError`, saying whether another attempt may succeed. A deployment chooses its channels in
settings (read at each call, so a changed setting needs no restart of the code that reads it):

- ``ZHIWANG_NOTIFY_CHANNELS``: comma-separated channel names, default ``"inapp,console"``. The
  in-app inbox is always on, listed or not.
- ``ZHIWANG_SMS_GATEWAY_URL`` / ``ZHIWANG_SMS_GATEWAY_TOKEN``: the SMS gateway; without a URL the
  SMS channel is off even when listed.
- ``ZHIWANG_WECHAT_GATEWAY_URL`` / ``ZHIWANG_WECHAT_GATEWAY_TOKEN``: the same for WeChat.
- ``ZHIWANG_NOTIFY_HTTP_TIMEOUT``: seconds to wait for a gateway, default 10.

The gateway contract (one small HTTP service per deployment bridges to the operator's SMS or WeChat
platform): ``POST`` of a JSON object (see `HttpGatewayAdapter.payload`) with
``Authorization: Bearer <token>`` when a token is set and ``Idempotency-Key: zhiwang-outbox-<id>``,
the same on every attempt at one message. Any 2xx answer means accepted; 408, 429, 5xx, timeouts
and network errors are tried again later; any other answer is final.
"""

from __future__ import annotations

import json
import logging
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings

from zhiwang.notifications.models import Channel, Notification, OutboxMessage

logger = logging.getLogger("zhiwang.notifications")
console_logger = logging.getLogger("zhiwang.notifications.console")

DEFAULT_CHANNELS = "inapp,console"
DEFAULT_HTTP_TIMEOUT = 10.0
RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})
# Channels that need a gateway URL, and the settings holding its URL and token.
GATEWAY_SETTINGS: dict[str, tuple[str, str]] = {
    Channel.SMS: ("ZHIWANG_SMS_GATEWAY_URL", "ZHIWANG_SMS_GATEWAY_TOKEN"),
    Channel.WECHAT: ("ZHIWANG_WECHAT_GATEWAY_URL", "ZHIWANG_WECHAT_GATEWAY_TOKEN"),
}


class DeliveryError(Exception):
    """A message could not be delivered; `retryable` says whether a later attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChannelAdapter(Protocol):
    channel: str

    def send(self, message: OutboxMessage) -> None:
        """Deliver `message` or raise `DeliveryError`. May be called again for the same message."""


# --- configuration ----------------------------------------------------------------------------


def configured_channels() -> list[str]:
    """The names listed in ``ZHIWANG_NOTIFY_CHANNELS`` (a comma-separated string or a list)."""
    raw: Any = getattr(settings, "ZHIWANG_NOTIFY_CHANNELS", DEFAULT_CHANNELS)
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    return [str(item).strip().lower() for item in items if str(item).strip()]


def gateway_url(channel: str) -> str:
    names = GATEWAY_SETTINGS.get(channel)
    return str(getattr(settings, names[0], "") or "").strip() if names else ""


def gateway_token(channel: str) -> str:
    names = GATEWAY_SETTINGS.get(channel)
    return str(getattr(settings, names[1], "") or "").strip() if names else ""


def http_timeout() -> float:
    return float(
        getattr(settings, "ZHIWANG_NOTIFY_HTTP_TIMEOUT", DEFAULT_HTTP_TIMEOUT) or DEFAULT_HTTP_TIMEOUT
    )


def enabled_channels() -> list[str]:
    """The channels this deployment delivers over, in a fixed order; the in-app inbox always."""
    listed = set(configured_channels())
    enabled = []
    for channel in Channel.values:
        if channel == Channel.INAPP:
            enabled.append(channel)
        elif channel in listed and (channel not in GATEWAY_SETTINGS or gateway_url(channel)):
            enabled.append(channel)
    return enabled


# --- adapters ---------------------------------------------------------------------------------


class InAppAdapter:
    """Puts the message into the recipient's inbox (once, however often it is retried)."""

    channel = Channel.INAPP.value

    def send(self, message: OutboxMessage) -> None:
        if message.recipient_id is None:
            raise DeliveryError("The recipient no longer exists.", retryable=False)
        Notification.objects.get_or_create(
            source=message,
            defaults={
                "recipient_id": message.recipient_id,
                "title": message.subject,
                "body": message.body,
                "link": message.link,
                "object_type": message.object_type,
                "object_id": message.object_id,
                "created_at": message.created_at,
            },
        )


class ConsoleAdapter:
    """Writes one line per message to standard output (and the debug log): the demo's SMS."""

    channel = Channel.CONSOLE.value

    def send(self, message: OutboxMessage) -> None:
        recipient = message.recipient
        to = (recipient.get_username() if recipient is not None else "") or message.address or "-"
        parts = [f"[zhiwang notify #{message.pk}] → {to}: {message.subject}"]
        if message.body:
            parts.append(message.body)
        if message.link:
            parts.append(message.link)
        line = " | ".join(part.replace("\n", " ") for part in parts)
        console_logger.debug("%s", line)  # stdout already shows it; the log keeps it at debug level
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class HttpGatewayAdapter:
    """POSTs the message as JSON to a gateway (see the module docstring for the contract)."""

    channel = ""

    def __init__(self, *, url: str, token: str = "", timeout: float = DEFAULT_HTTP_TIMEOUT) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> HttpGatewayAdapter:
        return cls(url=gateway_url(cls.channel), token=gateway_token(cls.channel), timeout=http_timeout())

    def payload(self, message: OutboxMessage) -> dict[str, Any]:
        text = "\n".join(part for part in (message.subject, message.body, message.link) if part)
        return {
            "id": str(message.pk),
            "channel": self.channel,
            "to": message.address,
            "subject": message.subject,
            "body": message.body,
            "link": message.link,
            "text": text,
            "object_type": message.object_type,
            "object_id": message.object_id,
        }

    def send(self, message: OutboxMessage) -> None:
        if not message.address:
            raise DeliveryError(f"No {self.channel} address for this recipient.", retryable=False)
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise DeliveryError(f"The {self.channel} gateway URL is not an http(s) URL.", retryable=False)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": "zhiwang-notifications",
            "Idempotency-Key": f"zhiwang-outbox-{message.pk}",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(self.payload(message), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            # The scheme is checked above: only http and https reach urlopen.
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            detail = _error_body(exc)
            retryable = exc.code >= 500 or exc.code in RETRYABLE_HTTP_STATUSES
            raise DeliveryError(
                f"The {self.channel} gateway answered {exc.code}{detail}", retryable=retryable
            ) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(
                f"The {self.channel} gateway could not be reached: {reason}", retryable=True
            ) from exc


class SmsAdapter(HttpGatewayAdapter):
    channel = Channel.SMS.value


class WeChatAdapter(HttpGatewayAdapter):
    channel = Channel.WECHAT.value


def _error_body(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(500).decode("utf-8", "replace").strip()
    except Exception:  # the body is a courtesy; the status says what happened
        return ""
    return f": {text}" if text else ""


# --- registry ---------------------------------------------------------------------------------

ADAPTERS: dict[str, Callable[[], ChannelAdapter]] = {
    Channel.INAPP: InAppAdapter,
    Channel.CONSOLE: ConsoleAdapter,
    Channel.SMS: SmsAdapter.from_settings,
    Channel.WECHAT: WeChatAdapter.from_settings,
}


def adapter_for(channel: str) -> ChannelAdapter:
    """The adapter delivering over `channel`, built from the current settings.

    Raises `DeliveryError` (not retryable) for a channel this deployment has not enabled.
    """
    if channel not in enabled_channels() or channel not in ADAPTERS:
        raise DeliveryError(f"The {channel!r} channel is not enabled in this deployment.", retryable=False)
    return ADAPTERS[channel]()
