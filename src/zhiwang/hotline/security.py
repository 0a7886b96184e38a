"""The hotline's requests to us: signed with the shared secret, fresh, and never seen before."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import APIKeyHeader

from zhiwang.accounts.models import User
from zhiwang.common.errors import ApplicationError
from zhiwang.hotline.account import hotline_account
from zhiwang.webhooks.signing import MAX_AGE_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER, check_signature

NONCE_PREFIX = "zhiwang:hotline:seen:"
REFUSALS = {
    "stale_request": "The request is too old or from the future (more than 5 minutes apart).",
    "bad_signature": "The request's signature does not match.",
    "replayed": "This exact request was received already.",
    "hotline_not_configured": "The hotline exchange has no shared secret configured.",
}


def hotline_secret() -> str:
    return str(getattr(settings, "ZHIWANG_HOTLINE_SECRET", "") or "")


def _refuse(code: str) -> ApplicationError:
    return ApplicationError(REFUSALS[code], code=code, status=401)


def verify_signed_request(*, timestamp: str, signature: str, body: bytes) -> None:
    """Raise a 401 `ApplicationError` unless the request is fresh, correctly signed and new.

    An exact replay inside the window carries the same signature: the cache remembers every
    signature for twice the window (a request older than the window is refused anyway).
    """
    secret = hotline_secret()
    if not secret:
        raise _refuse("hotline_not_configured")
    problem = check_signature(secret, timestamp, signature, body)
    if problem is not None:
        raise _refuse(problem)
    if not cache.add(NONCE_PREFIX + signature.strip().lower(), 1, timeout=2 * MAX_AGE_SECONDS):
        raise _refuse("replayed")


class HotlineSignature(APIKeyHeader):
    """HMAC-SHA256 over ``X-Zhiwang-Timestamp + "\\n" + body`` with ``ZHIWANG_HOTLINE_SECRET``, hex in
    ``X-Zhiwang-Signature``. The request then acts as the hotline's machine account."""

    param_name = SIGNATURE_HEADER

    def authenticate(self, request: HttpRequest, key: str | None) -> User:
        verify_signed_request(
            timestamp=request.headers.get(TIMESTAMP_HEADER, ""), signature=key or "", body=request.body
        )
        return hotline_account()
