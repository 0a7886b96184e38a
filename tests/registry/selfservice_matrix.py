"""The residents' declarations in the scope matrix (tests/test_scope_matrix.py): the review queue's
endpoints, a pending declaration on each side of the city, and what each role may expect."""

from __future__ import annotations

from typing import Any

from tests.registry.declarants import declared_id_number
from tests.registry.matrix import Call, _side
from tests.registry.world import ORIGIN
from zhiwang.accounts.models import Role
from zhiwang.registry import declarations
from zhiwang.registry.declarations import DeclarationFields
from zhiwang.registry.models import Declaration

R = "/api/v1/registry/declarations"
REVIEWERS = {Role.GRID_WORKER, Role.COMMUNITY_DISPATCHER}


def _declaration(w: Any, i: bool) -> Declaration:
    """A pending residence registration in the side's room."""
    side = _side(w, i)
    fields = DeclarationFields(
        kind="residence",
        room_code=side.room.code,
        declarant_name="申报人",
        declarant_phone="13912340001",
        person_name="申报人",
        id_number=declared_id_number(),
    )
    return declarations.declaration_submit(
        fields=fields, idempotency_key=f"matrix-{i}", origin=ORIGIN
    ).declaration


def _on(action: str, body: dict[str, Any] | None, method: str = "POST") -> tuple[str, str, str, Call]:
    suffix = f"/{action}" if action else ""
    return (
        method,
        f"registry/declarations/{{int:declaration_id}}{suffix}",
        "declaration_review",
        lambda w, i: (f"{R}/{_declaration(w, i).pk}{suffix}", body),
    )


def _queue(w: Any, i: bool) -> tuple[str, dict[str, Any] | None]:
    _declaration(w, True)
    _declaration(w, False)
    return R, None


DECLARATION_ENDPOINTS: list[tuple[str, str, str, Call]] = [
    ("GET", "registry/declarations", "declaration_queue", _queue),
    _on("", None, "GET"),
    _on("approve", None),
    _on("reject", {"reason": "房屋编码不符"}),
]


def declaration_expected(kind: str, role: str, inside: bool) -> set[int]:
    """Grid workers and community dispatchers review the declarations of their grids; for other
    roles the queue is closed; a declaration of another grid does not exist for the reviewer."""
    if role not in REVIEWERS:
        return {403}
    if kind == "declaration_queue" or inside:
        return {200}
    return {404}
