"""Two people act on one case at the same moment: exactly one wins."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from tests.cases.conftest import ORIGIN, POINT, Place
from zhiwang.accounts.models import Role, User
from zhiwang.cases import intake, services
from zhiwang.cases.models import CaseEvent, Status
from zhiwang.common.errors import Conflict


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_transitions_give_one_success_one_conflict_one_entry(
    place: Place, make_user: Callable[..., User]
) -> None:
    case = intake.case_report(
        actor=place.worker,
        channel="grid_worker",
        lon=POINT[0],
        lat=POINT[1],
        description="路灯不亮",
        category_code="E0101",
        origin=ORIGIN,
    ).case
    services.case_accept(actor=place.dispatcher, case_id=case.pk, origin=ORIGIN)
    services.case_dispatch(
        actor=place.dispatcher, case_id=case.pk, department_id=place.urban.pk, origin=ORIGIN
    )
    second_handler = make_user(Role.DEPARTMENT_HANDLER, department=place.urban, username="handler2")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def act(actor: User) -> None:
        try:
            barrier.wait(timeout=10)
            services.case_sign(actor=actor, case_id=case.pk, origin=ORIGIN)
            result = "ok"
        except Conflict:
            result = "conflict"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [
        threading.Thread(target=act, args=(place.handler,)),
        threading.Thread(target=act, args=(second_handler,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "ok"]
    case.refresh_from_db()
    assert case.status == Status.SIGNED and case.handler_id in (place.handler.pk, second_handler.pk)
    signs = CaseEvent.objects.filter(case=case, kind="sign")
    assert signs.count() == 1 and signs.get().actor_id == case.handler_id
