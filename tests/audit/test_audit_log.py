from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from zhiwang.audit.models import AppendOnlyError, AuditEntry
from zhiwang.audit.services import audit_record
from zhiwang.common.origin import Origin


def test_audit_entries_are_append_only(db: None) -> None:
    entry = audit_record(
        actor=None,
        action="test.event",
        origin=Origin(channel="api", ip="127.0.0.1"),
        object_type="thing",
        object_id=7,
        details={"n": 1},
    )
    assert entry.channel == "api" and entry.ip == "127.0.0.1" and entry.object_id == "7"
    entry.action = "test.changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    # And beneath the ORM, the database itself refuses an update.
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditentry SET action = 'forged' WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.event"
