"""The hotline's part of the scope matrix (tests/test_scope_matrix.py): its endpoints take no session
or token, only the hotline's signature, so every role (and anonymous) gets 401 without one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Call = Callable[[Any, bool], tuple[str, dict[str, Any] | None]]
H = "/api/v1/hotline/orders"
ORDER_BODY = {
    "order_no": "DG-MATRIX",
    "content": "垃圾",
    "location": {"lon": 113.61, "lat": 22.95},
    "received_at": "2026-03-02T08:30:00+08:00",
}


def _action(action: str, body: dict[str, Any]) -> tuple[str, str, str, Call]:
    return (
        "POST",
        f"hotline/orders/{{order_no}}/{action}",
        "signed",
        lambda w, i: (f"{H}/DG-1/{action}", body),
    )


HOTLINE_ENDPOINTS: list[tuple[str, str, str, Call]] = [
    ("POST", "hotline/orders", "signed", lambda w, i: (H, ORDER_BODY)),
    _action("supervise", {"note": "催办"}),
    _action("return-outcome", {"approved": True, "note": "同意"}),
    _action("extension-decision", {"approved": True}),
    _action("satisfaction", {"rating": 5}),
    _action("reopen", {"reason": "不满意"}),
]
