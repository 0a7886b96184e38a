"""`zhiwang rebuild-kpis`: recount the KPI rollups from the cases (after loading cases in bulk)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from zhiwang.cases import rollups


class Command(BaseCommand):
    help = "Recount the KPI rollups (daily cells per node and department) from every case."

    def handle(self, *args: Any, **options: Any) -> None:
        counted = rollups.rebuild(progress=lambda n: self.stdout.write(f"{n:,} cases counted…"))
        self.stdout.write(self.style.SUCCESS(f"KPI rollups rebuilt from {counted:,} cases."))
