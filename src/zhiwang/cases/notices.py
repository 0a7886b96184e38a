"""Telling people about a case: one line for every notice the workflow sends."""

from __future__ import annotations

from collections.abc import Iterable

from zhiwang.accounts.models import User
from zhiwang.cases.models import Case
from zhiwang.notifications.services import notify, notify_phones


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


def tell_reporters(cases: Iterable[Case], subject: str, body: str) -> None:
    """Every reporter of these cases hears the outcome: staff in their inbox (and SMS), residents
    without an account by a text message to the phone they reported with."""
    cases = list(cases)
    if not cases:
        return
    users = {c.reporter for c in cases if c.reporter is not None}
    if users:
        notify(
            recipients=list(users),
            subject=subject,
            body=body,
            object_type="cases.case",
            object_id=str(cases[0].pk),
        )
    phones = [c.reporter_phone for c in cases if c.reporter is None and c.reporter_phone]
    if phones:
        notify_phones(
            phones=phones, subject=subject, body=body, object_type="cases.case", object_id=str(cases[0].pk)
        )
