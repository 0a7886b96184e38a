"""Periodic jobs of the cases app, found by `zhiwang worker` (see `zhiwang.common.periodic`)."""

from __future__ import annotations

import logging

from zhiwang.cases.escalation import scan_deadlines
from zhiwang.common import periodic

logger = logging.getLogger("zhiwang.cases")


@periodic.register("cases.scan_deadlines", every_seconds=60)
def scan_case_deadlines() -> None:
    """Warn before deadlines and escalate overdue cases one level up."""
    result = scan_deadlines()
    if result["warned"] or result["escalated"]:
        logger.info("Deadline scan: %(warned)s warned, %(escalated)s escalated.", result)
