"""How the tables would be laid out on Citus (distributed PostgreSQL) for a province of cities.

A distributed table is split into shards by its distribution column (the city); a reference table is
copied to every node. Every query the application issues on a distributed table must say which city
it is about (``city_id = …`` or ``city_id IN (…)``), so Citus sends it to the nodes holding those
cities instead of to every node. The test suite checks this on PostgreSQL for every request it makes
(tests/distribution.py).

Only the case tables and the audit log carry their city so far; what else has to change before the
layout can be created (keys and foreign keys that include the city, the other tables) is in
docs/operations.md.
"""

from __future__ import annotations

KEY = "city_id"

# table -> its distribution column; the tables of one group are co-located (same shard per city).
DISTRIBUTED: dict[str, str] = {
    "cases_case": KEY,
    "cases_caseevent": KEY,
    "cases_casephoto": KEY,
    "cases_extension": KEY,
    "cases_kpidelta": "root_key",
    "audit_auditentry": KEY,
}

# Small tables every node needs for its joins: the grid tree, people and rights, the classification,
# the working calendar, routing rules and the folded KPI cells.
REFERENCE: tuple[str, ...] = (
    "grids_gridnode",
    "grids_gridshape",
    "accounts_user",
    "accounts_department",
    "accounts_roleassignment",
    "taxonomy_category",
    "taxonomy_taxonomyrevision",
    "workcalendar_calendaryear",
    "workcalendar_calendarday",
    "cases_routingrule",
    "cases_kpicell",
)
