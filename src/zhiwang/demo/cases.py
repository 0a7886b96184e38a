"""Sample cases for the demo city, reported by its grid workers and walked through the workflow by
its staff with the same services the console and the API use, so every state has examples."""

from __future__ import annotations

import random
from collections.abc import Callable

from django.db.models import Q

from zhiwang.accounts.models import Role, RoleAssignment, User
from zhiwang.cases import intake, services
from zhiwang.cases.models import Case
from zhiwang.common.errors import ApplicationError
from zhiwang.common.origin import Origin
from zhiwang.taxonomy.models import Category

ORIGIN = Origin(channel="system")
# How far each sample case goes: (share, last step).
PROGRESS = [
    (0.12, "reported"),
    (0.08, "accepted"),
    (0.05, "rejected"),
    (0.15, "dispatched"),
    (0.15, "signed"),
    (0.10, "handled"),
    (0.10, "revisit"),
    (0.25, "closed"),
]
STEPS = ["reported", "accepted", "dispatched", "signed", "handled", "revisit", "closed"]
DESCRIPTIONS = {
    "暴露垃圾": "路边有一堆生活垃圾，已有异味",
    "道路不洁": "人行道有大片油污",
    "占道经营": "早市摊贩占用人行道经营",
    "违法搭建": "楼顶新搭建铁皮房",
}


def _handler_for(case: Case) -> User | None:
    assignment = (
        RoleAssignment.objects.filter(role=Role.DEPARTMENT_HANDLER, department_id=case.department_id)
        .select_related("user")
        .first()
        if case.department_id
        else RoleAssignment.objects.filter(role=Role.COMMUNITY_DISPATCHER, grid_id=case.community_id)
        .select_related("user")
        .first()
    )
    return assignment.user if assignment else None


def generate_demo_cases(*, count: int, seed: int, progress: Callable[[str], None] = print) -> dict[str, int]:
    rng = random.Random(seed + 2)
    commander = User.objects.get(username="city")
    workers = list(
        RoleAssignment.objects.filter(role=Role.GRID_WORKER)
        .select_related("user", "grid")
        .order_by("grid__code")
    )
    categories = list(
        Category.objects.filter(parent__isnull=False, is_active=True, time_limit__isnull=False)
        .filter(Q(overlay_layer="") | Q(overlay_layer__isnull=True) | Q(overlay_layer="fire"))
        .order_by("code")
    )
    if not workers or not categories:
        return {}
    shares, targets = zip(*PROGRESS, strict=True)
    tally: dict[str, int] = {}
    for index in range(count):
        assignment = rng.choice(workers)
        grid = assignment.grid
        assert grid is not None
        category = rng.choice(categories)
        target = rng.choices(targets, weights=shares)[0]
        description = DESCRIPTIONS.get(category.name, f"发现{category.name}问题，请处理")
        try:
            case = intake.case_report(
                actor=assignment.user,
                channel="grid_worker",
                lon=grid.label_lon,
                lat=grid.label_lat,
                description=description,
                category_code=category.code,
                origin=ORIGIN,
                idempotency_key=f"demo-{seed}-{index}",
            ).case
            reached = _walk(case, target, commander, assignment.user, rng)
        except ApplicationError as exc:
            reached = f"stopped: {exc.code}"
        tally[reached] = tally.get(reached, 0) + 1
        if (index + 1) % 50 == 0:
            progress(f"{index + 1}/{count} sample cases")
    return tally


def _walk(case: Case, target: str, commander: User, finder: User, rng: random.Random) -> str:
    if target == "reported":
        return target
    if target == "rejected":
        services.case_reject(actor=commander, case_id=case.pk, reason="不属于受理范围", origin=ORIGIN)
        return target
    services.case_accept(actor=commander, case_id=case.pk, origin=ORIGIN)
    goal = STEPS.index(target)
    if goal < STEPS.index("dispatched"):
        return target
    case = services.case_dispatch(actor=commander, case_id=case.pk, origin=ORIGIN)
    handler = _handler_for(case)
    if goal < STEPS.index("signed") or handler is None:
        return "dispatched"
    services.case_sign(actor=handler, case_id=case.pk, origin=ORIGIN)
    if goal < STEPS.index("handled"):
        return target
    services.case_handle(actor=handler, case_id=case.pk, result="已按要求处置完毕", origin=ORIGIN)
    if goal < STEPS.index("revisit"):
        return target
    services.case_verify(actor=finder, case_id=case.pk, passed=True, origin=ORIGIN)
    if goal < STEPS.index("closed"):
        return target
    services.case_revisit(actor=commander, case_id=case.pk, rating=rng.choice([3, 4, 5, 5, 5]), origin=ORIGIN)
    return target
