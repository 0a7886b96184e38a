"""Importing city components (部件) from CSV or Excel.

A row is checked and stored as `services.facility_create` checks and stores one component: the
16-digit component code (6-digit area + 2-digit major class + 2-digit minor class + 6-digit
sequence), its name and status, the owning and maintaining departments (here named by their codes;
their names stand in for empty owner and maintainer names), the point converted to WGS-84 and placed
in a base grid the importer collects in, whose area must be the code's. Besides: a component code may
appear once in the file and must not be registered already.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from zhiwang.accounts.models import Department
from zhiwang.accounts.permissions import Scope
from zhiwang.registry.importing.records import POINT_HEADERS, RowImport, run_import
from zhiwang.registry.importing.tables import Report
from zhiwang.registry.models import Facility, FacilityStatus
from zhiwang.registry.validation import CodeError, check_component_code

DEPARTMENT_FIELDS = ("owner_department", "maintainer_department")


@dataclass(frozen=True)
class DepartmentInfo:
    pk: int
    name: str


class FacilityImport(RowImport[Facility]):
    kind = "facilities"
    noun = "facilities"
    headers = {
        "code": ("code", "部件编码", "部件标识码", "编码"),
        "name": ("name", "部件名称", "名称", "部件类型"),
        "status": ("status", "部件状态", "状态"),
        "owner_department": ("owner_department", "主管部门编码", "主管部门"),
        "owner_name": ("owner_name", "权属单位", "主管单位"),
        "maintainer_department": ("maintainer_department", "养护部门编码", "养护部门"),
        "maintainer_name": ("maintainer_name", "养护单位"),
        "address_text": ("address_text", "地址", "位置描述", "所在地址"),
        **POINT_HEADERS,
    }
    required = ("code", "name", "lon", "lat")
    required_values = ("code", "name")
    words = {
        "status": {
            "完好": "intact",
            "正常": "intact",
            "破损": "damaged",
            "损坏": "damaged",
            "丢失": "lost",
            "缺失": "lost",
            "移除": "removed",
            "拆除": "removed",
            "已拆除": "removed",
        }
    }
    choices = {"status": FacilityStatus}
    lengths = {"name": 100, "owner_name": 100, "maintainer_name": 100, "address_text": 200}

    def __init__(self, scope: Scope, report: Report) -> None:
        super().__init__(scope, report)
        self.departments: dict[str, DepartmentInfo | None] = {}  # by code; None: no such department

    def prepare(self, rows: list[dict[str, str]]) -> None:
        codes = {v["code"].strip() for v in rows if v.get("code")}
        self.registered |= set(
            Facility.objects.filter(code__in=codes - self.registered).values_list("code", flat=True)
        )
        wanted = {v[f] for v in rows for f in DEPARTMENT_FIELDS if v.get(f)} - self.departments.keys()
        found = {
            code: DepartmentInfo(pk, name)
            for code, pk, name in Department.objects.filter(code__in=wanted).values_list("code", "pk", "name")
        }
        for code in wanted:
            self.departments[code] = found.get(code)

    def build(self, row: int, values: dict[str, str]) -> Facility | None:
        code = self._code(row, values)
        owner, maintainer = (self._department(row, values, field) for field in DEPARTMENT_FIELDS)
        place = self.place(row, values)
        if code is not None and place is not None and code[:6] != place.grid.code[:6]:
            self.error(
                row,
                "code",
                "component_area",
                f"The code's area {code[:6]} is not the area of the grid it lies in ({place.grid.code[:6]}).",
            )
        if code is None or place is None or self.failed(row):
            return None
        return Facility(
            code=code,
            name=values["name"].strip(),
            major_code=code[6:8],
            minor_code=code[8:10],
            owner_department_id=owner.pk if owner else None,
            owner_name=values.get("owner_name", "").strip() or (owner.name if owner else ""),
            maintainer_department_id=maintainer.pk if maintainer else None,
            maintainer_name=values.get("maintainer_name", "").strip()
            or (maintainer.name if maintainer else ""),
            status=values.get("status") or FacilityStatus.INTACT,
            address_text=values.get("address_text", "").strip(),
            lon=place.lon,
            lat=place.lat,
            grid_id=place.grid.pk,
            grid_path=place.grid.path,
        )

    def _code(self, row: int, values: dict[str, str]) -> str | None:
        if not values.get("code"):
            return None
        try:
            code = check_component_code(values["code"])
        except CodeError as exc:
            self.error(row, "code", exc.code, str(exc))
            return None
        self.once(
            row,
            "code",
            code,
            what="component code",
            registered=("duplicate_facility", "A facility with this code is registered."),
        )
        return code

    def _department(self, row: int, values: dict[str, str], field: str) -> DepartmentInfo | None:
        code = values.get(field, "")
        if not code:
            return None
        department = self.departments.get(code)
        if department is None:
            self.error(row, field, "bad_department", "No such department.")
        return department


# Import a file of city components: the applied batch, or `ValidationFailed` naming the refused batch.
import_facilities = functools.partial(run_import, FacilityImport)
