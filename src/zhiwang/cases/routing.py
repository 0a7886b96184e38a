"""Where an accepted case goes: category × grid level × overlay grid.

In order: an administrator's routing rule for the category (or any category) in the deepest grid
subtree containing the case; the department responsible for an overlay grid of the category's
overlay layer that contains the case (a fire hazard in a 消防格 goes to that fire team); the
community itself for matters it settles; the department of the category's kind whose jurisdiction
is the deepest node above the case (a town's team before the city's bureau).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from zhiwang.accounts.models import Department
from zhiwang.cases.models import Case, RoutingRule
from zhiwang.grids.models import GridNode, path_ids, path_prefixes


@dataclass(frozen=True)
class Route:
    department: Department | None
    community: GridNode | None
    reason: str


def route(case: Case) -> Route | None:
    if not case.grid_path:
        return None
    ancestors = path_prefixes(case.grid_path)
    category = case.category
    rules = (
        RoutingRule.objects.filter(is_active=True, grid__path__in=ancestors, department__is_active=True)
        .filter(Q(category=category) | Q(category__isnull=True))
        .select_related("grid", "department")
    )
    best = sorted(rules, key=lambda r: (r.category_id is not None, r.grid.depth, r.priority), reverse=True)
    if best:
        return Route(best[0].department, None, f"routing rule {best[0].pk}")
    if category is None:
        return None
    if category.overlay_layer:
        overlay = (
            Department.objects.filter(
                is_active=True,
                overlay_grids__in=case.overlay_grids.filter(
                    layer=category.overlay_layer, valid_to__isnull=True
                ),
            )
            .order_by("code")
            .first()
        )
        if overlay is not None:
            return Route(overlay, None, f"overlay grid of layer {category.overlay_layer}")
    if category.handled_by_community and case.grid is not None:
        community = GridNode.objects.filter(pk__in=path_ids(case.grid_path), level="community").first()
        if community is not None:
            return Route(None, community, "handled by the community")
    departments = list(
        Department.objects.filter(
            is_active=True, kind=category.department_kind, jurisdiction__path__in=ancestors
        ).select_related("jurisdiction")
    )
    if departments:
        chosen = max(departments, key=lambda d: (d.jurisdiction.depth, -d.pk))
        return Route(chosen, None, f"department of kind {category.department_kind}")
    return None
