"""Fixtures for the notifications tests: a known channel configuration and recording adapters."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from zhiwang.notifications import adapters
from zhiwang.notifications.adapters import DeliveryError
from zhiwang.notifications.models import OutboxMessage


@pytest.fixture(autouse=True)
def _channels(settings: Any) -> None:
    """Every test starts from the default channels, whatever the deployment's settings say."""
    settings.ZHIWANG_NOTIFY_CHANNELS = "inapp,console"
    settings.ZHIWANG_SMS_GATEWAY_URL = ""
    settings.ZHIWANG_SMS_GATEWAY_TOKEN = ""
    settings.ZHIWANG_WECHAT_GATEWAY_URL = ""
    settings.ZHIWANG_WECHAT_GATEWAY_TOKEN = ""


@dataclass
class RecordingAdapter:
    """Records every message it is given; raises the queued errors first, one per call."""

    channel: str = "console"
    errors: list[DeliveryError] = field(default_factory=list)
    delay: float = 0.0
    sent: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: OutboxMessage) -> None:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            if self.errors:
                raise self.errors.pop(0)
            self.sent.append((message.pk, threading.current_thread().name))


@pytest.fixture
def console_adapter(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordingAdapter]:
    """Replaces the console channel's adapter with a recording one."""
    adapter = RecordingAdapter()
    factory: Callable[[], Any] = lambda: adapter  # noqa: E731
    monkeypatch.setitem(adapters.ADAPTERS, "console", factory)
    yield adapter
