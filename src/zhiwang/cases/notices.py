"""Telling people about a case: one line for every notice the workflow sends."""

from __future__ import annotations

from collections.abc import Iterable

from zhiwang.accounts.models import User
from zhiwang.cases.models import Case
from zhiwang.notifications.services import notify


def tell(recipients: Iterable[User], case: Case, subject: str, body: str) -> None:
    """Queue a notice about `case` (inside the caller's transaction; it goes out after commit)."""
    notify(
        recipients=list(recipients),
        subject=subject,
        body=body,
        link=f"/console/cases/{case.pk}/",
        object_type="cases.case",
        object_id=str(case.pk),
    )
