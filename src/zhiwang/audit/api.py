from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from zhiwang.audit.schemas import AuditEntryOut
from zhiwang.audit.selectors import audit_list
from zhiwang.common.pagination import Pages

router = Router()


@router.get("", response=list[AuditEntryOut])
@paginate(Pages)
def list_audit(
    request: HttpRequest,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    return audit_list(
        actor=request.user,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
    )
