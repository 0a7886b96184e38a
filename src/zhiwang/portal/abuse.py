"""Keeping the open portal usable: rate limits per client address and a small challenge on the
report form (an arithmetic question, a honeypot field and a minimum time to fill the form).

Limits count in Django's cache, in fixed windows. The defaults can be changed in settings
(`ZHIWANG_PORTAL_REPORTS_PER_WINDOW`, `ZHIWANG_PORTAL_LOOKUPS_PER_WINDOW`,
`ZHIWANG_PORTAL_WINDOW_SECONDS`). Behind a reverse proxy, `ZHIWANG_PORTAL_CLIENT_IP_HEADER` names
the header (for example `HTTP_X_REAL_IP`) the proxy sets to the client's address.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest

# Defaults of the configurable limits.
REPORTS_PER_WINDOW = 5
LOOKUPS_PER_WINDOW = 20
WINDOW_SECONDS = 600
# The challenge: a form sent back sooner than this is a machine's; a form older than this is stale.
MIN_FILL_SECONDS = 3
CHALLENGE_MAX_AGE = 2 * 3600
CHALLENGE_SALT = "zhiwang.portal.challenge"


@dataclass(frozen=True)
class Limit:
    bucket: str
    allowed: int
    window: int


def report_limit() -> Limit:
    return Limit(
        "report",
        int(getattr(settings, "ZHIWANG_PORTAL_REPORTS_PER_WINDOW", REPORTS_PER_WINDOW)),
        int(getattr(settings, "ZHIWANG_PORTAL_WINDOW_SECONDS", WINDOW_SECONDS)),
    )


def lookup_limit() -> Limit:
    return Limit(
        "track",
        int(getattr(settings, "ZHIWANG_PORTAL_LOOKUPS_PER_WINDOW", LOOKUPS_PER_WINDOW)),
        int(getattr(settings, "ZHIWANG_PORTAL_WINDOW_SECONDS", WINDOW_SECONDS)),
    )


def declare_limit() -> Limit:
    """Declarations (居住登记, 自主申报) count like reports, in their own bucket."""
    return Limit(
        "declare",
        int(getattr(settings, "ZHIWANG_PORTAL_REPORTS_PER_WINDOW", REPORTS_PER_WINDOW)),
        int(getattr(settings, "ZHIWANG_PORTAL_WINDOW_SECONDS", WINDOW_SECONDS)),
    )


def house_code_limit() -> Limit:
    """Room-code lookups count like tracking lookups, in their own bucket."""
    return Limit(
        "house_code",
        int(getattr(settings, "ZHIWANG_PORTAL_LOOKUPS_PER_WINDOW", LOOKUPS_PER_WINDOW)),
        int(getattr(settings, "ZHIWANG_PORTAL_WINDOW_SECONDS", WINDOW_SECONDS)),
    )


def client_ip(request: HttpRequest) -> str:
    header = str(getattr(settings, "ZHIWANG_PORTAL_CLIENT_IP_HEADER", "") or "")
    forwarded = request.META.get(header, "") if header else ""
    # A proxy's header may list several hops; the first is the client.
    return (forwarded.split(",")[0].strip() if forwarded else "") or request.META.get("REMOTE_ADDR", "")


def _key(limit: Limit, ip: str) -> tuple[str, int]:
    now = int(time.time())
    return f"zhiwang:portal:{limit.bucket}:{ip}:{now // limit.window}", limit.window - now % limit.window


def limit_reached(limit: Limit, ip: str) -> int:
    """Seconds until the window ends when `ip` has used up `limit`, else 0."""
    key, remaining = _key(limit, ip)
    return remaining if int(cache.get(key, 0)) >= limit.allowed else 0


def limit_count(limit: Limit, ip: str) -> None:
    """Count one use of `limit` by `ip`."""
    key, remaining = _key(limit, ip)
    if not cache.add(key, 1, timeout=remaining + 1):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=remaining + 1)


# --- the challenge ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Challenge:
    """One arithmetic question; `token` signs its numbers, the form's idempotency key and the time
    it was given, so neither can be changed by the client."""

    a: int
    b: int
    key: str
    given_at: int
    token: str


def new_idempotency_key() -> str:
    return f"resident-{secrets.token_urlsafe(18)}"


def challenge_new(key: str | None = None) -> Challenge:
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    key = key or new_idempotency_key()
    given_at = int(time.time())
    # A nonce makes every question its own token, even the same sum for the same form in one second.
    nonce = secrets.token_hex(4)
    token = signing.dumps({"a": a, "b": b, "k": key, "t": given_at, "n": nonce}, salt=CHALLENGE_SALT)
    return Challenge(a=a, b=b, key=key, given_at=given_at, token=token)


def challenge_read(token: str) -> Challenge | None:
    """The challenge a form carried, or None when the token is forged or too old."""
    try:
        data: Any = signing.loads(token, salt=CHALLENGE_SALT, max_age=CHALLENGE_MAX_AGE)
        return Challenge(
            a=int(data["a"]), b=int(data["b"]), key=str(data["k"]), given_at=int(data["t"]), token=token
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def filled_too_fast(challenge: Challenge) -> bool:
    minimum = int(getattr(settings, "ZHIWANG_PORTAL_MIN_FILL_SECONDS", MIN_FILL_SECONDS))
    return time.time() - challenge.given_at < minimum
