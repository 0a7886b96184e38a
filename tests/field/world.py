"""A small crew around base grid 441900003001001 and cases walked to the grid worker's tasks through
the real services. Shared by the field app's Django-client tests and its browser tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zhiwang.accounts.models import Department, Role, User
from zhiwang.cases import services
from zhiwang.cases.intake import case_report
from zhiwang.cases.models import Case
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode
from zhiwang.taxonomy.models import Category

ORIGIN = Origin(channel="api", ip="127.0.0.1")
GRID = "441900003001001"
# Inside GRID (113.60–113.65, 22.90–23.00), on WGS-84.
POINT = (113.62, 22.95)
CATEGORY = "E0101"


@dataclass
class Crew:
    worker: User
    dispatcher: User
    handler: User
    department: Department


def make_crew(city: dict[str, GridNode], make_user: Callable[..., User]) -> Crew:
    street = Category.objects.create(code="E01", name="市容环境", kind="event", department_kind="urban")
    Category.objects.create(
        code=CATEGORY,
        name="暴露垃圾",
        kind="event",
        parent=street,
        department_kind="urban",
        time_limit=1,
        time_unit="working_days",
    )
    department = Department.objects.create(
        code="DC-URBAN", name="东城综合执法队", kind="urban", jurisdiction=city["441900003"]
    )
    return Crew(
        worker=make_user(Role.GRID_WORKER, grid=city[GRID], username="worker"),
        dispatcher=make_user(Role.COMMUNITY_DISPATCHER, grid=city["441900003001"], username="dispatcher"),
        handler=make_user(Role.DEPARTMENT_HANDLER, department=department, username="handler"),
        department=department,
    )


def reported_case(crew: Crew, description: str) -> Case:
    return case_report(
        actor=crew.worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description=description,
        category_code=CATEGORY,
        origin=ORIGIN,
    ).case


def handled_case(crew: Crew, description: str, result: str = "垃圾已清运") -> Case:
    """A case the worker reported and a department handled: it waits for the worker's verification."""
    case = reported_case(crew, description)
    services.case_accept(actor=crew.dispatcher, case_id=case.pk, origin=ORIGIN)
    services.case_dispatch(
        actor=crew.dispatcher, case_id=case.pk, department_id=crew.department.pk, origin=ORIGIN
    )
    services.case_sign(actor=crew.handler, case_id=case.pk, origin=ORIGIN)
    services.case_handle(actor=crew.handler, case_id=case.pk, result=result, origin=ORIGIN)
    return Case.objects.get(pk=case.pk)


def revisit_case(crew: Crew, description: str) -> Case:
    """A case whose verification passed: it waits for the follow-up visit."""
    case = handled_case(crew, description)
    services.case_verify(actor=crew.worker, case_id=case.pk, passed=True, origin=ORIGIN)
    return Case.objects.get(pk=case.pk)
