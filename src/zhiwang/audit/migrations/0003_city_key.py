"""Every audit entry carries its city: the first id of its place's grid path, else the first city of
its actor's roles, else the only city; 0 when none names one. The append-only triggers are lifted
for the one update that fills the existing entries, inside this migration's transaction."""

import importlib
from typing import Any

from django.db import migrations, models

append_only = importlib.import_module("zhiwang.audit.migrations.0002_append_only")

FIRST_ID = {
    "postgresql": "NULLIF(split_part({column}, '/', 2), '')::integer",
    "sqlite": "CAST(NULLIF(substr({column}, 2, instr(substr({column}, 2), '/') - 1), '') AS integer)",
}


def fill(apps: Any, schema_editor: Any) -> None:
    first_id = FIRST_ID.get(schema_editor.connection.vendor, FIRST_ID["postgresql"])
    roots = list(
        apps.get_model("grids", "GridNode")
        .objects.filter(parent__isnull=True, valid_to__isnull=True, layer="admin")
        .values_list("pk", flat=True)[:2]
    )
    only = roots[0] if len(roots) == 1 else 0
    actor_city = (
        "(SELECT MIN(" + first_id.format(column="g.path") + ") FROM accounts_roleassignment r "  # noqa: S608
        "JOIN grids_gridnode g ON g.id = r.grid_id WHERE r.user_id = audit_auditentry.actor_id)"
    )
    append_only.drop_triggers(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE audit_auditentry SET city_id = COALESCE({first_id.format(column='scope_path')}, "  # noqa: S608
            f"{actor_city}, %s)",
            [only],
        )
    append_only.create_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only"),
        ("accounts", "0001_initial"),
        ("grids", "0001_initial"),
    ]

    operations = [
        migrations.AddField(model_name="auditentry", name="city_id", field=models.IntegerField(default=0)),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
