"""Where an action came from: recorded on every audit row."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest


@dataclass(frozen=True)
class Origin:
    channel: str  # "web", "api", "cli", "system"
    ip: str | None = None
    user_agent: str = ""

    @classmethod
    def cli(cls) -> Origin:
        return cls(channel="cli")

    @classmethod
    def system(cls) -> Origin:
        return cls(channel="system")


def origin_from_request(request: HttpRequest, *, channel: str | None = None) -> Origin:
    ip = request.META.get("REMOTE_ADDR") or None
    if channel is None:
        channel = "api" if request.path.startswith("/api/") else "web"
    return Origin(channel=channel, ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])
