"""Every case, timeline entry, photo and extension request carries its city (the first id of the
case's grid path; cases outside every grid take the only top-level grid, or 0 when there are several)."""

from typing import Any

from django.db import migrations, models

FIRST_ID = {
    "postgresql": "NULLIF(split_part(grid_path, '/', 2), '')::integer",
    "sqlite": "CAST(NULLIF(substr(grid_path, 2, instr(substr(grid_path, 2), '/') - 1), '') AS integer)",
}


def fill(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    roots = list(
        apps.get_model("grids", "GridNode")
        .objects.filter(parent__isnull=True, valid_to__isnull=True, layer="admin")
        .values_list("pk", flat=True)[:2]
    )
    home = roots[0] if len(roots) == 1 else 0
    expression = FIRST_ID.get(vendor, FIRST_ID["postgresql"])
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"UPDATE cases_case SET city_id = COALESCE({expression}, %s)", [home])  # noqa: S608
        for table in ("cases_caseevent", "cases_casephoto", "cases_extension"):
            cursor.execute(
                f"UPDATE {table} SET city_id = (SELECT c.city_id FROM cases_case c WHERE c.id = {table}.case_id)"  # noqa: S608
            )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_channel_app"),
        ("grids", "0001_initial"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=model, name="city_id", field=models.IntegerField(default=0), preserve_default=False
            )
            for model in ("case", "caseevent", "casephoto", "extension")
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
