"""Case events become webhook deliveries in the transaction that records them. Connected in
`WebhooksConfig.ready`: `zhiwang.cases` knows nothing of webhooks."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save, pre_save

from zhiwang.cases.models import Case, CaseEvent, Status
from zhiwang.webhooks.models import EVENT_TYPES

# Set on a case being returned (退单): the department it leaves, whose systems hear of the return.
PREVIOUS_DEPARTMENT = "_webhooks_previous_department_id"


def remember_department(sender: type[Case], instance: Case, raw: bool = False, **kwargs: Any) -> None:
    """A return clears the case's department before its event is written: remember who had it."""
    if raw or instance.pk is None or instance.status != Status.RETURNED or instance.department_id is not None:
        return
    previous = (
        Case.objects.filter(city_id=instance.city_id, pk=instance.pk)
        .values_list("department_id", flat=True)
        .first()
    )
    if previous is not None:
        setattr(instance, PREVIOUS_DEPARTMENT, previous)


def queue_deliveries(
    sender: type[CaseEvent], instance: CaseEvent, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if not created or raw or instance.kind not in EVENT_TYPES:
        return
    from zhiwang.webhooks.services import deliveries_queue

    case = instance.case
    department_id = case.department_id
    if instance.kind == "return":
        department_id = getattr(case, PREVIOUS_DEPARTMENT, None)
    deliveries_queue(instance, department_id=department_id)


def connect() -> None:
    pre_save.connect(remember_department, sender=Case, dispatch_uid="webhooks.remember_department")
    post_save.connect(queue_deliveries, sender=CaseEvent, dispatch_uid="webhooks.queue_deliveries")
