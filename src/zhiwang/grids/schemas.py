from datetime import datetime
from typing import Any

from ninja import Field, Schema

from zhiwang.grids.coords import CoordSystem


class GridOut(Schema):
    id: int
    code: str
    name: str
    layer: str
    level: str
    kind_label: str
    parent_id: int | None
    parent_code: str | None = Field(None, alias="parent.code")
    depth: int
    area_m2: float
    bbox: list[float]
    label_point: list[float]
    valid_from: datetime
    valid_to: datetime | None

    @staticmethod
    def resolve_bbox(obj: Any) -> list[float]:
        return [obj.min_lon, obj.min_lat, obj.max_lon, obj.max_lat]

    @staticmethod
    def resolve_label_point(obj: Any) -> list[float]:
        return [obj.label_lon, obj.label_lat]


class GridDetailOut(GridOut):
    geometry: dict[str, Any]
    ancestors: list[GridOut]
    properties: dict[str, Any]


class ShapeOut(Schema):
    valid_from: datetime
    valid_to: datetime | None
    area_m2: float


class ChangeOut(Schema):
    id: int
    kind: str
    effective_at: datetime
    actor_label: str
    reason: str
    sources: list[str]
    results: list[str]

    @staticmethod
    def resolve_sources(obj: Any) -> list[str]:
        return [n.code for n in obj.sources.all()]

    @staticmethod
    def resolve_results(obj: Any) -> list[str]:
        return [n.code for n in obj.results.all()]


class HistoryOut(Schema):
    grid: GridOut
    shapes: list[ShapeOut]
    changes: list[ChangeOut]


class ImportOut(Schema):
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    change_id: int | None


class LocateIn(Schema):
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    system: CoordSystem = CoordSystem.WGS84
    at: datetime | None = None


class GridRef(Schema):
    id: int
    code: str
    name: str
    layer: str
    level: str


class LocateOut(Schema):
    lon: float
    lat: float
    source_system: str
    source_lon: float
    source_lat: float
    grid: GridRef | None
    community: GridRef | None
    town: GridRef | None
    overlays: list[GridRef]


class NewGridIn(Schema):
    code: str
    name: str
    geometry: dict[str, Any]


class SplitIn(Schema):
    parts: list[NewGridIn]
    effective_at: datetime | None = None
    reason: str = ""


class MergeIn(Schema):
    grid_ids: list[int]
    code: str
    name: str
    effective_at: datetime | None = None
    reason: str = ""


class RedrawItem(Schema):
    grid_id: int
    geometry: dict[str, Any]


class RedrawIn(Schema):
    grids: list[RedrawItem]
    effective_at: datetime | None = None
    reason: str = ""
