"""Importing units (enterprises, individual businesses, shops, 三小场所) from CSV or Excel.

A row is checked and stored as `services.unit_create` checks and stores one unit: name, kind and risk
level among their choices, the unified social credit code's check character, the contact phone
normalised then sealed (encrypted, hashed, masked), the point converted to WGS-84 and placed in a
base grid the importer collects in, the enterprise grid named or else the one the point lies in.
Besides: a credit code is required except for 三小场所 (small stalls, workshops and entertainment
venues), may appear once in the file and must not be registered already; a standard address is named
by its code and must lie in the importer's scope (its point stands in for a row without one); a named
enterprise grid must be current, of the enterprise layer, and in the importer's scope or over the
unit's point.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from zhiwang.accounts.permissions import Scope
from zhiwang.common.errors import ValidationFailed
from zhiwang.grids.models import GridNode, Layer
from zhiwang.registry import crypto
from zhiwang.registry.importing.records import POINT_HEADERS, GridInfo, Place, RowImport, run_import
from zhiwang.registry.importing.tables import Report
from zhiwang.registry.models import (
    SMALL_VENUE_KINDS,
    UNIT_PHONE_COLUMN,
    Address,
    RiskLevel,
    Unit,
    UnitKind,
)
from zhiwang.registry.services import sealed_phone
from zhiwang.registry.validation import CodeError, check_credit_code, normalise_phone

MAX_HEADCOUNT = 2_147_483_647  # PositiveIntegerField


@dataclass(frozen=True)
class AddressInfo:
    pk: int
    grid_path: str
    lon: float | None
    lat: float | None


class UnitImport(RowImport[Unit]):
    kind = "units"
    noun = "units"
    headers = {
        "name": ("name", "单位名称", "名称", "企业名称", "商户名称", "场所名称"),
        "kind": ("kind", "单位类型", "类型", "场所类型"),
        "credit_code": ("credit_code", "统一社会信用代码", "信用代码"),
        "industry": ("industry", "行业", "所属行业", "行业类别"),
        "address_code": ("address_code", "地址编码", "标准地址编码"),
        **POINT_HEADERS,
        "contact_name": ("contact_name", "联系人", "负责人"),
        "contact_phone": ("contact_phone", "联系电话", "联系人电话", "电话"),
        "headcount": ("headcount", "从业人数", "员工人数", "人数"),
        "risk_level": ("risk_level", "风险等级"),
        "enterprise_grid": ("enterprise_grid", "企业网格", "企业网格编码"),
    }
    required = ("name",)
    required_values = ("name",)
    words = {
        "kind": {
            "企业": "enterprise",
            "个体工商户": "individual",
            "个体": "individual",
            "商铺": "shop",
            "店铺": "shop",
            "门店": "shop",
            "小档口": "small_stall",
            "小作坊": "small_workshop",
            "小娱乐场所": "small_entertainment",
            "其他": "other",
        },
        "risk_level": {
            "低": "low",
            "低风险": "low",
            "中": "medium",
            "中风险": "medium",
            "高": "high",
            "高风险": "high",
            "重大": "major",
            "重大风险": "major",
        },
    }
    choices = {"kind": UnitKind, "risk_level": RiskLevel}
    lengths = {"name": 200, "industry": 100, "contact_name": 50}

    def __init__(self, scope: Scope, report: Report) -> None:
        super().__init__(scope, report)
        self.ring = crypto.keyring()
        self.addresses: dict[str, AddressInfo | None] = {}  # None: unknown or outside the scope
        self.enterprise_grids: dict[str, GridInfo | None] = {}  # None: no current enterprise grid
        self.overlay_grids: dict[tuple[int, ...], GridInfo | None] = {}

    def positions(self, header: list[str], mapping: Mapping[str, str] | None) -> dict[str, int]:
        positions = super().positions(header, mapping)
        if not ({"lon", "lat"} <= positions.keys() or "address_code" in positions):
            raise ValidationFailed(
                "The file's columns do not fit: give each unit's point (lon, lat) or its address code.",
                code="bad_columns",
                details={"missing": ["lon", "lat"], "unknown_fields": [], "header": header[:50]},
            )
        return positions

    def prepare(self, rows: list[dict[str, str]]) -> None:
        codes = {v["credit_code"].strip().upper() for v in rows if v.get("credit_code")}
        self.registered |= {
            code
            for code in Unit.objects.filter(credit_code__in=codes - self.registered).values_list(
                "credit_code", flat=True
            )
            if code
        }
        wanted = {v["address_code"] for v in rows if v.get("address_code")} - self.addresses.keys()
        found = {
            code: AddressInfo(pk, path, lon, lat)
            for code, pk, path, lon, lat in Address.objects.filter(code__in=wanted).values_list(
                "code", "pk", "grid_path", "lon", "lat"
            )
        }
        for code in wanted:
            info = found.get(code)
            # An address outside the importer's scope is treated as unknown (as `selectors.address_get`).
            self.addresses[code] = info if info and self.scope.covers(info.grid_path) else None
        wanted = {
            v["enterprise_grid"] for v in rows if v.get("enterprise_grid")
        } - self.enterprise_grids.keys()
        grids = {
            code: GridInfo(pk, path, code)
            for code, pk, path in GridNode.objects.filter(
                code__in=wanted, layer=Layer.ENTERPRISE, valid_to__isnull=True
            ).values_list("code", "pk", "path")
        }
        for code in wanted:
            self.enterprise_grids[code] = grids.get(code)

    def build(self, row: int, values: dict[str, str]) -> Unit | None:
        kind = values.get("kind") or UnitKind.ENTERPRISE
        code = self._credit_code(row, values, kind)
        address = self._address(row, values)
        point = None
        if address is not None and address.lon is not None and address.lat is not None:
            point = (address.lon, address.lat)
        # A row whose unknown address was to give its point has nothing more to check there.
        unplaced = (
            address is None and values.get("address_code") and not (values.get("lon") or values.get("lat"))
        )
        place = None if unplaced else self.place(row, values, point)
        enterprise = self._enterprise_grid(row, values, place)
        self._check_phone(row, values)
        headcount = self._headcount(row, values)
        if place is None or self.failed(row):
            return None
        phone = sealed_phone(values.get("contact_phone", ""), UNIT_PHONE_COLUMN, self.ring)
        return Unit(
            name=values["name"].strip(),
            kind=kind,
            credit_code=code,
            industry=values.get("industry", "").strip(),
            address_id=address.pk if address else None,
            contact_name=values.get("contact_name", "").strip(),
            contact_phone_enc=phone.enc,
            contact_phone_hash=phone.hash,
            contact_phone_masked=phone.masked,
            headcount=headcount,
            risk_level=values.get("risk_level") or RiskLevel.LOW,
            enterprise_grid_id=enterprise.pk if enterprise else None,
            enterprise_grid_path=enterprise.path if enterprise else "",
            lon=place.lon,
            lat=place.lat,
            grid_id=place.grid.pk,
            grid_path=place.grid.path,
        )

    def _credit_code(self, row: int, values: dict[str, str], kind: str) -> str | None:
        text = values.get("credit_code", "")
        if not text:
            if kind in UnitKind.values and kind not in SMALL_VENUE_KINDS:
                self.error(
                    row,
                    "credit_code",
                    "required",
                    "This kind of unit needs its unified social credit code "
                    "(only small stalls, workshops and entertainment venues may have none).",
                )
            return None
        try:
            code = check_credit_code(text)
        except CodeError as exc:
            self.error(row, "credit_code", exc.code, str(exc))
            return None
        self.once(
            row,
            "credit_code",
            code,
            what="credit code",
            registered=("duplicate_unit", "A unit with this credit code is registered."),
        )
        return code

    def _address(self, row: int, values: dict[str, str]) -> AddressInfo | None:
        code = values.get("address_code", "")
        if not code:
            return None
        address = self.addresses.get(code)
        if address is None:
            self.error(row, "address_code", "unknown_address", "No such address in your grids.")
        return address

    def _enterprise_grid(self, row: int, values: dict[str, str], place: Place | None) -> GridInfo | None:
        """The grid named, or else the first enterprise grid over the point (as `unit_create` picks)."""
        code = values.get("enterprise_grid", "")
        if not code:
            return self._overlay_enterprise_grid(place.overlay_ids) if place else None
        grid = self.enterprise_grids.get(code)
        if grid is None:
            self.error(row, "enterprise_grid", "bad_enterprise_grid", "No such enterprise grid.")
        elif place is not None and not (self.scope.covers(grid.path) or grid.pk in place.overlay_ids):
            self.error(
                row,
                "enterprise_grid",
                "outside_scope",
                "This enterprise grid is neither in your grids nor over the unit's point.",
            )
        return grid

    def _overlay_enterprise_grid(self, overlay_ids: tuple[int, ...]) -> GridInfo | None:
        if overlay_ids not in self.overlay_grids:
            found = (
                GridNode.objects.filter(layer=Layer.ENTERPRISE, valid_to__isnull=True, pk__in=overlay_ids)
                .order_by("code")
                .values_list("pk", "path", "code")
                .first()
            )
            self.overlay_grids[overlay_ids] = GridInfo(*found) if found else None
        return self.overlay_grids[overlay_ids]

    def _check_phone(self, row: int, values: dict[str, str]) -> None:
        if values.get("contact_phone"):
            try:
                normalise_phone(values["contact_phone"])
            except CodeError as exc:
                self.error(row, "contact_phone", exc.code, str(exc))

    def _headcount(self, row: int, values: dict[str, str]) -> int:
        text = values.get("headcount", "")
        if not text:
            return 0
        try:
            count = int(text)
        except ValueError:
            count = -1
        if not 0 <= count <= MAX_HEADCOUNT:
            self.error(row, "headcount", "bad_number", "Not a whole number of 0 or more.")
            return 0
        return count


# Import a file of units: the applied batch, or `ValidationFailed` naming the refused batch.
import_units = functools.partial(run_import, UnitImport)
