from datetime import date, datetime
from typing import Any

from ninja import Field, Schema


class AssignmentOut(Schema):
    id: int
    role: str
    grid_id: int | None
    grid_code: str | None = Field(None, alias="grid.code")
    grid_name: str | None = Field(None, alias="grid.name")
    department_id: int | None
    department_name: str | None = Field(None, alias="department.name")
    worker_kind: str
    starts_on: date
    ends_on: date | None


class UserOut(Schema):
    id: int
    username: str
    display_name: str
    is_active: bool
    assignments: list[AssignmentOut]

    @staticmethod
    def resolve_assignments(obj: Any) -> list[Any]:
        return list(obj.assignments.all())


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    is_active: bool
    assignments: list[AssignmentOut]
    roles: list[str]
    second_factor_enrolled: bool


class UserIn(Schema):
    username: str = Field(..., min_length=1, max_length=150)
    password: str | None = Field(None, min_length=10)
    display_name: str = ""
    phone: str = ""


class AssignmentIn(Schema):
    role: str
    grid_id: int | None = None
    department_id: int | None = None
    worker_kind: str = ""
    starts_on: date | None = None


class TokenIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    expires_at: datetime | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    key: str | None = None


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    jurisdiction_id: int
    jurisdiction_code: str = Field(..., alias="jurisdiction.code")


class DepartmentIn(Schema):
    code: str = Field(..., min_length=1, max_length=32)
    name: str = Field(..., min_length=1, max_length=100)
    kind: str = "other"
    jurisdiction_id: int


class UnstaffedGridOut(Schema):
    id: int
    code: str
    name: str
    community_code: str | None = Field(None, alias="parent.code")
    community_name: str | None = Field(None, alias="parent.name")


class WorkerOut(Schema):
    assignment_id: int = Field(..., alias="id")
    user_id: int
    username: str = Field(..., alias="user.username")
    display_name: str = Field(..., alias="user.display_name")
    worker_kind: str
    grid_id: int
    grid_code: str = Field(..., alias="grid.code")
