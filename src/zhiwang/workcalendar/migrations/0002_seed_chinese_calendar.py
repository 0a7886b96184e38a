"""Seed the State Council arrangements of 2004–2026 from the chinesecalendar package (idempotent)."""

from typing import Any

from django.db import migrations
from django.utils import timezone

from zhiwang.workcalendar.seeding import PACKAGE_SOURCE, sync_package_years


def seed(apps: Any, schema_editor: Any) -> None:
    sync_package_years(
        apps.get_model("workcalendar", "CalendarDay"),
        apps.get_model("workcalendar", "CalendarYear"),
        now=timezone.now(),
    )


def unseed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("workcalendar", "CalendarDay").objects.filter(source=PACKAGE_SOURCE).delete()
    apps.get_model("workcalendar", "CalendarYear").objects.filter(source=PACKAGE_SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [("workcalendar", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
