"""Periodic jobs of the registry, found by `zhiwang worker` (see `zhiwang.common.periodic`)."""

from __future__ import annotations

import logging

from zhiwang.common import periodic
from zhiwang.registry.importing.jobs import sweep_interrupted

logger = logging.getLogger("zhiwang.registry.imports")


@periodic.register("registry.sweep_import_jobs", every_seconds=60)
def sweep_import_jobs() -> None:
    """Queue again the imports a stopped worker left running (or give them up after three runs)."""
    result = sweep_interrupted()
    if result["requeued"] or result["given_up"]:
        logger.warning("Interrupted imports: %(requeued)s queued again, %(given_up)s given up.", result)
