"""ID numbers for declarations in tests, from their own sequence and birth date, so that declaring
never shifts the numbers (and so the sexes) `tests.registry.world` hands out."""

from __future__ import annotations

import itertools

from tests.registry.world import id_number

_sequence = itertools.count(1)


def declared_id_number() -> str:
    return id_number(born="19850615", region="441900", seq=next(_sequence))
