from datetime import datetime
from typing import Any

from ninja import Field, Schema

from zhiwang.grids.coords import CoordSystem


class CaseIn(Schema):
    channel: str = "grid_worker"
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    system: CoordSystem = CoordSystem.WGS84
    address: str = Field("", max_length=200)
    category: str | None = None
    description: str = Field(..., min_length=1, max_length=4000)
    urgency: str = "normal"
    idempotency_key: str | None = Field(None, max_length=80)
    reporter_name: str = Field("", max_length=60)
    reporter_phone: str = Field("", max_length=20)
    external_ref: str = Field("", max_length=64)
    extra: dict[str, Any] = {}
    self_handled: bool = False


class EventOut(Schema):
    kind: str
    at: datetime
    actor: str = Field(..., alias="actor_label")
    from_status: str
    to_status: str
    note: str
    data: dict[str, Any]


class CaseOut(Schema):
    id: int
    number: str | None
    channel: str
    status: str
    urgency: str
    category: str | None = Field(None, alias="category.code")
    category_name: str | None = Field(None, alias="category.name")
    description: str
    address: str
    lon: float
    lat: float
    source_system: str
    grid_code: str | None = Field(None, alias="grid.code")
    grid_name: str | None = Field(None, alias="grid.name")
    department: str | None = Field(None, alias="department.name")
    community: str | None = Field(None, alias="community.name")
    escalation_level: int
    reported_at: datetime
    dispatched_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    light: str
    rating: int | None


class PhotoOut(Schema):
    id: int
    stage: str
    uploaded_at: datetime
    url: str


class CaseDetailOut(CaseOut):
    tracking_code: str
    reporter_name: str
    supervision_count: int
    rework_count: int
    return_count: int
    self_handled: bool
    merged_into_id: int | None
    overlay_grids: list[str] = Field(..., alias="overlay_grids_codes")
    timeline: list[EventOut]
    photos: list[PhotoOut] = Field(..., alias="photo_list")
    actions: list[str]


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class AcceptIn(NoteIn):
    category: str | None = None


class MergeIn(NoteIn):
    into: int


class DispatchIn(NoteIn):
    department_id: int | None = None
    community_id: int | None = None


class ExtensionIn(Schema):
    amount: float = Field(..., gt=0, le=365)
    unit: str = "working_days"
    reason: str = Field(..., min_length=1, max_length=2000)


class ExtensionDecisionIn(NoteIn):
    approve: bool


class HandleIn(Schema):
    result: str = Field(..., min_length=1, max_length=4000)


class VerifyIn(NoteIn):
    passed: bool


class RevisitIn(Schema):
    rating: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=300)


class DuplicateOut(Schema):
    case: CaseOut
    score: float


class WhistleIn(Schema):
    level: str
    department_ids: list[int]
    summary: str = Field(..., min_length=1, max_length=2000)
    case_id: int | None = None
    node_id: int | None = None


class SummonOut(Schema):
    department_id: int
    department: str = Field(..., alias="department.name")
    respond_by: datetime
    reported_at: datetime | None


class WhistleOut(Schema):
    id: int
    level: str
    case_id: int | None
    node_id: int
    summary: str
    blown_at: datetime
    closed_at: datetime | None
    summons: list[SummonOut]

    @staticmethod
    def resolve_summons(obj: Any) -> list[Any]:
        return list(obj.summons.select_related("department").all())
