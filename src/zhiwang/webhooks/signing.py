"""Signed JSON over HTTP, both ways: the 12345 exchange and the departments' webhooks.

A request is signed with HMAC-SHA256 over ``timestamp + "\\n" + body`` with a shared secret; the
timestamp (Unix seconds) travels in ``X-Zhiwang-Timestamp`` and the lowercase hex digest in
``X-Zhiwang-Signature``. A receiver refuses a request whose timestamp is more than
`MAX_AGE_SECONDS` away from its own clock (a replay) or whose signature does not match (tampering).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

TIMESTAMP_HEADER = "X-Zhiwang-Timestamp"
SIGNATURE_HEADER = "X-Zhiwang-Signature"
MAX_AGE_SECONDS = 300
RETRYABLE_HTTP_STATUSES = frozenset({408, 425, 429})


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of ``timestamp + "\\n" + body`` under `secret`."""
    message = timestamp.encode("ascii") + b"\n" + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def check_signature(
    secret: str, timestamp: str, given: str, body: bytes, *, now: float | None = None
) -> str | None:
    """None when the request is fresh and its signature matches; otherwise why not
    (``"stale_request"``, ``"bad_signature"``)."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "stale_request"
    current = now if now is not None else time.time()
    if abs(current - sent_at) > MAX_AGE_SECONDS:
        return "stale_request"
    if not secret or not hmac.compare_digest(signature(secret, timestamp, body), given.strip().lower()):
        return "bad_signature"
    return None


def encode(payload: dict[str, Any]) -> bytes:
    """The one JSON encoding used for signed bodies (UTF-8, Chinese kept readable)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


class SendError(Exception):
    """A signed POST failed; `retryable` says whether a later attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code


def post_signed(
    url: str,
    body: bytes,
    *,
    secret: str,
    timeout: float,
    headers: dict[str, str] | None = None,
    now: float | None = None,
) -> int:
    """POST `body` (JSON) to `url`, signed; return the 2xx status or raise `SendError`.

    408, 425, 429, 5xx, timeouts and network errors are retryable; any other answer is final.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise SendError("The receiving URL is not an http(s) URL.", retryable=False)
    all_headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "application/json",
        "User-Agent": "zhiwang",
        **(headers or {}),
        **signed_headers(secret, body, now=now),
    }
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")  # noqa: S310
    try:
        # The scheme is checked above: only http and https reach urlopen.
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        retryable = exc.code >= 500 or exc.code in RETRYABLE_HTTP_STATUSES
        raise SendError(
            f"The receiver answered {exc.code}.", retryable=retryable, status_code=exc.code
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(f"The receiver could not be reached: {reason}", retryable=True) from exc
