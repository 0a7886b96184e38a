"""`zhiwang check` reports notification settings that cannot work."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error, Warning, register

from zhiwang.notifications.adapters import GATEWAY_SETTINGS, configured_channels, gateway_url, http_timeout
from zhiwang.notifications.models import Channel
from zhiwang.notifications.services import CLAIM_LEASE


@register()
def check_notification_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    listed = configured_channels()
    unknown = sorted(set(listed) - set(Channel.values))
    if unknown:
        problems.append(
            Error(
                f"ZHIWANG_NOTIFY_CHANNELS names unknown channels: {', '.join(unknown)}.",
                hint=f"Known channels: {', '.join(Channel.values)}.",
                id="notifications.E001",
            )
        )
    for channel, (url_setting, _token_setting) in GATEWAY_SETTINGS.items():
        url = gateway_url(channel)
        if channel in listed and not url:
            problems.append(
                Warning(
                    f"The {channel} channel is listed in ZHIWANG_NOTIFY_CHANNELS but {url_setting} is empty;"
                    " no messages are sent over it.",
                    id="notifications.W001",
                )
            )
        if url and urlsplit(url).scheme not in ("http", "https"):
            problems.append(
                Error(f"{url_setting} must be an http:// or https:// URL.", id="notifications.E002")
            )
    try:
        timeout = http_timeout()
    except (TypeError, ValueError):
        timeout = -1.0
    if not 0 < timeout < CLAIM_LEASE.total_seconds() / 2:
        problems.append(
            Error(
                "ZHIWANG_NOTIFY_HTTP_TIMEOUT must be a number of seconds above 0 and below "
                f"{CLAIM_LEASE.total_seconds() / 2:.0f} (half the lease an attempt holds a message for).",
                id="notifications.E003",
            )
        )
    return problems
