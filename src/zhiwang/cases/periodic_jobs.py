"""Periodic jobs of the cases app, found by `zhiwang worker` (see `zhiwang.common.periodic`)."""

from __future__ import annotations

import logging

from zhiwang.cases import rollups
from zhiwang.cases.escalation import scan_deadlines
from zhiwang.common import periodic

logger = logging.getLogger("zhiwang.cases")


@periodic.register("cases.scan_deadlines", every_seconds=60)
def scan_case_deadlines() -> None:
    """Warn before deadlines and escalate overdue cases one level up."""
    result = scan_deadlines()
    if result["warned"] or result["escalated"]:
        logger.info("Deadline scan: %(warned)s warned, %(escalated)s escalated.", result)


@periodic.register("cases.fold_kpi_deltas", every_seconds=30)
def fold_kpi_deltas() -> None:
    """Fold the KPI deltas the transitions wrote into the daily cells (readers are exact either way;
    folding keeps their reads short)."""
    folded = 0
    while batch := rollups.fold():
        folded += batch
    if folded:
        logger.info("Folded %s KPI deltas.", folded)
