"""Key rotation: re-encrypt every personal value under the current data key and refresh its hash.

Put the new key first in `ZHIWANG_DATA_KEYS` and keep the old ones after it, run
`zhiwang registry-rotate-keys`, then drop the old keys. Rows are rewritten in batches, each in its
own transaction, so the command can be stopped and run again; values already under the current key
are skipped unless `everything` is asked for (after the lookup key changed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models, transaction
from django.db.models import Q

from zhiwang.audit.services import audit_record
from zhiwang.common.origin import Origin
from zhiwang.registry import crypto
from zhiwang.registry.models import (
    BUILDING_PHONE_COLUMN,
    DECLARATION_ID_NUMBER_COLUMN,
    DECLARATION_PERSON_PHONE_COLUMN,
    DECLARATION_PHONE_COLUMN,
    ID_NUMBER_COLUMN,
    PERSON_PHONE_COLUMN,
    UNIT_PHONE_COLUMN,
    Building,
    Declaration,
    Employment,
    Person,
    Unit,
)


@dataclass(frozen=True)
class SealedColumn:
    model: type[models.Model]
    enc: str
    hash: str
    column: str


SEALED_COLUMNS = (
    SealedColumn(Person, "id_number_enc", "id_number_hash", ID_NUMBER_COLUMN),
    SealedColumn(Person, "phone_enc", "phone_hash", PERSON_PHONE_COLUMN),
    SealedColumn(Unit, "contact_phone_enc", "contact_phone_hash", UNIT_PHONE_COLUMN),
    SealedColumn(Building, "manager_phone_enc", "manager_phone_hash", BUILDING_PHONE_COLUMN),
    SealedColumn(Declaration, "id_number_enc", "id_number_hash", DECLARATION_ID_NUMBER_COLUMN),
    SealedColumn(Declaration, "declarant_phone_enc", "declarant_phone_hash", DECLARATION_PHONE_COLUMN),
    SealedColumn(Declaration, "person_phone_enc", "person_phone_hash", DECLARATION_PERSON_PHONE_COLUMN),
)


def _stale_q(column: SealedColumn, current_id: str, everything: bool) -> Q:
    filled = ~Q(**{column.enc: ""})
    if everything:
        return filled
    return filled & ~Q(**{f"{column.enc}__startswith": f"{current_id}:"})


def _rotate_column(
    column: SealedColumn,
    ring: crypto.Keyring,
    everything: bool,
    batch_size: int,
    progress: Callable[[int], None],
) -> int:
    done = 0
    last_pk = 0
    manager = column.model._default_manager
    while True:
        with transaction.atomic():
            rows = list(
                manager.select_for_update()
                .filter(_stale_q(column, ring.current_id, everything), pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", column.enc)[:batch_size]
            )
            if not rows:
                return done
            changed = []
            for pk, stored in rows:
                plain = crypto.decrypt(stored, column.column, ring)
                obj = column.model(pk=pk)
                setattr(obj, column.enc, crypto.encrypt(plain, column.column, ring))
                setattr(obj, column.hash, crypto.lookup_hash(plain, column.column, ring))
                changed.append(obj)
            manager.bulk_update(changed, [column.enc, column.hash])
            if column.column == ID_NUMBER_COLUMN:
                for obj in changed:
                    Employment.objects.filter(person_id=obj.pk).update(
                        person_id_hash=getattr(obj, column.hash)
                    )
        done += len(rows)
        last_pk = rows[-1][0]
        progress(done)


def rotate_keys(
    *,
    origin: Origin,
    everything: bool = False,
    batch_size: int = 1000,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Re-encrypt stale values under the current key; counts per column."""
    ring = crypto.keyring()
    counts: dict[str, int] = {}
    for column in SEALED_COLUMNS:

        def report(n: int, name: str = column.column) -> None:
            if progress is not None:
                progress(name, n)

        counts[column.column] = _rotate_column(column, ring, everything, batch_size, report)
    audit_record(
        actor=None,
        action="registry.keys.rotate",
        origin=origin,
        object_type="registry.keys",
        object_id=ring.current_id,
        details={"rewritten": counts, "everything": everything},
        actor_label="system",
    )
    return counts
