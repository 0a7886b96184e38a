"""Importing standard addresses, buildings and rooms (二标) from one flat file.

Address registers come out of other systems as one row per room (or per building, or per door
plate) with the address repeated on every row, so a row here names a door plate, optionally a
building at it and optionally a room in that building, and registers the deepest of them: a room
row adds the room, and the address and building above it unless they are registered already or an
earlier row of the file added them. Each new record is checked as its service checks one
(`address_create`, `building_create`, `room_create`):

- an address is named by its code (a registered one), or by its street or lane, door number and
  point; the point is converted to WGS-84 and must lie in a base grid the importer collects in, and
  the base grid's community and town make the address's key (community, road, door number) and text;
- a building needs its name and 1 to 200 floors, its kind among the choices and the manager's phone
  normalised, then sealed (encrypted, hashed, masked);
- a room needs its number, and its use and rental status among the choices.

The first row that names a new building gives its details; later rows naming it leave them empty or
repeat them, and rows naming a registered building may not contradict what is registered (a change
goes through the register, not an import). Each row must add something: a row naming only what is
registered, or what an earlier row added, is reported. Codes are given as the services give them
(the community's code + 5 digits, the address code + 3, the building code + 4), at the end, under
the same locks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Q

from zhiwang.accounts.permissions import Scope
from zhiwang.common.errors import Conflict, ValidationFailed
from zhiwang.grids.models import GridNode, Level
from zhiwang.registry import crypto
from zhiwang.registry.importing.records import POINT_HEADERS, RowImport, run_import
from zhiwang.registry.importing.tables import Report
from zhiwang.registry.models import (
    BUILDING_PHONE_COLUMN,
    Address,
    Building,
    BuildingKind,
    RentalStatus,
    Room,
    RoomUse,
)
from zhiwang.registry.permissions import COLLECTORS
from zhiwang.registry.services import sealed_phone
from zhiwang.registry.validation import CodeError, normalise_phone

ALIAS_SEPARATORS = re.compile(r"[;；、|｜]")
YES = frozenset({"是", "y", "yes", "true", "1", "出租", "出租屋"})
NO = frozenset({"否", "n", "no", "false", "0", "非出租", "自住"})
BUILDING_DETAILS = (
    "building_kind",
    "floors",
    "building_use",
    "is_rental",
    "owner_name",
    "manager_name",
    "manager_phone",
)
ROOM_DETAILS = ("unit", "floor", "room_use", "rental_status")
MAX_FLOOR = 300  # a room's floor number, either way of the ground
# A new building's details where its first row leaves them empty (the model's defaults).
NEW_BUILDING: dict[str, Any] = {
    "kind": BuildingKind.RESIDENTIAL,
    "floors": 1,
    "use": "",
    "is_rental": False,
    "owner_name": "",
    "manager_name": "",
}

AddressKey = tuple[int, str, str]  # community pk, road, door number
BuildingKey = tuple[AddressKey, str]  # + building name
RoomKey = tuple[BuildingKey, str, str]  # + unit (单元), room number


@dataclass(frozen=True)
class Community:
    """The community and town above a base grid, as an address records them."""

    pk: int
    code: str
    name: str
    town_pk: int
    town_name: str


@dataclass
class NewAddress:
    row: int
    key: AddressKey
    community: Community
    aliases: list[str]
    lon: float
    lat: float
    grid_id: int
    grid_path: str


@dataclass
class NewBuilding:
    row: int
    key: BuildingKey
    address: Address | NewAddress
    details: dict[str, Any]  # the Building fields besides the place


@dataclass
class NewRoom:
    row: int
    key: RoomKey
    building: Building | NewBuilding
    fields: dict[str, Any]


@dataclass
class Planned:
    """What a good row adds (its deepest record; the ones above it may be new too)."""

    row: int
    added: NewAddress | NewBuilding | NewRoom


@dataclass
class Registered:
    """What the file's rows name that is registered already, by key."""

    addresses_by_code: dict[str, Address | None] = field(default_factory=dict)
    addresses: dict[AddressKey, Address] = field(default_factory=dict)
    buildings: dict[BuildingKey, Building] = field(default_factory=dict)
    rooms: set[RoomKey] = field(default_factory=set)


class PlaceImport(RowImport[Planned]):
    kind = "places"
    noun = "addresses, buildings and rooms"
    headers = {
        "address_code": ("address_code", "地址编码", "标准地址编码"),
        "road": ("road", "街路巷", "街路巷名称", "街巷", "道路名称", "路名"),
        "door_number": ("door_number", "门牌号", "门牌号码", "门牌"),
        "aliases": ("aliases", "地址别名", "别名", "俗称"),
        **POINT_HEADERS,
        "building": ("building", "楼栋", "楼栋名称", "楼栋号", "建筑物名称"),
        "building_kind": ("building_kind", "建筑类型", "房屋类型", "楼栋类型"),
        "floors": ("floors", "楼层数", "总层数", "地上层数"),
        "building_use": ("building_use", "建筑用途", "楼栋用途"),
        "is_rental": ("is_rental", "出租屋", "是否出租屋"),
        "owner_name": ("owner_name", "产权人", "业主"),
        "manager_name": ("manager_name", "管理人", "房屋管理人"),
        "manager_phone": ("manager_phone", "管理人电话", "管理人联系电话"),
        "unit": ("unit", "单元", "单元号"),
        "room": ("room", "室号", "房号", "房间号"),
        "floor": ("floor", "所在楼层", "楼层"),
        "room_use": ("room_use", "房屋用途", "房间用途"),
        "rental_status": ("rental_status", "出租状态", "使用状态"),
    }
    required = ()
    required_values = ()
    words = {
        "building_kind": {
            "住宅": "residential",
            "居民楼": "residential",
            "自建房": "self_built",
            "农民房": "self_built",
            "私宅": "self_built",
            "商业": "commercial",
            "商用": "commercial",
            "工业": "industrial",
            "厂房": "industrial",
            "综合": "mixed",
            "商住": "mixed",
            "其他": "other",
        },
        "room_use": {
            "住宅": "residential",
            "居住": "residential",
            "宿舍": "dormitory",
            "商业": "commercial",
            "商铺": "commercial",
            "生产": "production",
            "仓储": "storage",
            "仓库": "storage",
            "其他": "other",
        },
        "rental_status": {
            "自住": "self_occupied",
            "出租": "rented",
            "已出租": "rented",
            "空置": "vacant",
            "闲置": "vacant",
        },
    }
    choices = {"building_kind": BuildingKind, "room_use": RoomUse, "rental_status": RentalStatus}
    lengths = {
        "road": 100,
        "door_number": 20,
        "building": 50,
        "building_use": 100,
        "owner_name": 100,
        "manager_name": 100,
        "unit": 20,
        "room": 20,
    }

    def __init__(self, scope: Scope, report: Report) -> None:
        super().__init__(scope, report)
        self.ring = crypto.keyring()
        self.known = Registered()
        self.communities: dict[int, Community | None] = {}  # base grid pk → the community above
        self.new_addresses: dict[AddressKey, NewAddress] = {}
        self.new_buildings: dict[BuildingKey, NewBuilding] = {}
        self.new_rooms: dict[RoomKey, NewRoom] = {}

    def positions(self, header: list[str], mapping: Mapping[str, str] | None) -> dict[str, int]:
        positions = super().positions(header, mapping)
        if "address_code" not in positions and not {"road", "door_number", "lon", "lat"} <= positions.keys():
            missing = sorted({"road", "door_number", "lon", "lat"} - positions.keys())
            raise ValidationFailed(
                "The file's columns do not fit: name each address by its code, or by its street or "
                "lane, door number and point (lon, lat).",
                code="bad_columns",
                details={"missing": missing, "unknown_fields": [], "header": header[:50]},
            )
        return positions

    # Looking up what the rows name ----------------------------------------------------------------

    def prepare(self, rows: list[dict[str, str]]) -> None:
        known = self.known
        codes = {v["address_code"].strip() for v in rows if v.get("address_code")}
        roads = {v["road"].strip() for v in rows if v.get("road")}
        doors = {v["door_number"].strip() for v in rows if v.get("door_number")}
        fetched = list(Address.objects.filter(Q(code__in=codes) | Q(road__in=roads, door_number__in=doors)))
        for address in fetched:
            known.addresses[_address_key(address)] = address
        by_code = {a.code: a for a in fetched}
        for code in codes:
            known.addresses_by_code[code] = by_code.get(code)
        names = {v["building"].strip() for v in rows if v.get("building")}
        address_keys = {a.pk: _address_key(a) for a in fetched}
        buildings = list(Building.objects.filter(address_id__in=address_keys, name__in=names))
        for building in buildings:
            known.buildings[(address_keys[building.address_id], building.name)] = building
        building_keys = {b.pk: (address_keys[b.address_id], b.name) for b in buildings}
        numbers = {v["room"].strip() for v in rows if v.get("room")}
        for building_id, unit, number in Room.objects.filter(
            building_id__in=building_keys, number__in=numbers
        ).values_list("building_id", "unit", "number"):
            known.rooms.add((building_keys[building_id], unit, number))

    # A row ---------------------------------------------------------------------------------------

    def build(self, row: int, values: dict[str, str]) -> Planned | None:
        values = {name: value.strip() for name, value in values.items()}
        names_building = bool(values.get("building"))
        names_room = bool(values.get("room"))
        if not names_room and any(values.get(name) for name in ROOM_DETAILS):
            self.error(row, "room", "required", "Room details need the room's number.")
        if names_room and not names_building:
            self.error(row, "building", "required", "A room needs the building it is in.")
        if not names_building and any(values.get(name) for name in BUILDING_DETAILS):
            self.error(row, "building", "required", "Building details need the building's name.")
        details = self._building_details(row, values)
        room_fields = self._room_fields(row, values)
        address = self._address(row, values, deepest=not names_building)
        if address is None or self.failed(row):
            return None
        if not names_building:
            assert isinstance(address, NewAddress)  # `_address` reported a registered one
            return Planned(row, address)
        building = self._building(row, values, address, details, deepest=not names_room)
        if building is None or self.failed(row):
            return None
        if not names_room:
            assert isinstance(building, NewBuilding)
            return Planned(row, building)
        return self._room(row, values, (_address_key(address), values["building"]), building, room_fields)

    def _address(self, row: int, values: dict[str, str], *, deepest: bool) -> Address | NewAddress | None:
        code = values.get("address_code", "")
        if code:
            registered = self.known.addresses_by_code.get(code)
            if registered is None or not self.scope.covers(registered.grid_path):
                self.error(row, "address_code", "unknown_address", "No such address in your grids.")
                return None
            for column in ("road", "door_number"):
                if values.get(column) and values[column] != getattr(registered, column):
                    self.error(row, column, "address_differs", "The address with this code has another one.")
            return self._registered_address(row, registered, "address_code", deepest=deepest)
        for column in ("road", "door_number"):
            if not values.get(column):
                self.error(row, column, "required", "Name the address by its code, or give this field.")
        place = self.place(row, values)
        if place is None or self.failed(row):
            return None
        community = self._community(place.grid.pk)
        if community is None:
            self.error(row, "lon", "no_community", "The base grid has no community above it.")
            return None
        key = (community.pk, values["road"], values["door_number"])
        if key in self.known.addresses:
            return self._registered_address(row, self.known.addresses[key], "door_number", deepest=deepest)
        earlier = self.new_addresses.get(key)
        if earlier is not None:
            if deepest:
                self.error(row, "door_number", "duplicate_in_file", f"The same address as row {earlier.row}.")
            return earlier
        aliases = [a.strip() for a in ALIAS_SEPARATORS.split(values.get("aliases", "")) if a.strip()]
        address = NewAddress(
            row, key, community, aliases, place.lon, place.lat, place.grid.pk, place.grid.path
        )
        self.new_addresses[key] = address
        return address

    def _registered_address(
        self, row: int, address: Address, column: str, *, deepest: bool
    ) -> Address | None:
        if deepest:
            self.error(row, column, "duplicate_address", "This door number is already registered.")
            return None
        if not self.scope.covers(address.grid_path, COLLECTORS):
            self.error(
                row, column, "outside_scope", "The address lies outside the grids where you record base data."
            )
            return None
        return address

    def _building(
        self,
        row: int,
        values: dict[str, str],
        address: Address | NewAddress,
        details: dict[str, Any],
        *,
        deepest: bool,
    ) -> Building | NewBuilding | None:
        key = (_address_key(address), values["building"])
        registered = self.known.buildings.get(key)
        earlier = self.new_buildings.get(key)
        if registered is None and earlier is None:
            phone = sealed_phone(values.get("manager_phone", ""), BUILDING_PHONE_COLUMN, self.ring)
            fields = (
                NEW_BUILDING
                | details
                | {
                    "manager_phone_enc": phone.enc,
                    "manager_phone_hash": phone.hash,
                    "manager_phone_masked": phone.masked,
                }
            )
            building = NewBuilding(row, key, address, fields)
            self.new_buildings[key] = building
            return building
        held = registered if registered is not None else earlier
        stored = _details_of(held)
        differing = [name for name, value in details.items() if stored.get(name) != value]
        for name in differing:
            column = "manager_phone" if name == "manager_phone_hash" else name
            if registered is not None:
                message = "The registered building has another value; change it in the register."
            else:
                message = f"Row {earlier.row if earlier else row} gave this building another value."
            self.error(row, column, "building_differs", message)
        if deepest:
            if registered is not None:
                self.error(row, "building", "duplicate_building", "This building is already registered here.")
            elif earlier is not None:
                self.error(row, "building", "duplicate_in_file", f"The same building as row {earlier.row}.")
            return None
        return held

    def _room(
        self,
        row: int,
        values: dict[str, str],
        building_key: BuildingKey,
        building: Building | NewBuilding,
        fields: dict[str, Any],
    ) -> Planned | None:
        key = (building_key, values.get("unit", ""), values["room"])
        if key in self.known.rooms:
            self.error(row, "room", "duplicate_room", "This room is already registered in this building.")
            return None
        earlier = self.new_rooms.get(key)
        if earlier is not None:
            self.error(row, "room", "duplicate_in_file", f"The same room as row {earlier.row}.")
            return None
        room = NewRoom(row, key, building, fields)
        self.new_rooms[key] = room
        return Planned(row, room)

    def _building_details(self, row: int, values: dict[str, str]) -> dict[str, Any]:
        """The building columns this row fills, as Building fields (the phone as its lookup hash)."""
        details: dict[str, Any] = {}
        if values.get("building_kind"):
            details["kind"] = values["building_kind"]
        if values.get("floors"):
            floors = _integer(values["floors"])
            if floors is None or not 1 <= floors <= 200:
                self.error(row, "floors", "bad_number", "A whole number of floors from 1 to 200.")
            else:
                details["floors"] = floors
        if values.get("building_use"):
            details["use"] = values["building_use"]
        if values.get("is_rental"):
            answer = values["is_rental"].lower()
            if answer in YES or answer in NO:
                details["is_rental"] = answer in YES
            else:
                self.error(row, "is_rental", "bad_choice", "Not one of: 是, 否.")
        for name in ("owner_name", "manager_name"):
            if values.get(name):
                details[name] = values[name]
        if values.get("manager_phone"):
            try:
                phone = normalise_phone(values["manager_phone"])
            except CodeError as exc:
                self.error(row, "manager_phone", exc.code, str(exc))
            else:
                details["manager_phone_hash"] = crypto.lookup_hash(phone, BUILDING_PHONE_COLUMN, self.ring)
        return details

    def _room_fields(self, row: int, values: dict[str, str]) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "use": values.get("room_use") or RoomUse.RESIDENTIAL,
            "rental_status": values.get("rental_status") or RentalStatus.SELF_OCCUPIED,
            "floor": None,
        }
        if values.get("floor"):
            floor = _integer(values["floor"])
            if floor is None or not -MAX_FLOOR <= floor <= MAX_FLOOR:
                self.error(row, "floor", "bad_number", "A whole floor number (below ground: negative).")
            else:
                fields["floor"] = floor
        return fields

    def _community(self, grid_id: int) -> Community | None:
        if grid_id not in self.communities:
            nodes = GridNode.objects.defer("geometry", "properties")
            grid = nodes.filter(pk=grid_id).values_list("parent_id", flat=True).first()
            community = nodes.filter(pk=grid or 0, level=Level.COMMUNITY).first()
            town = nodes.filter(pk=community.parent_id or 0).first() if community else None
            self.communities[grid_id] = (
                Community(community.pk, community.code, community.name, town.pk, town.name)
                if community is not None and town is not None
                else None
            )
        return self.communities[grid_id]

    # Writing ---------------------------------------------------------------------------------------

    def write(self, records: list[Planned]) -> None:
        """The new addresses, buildings and rooms, coded under the locks their services take."""
        addresses = list(self.new_addresses.values())
        buildings = list(self.new_buildings.values())
        rooms = list(self.new_rooms.values())
        _lock(GridNode, {a.community.pk for a in addresses})
        _lock(Address, {b.address.pk for b in buildings if isinstance(b.address, Address)})
        _lock(Building, {r.building.pk for r in rooms if isinstance(r.building, Building)})

        address_codes = _Codes(Address, 5)
        stored_addresses: dict[AddressKey, Address] = {}
        for new in addresses:
            community = new.community
            stored_addresses[new.key] = Address(
                code=address_codes.next(community.code),
                town_id=community.town_pk,
                community_id=community.pk,
                road=new.key[1],
                door_number=new.key[2],
                full_text=f"{community.town_name}{community.name}{new.key[1]}{new.key[2]}",
                aliases=new.aliases,
                lon=new.lon,
                lat=new.lat,
                grid_id=new.grid_id,
                grid_path=new.grid_path,
            )
        Address.objects.bulk_create(stored_addresses.values(), batch_size=500)

        building_codes = _Codes(Building, 3)
        stored_buildings: dict[BuildingKey, Building] = {}
        for new_building in buildings:
            address = new_building.address
            parent = address if isinstance(address, Address) else stored_addresses[address.key]
            stored_buildings[new_building.key] = Building(
                code=building_codes.next(parent.code),
                address_id=parent.pk,
                name=new_building.key[1],
                lon=parent.lon,
                lat=parent.lat,
                grid_id=parent.grid_id,
                grid_path=parent.grid_path,
                **new_building.details,
            )
        Building.objects.bulk_create(stored_buildings.values(), batch_size=500)

        room_codes = _Codes(Room, 4)
        stored_rooms: list[Room] = []
        for new_room in rooms:
            building = new_room.building
            parent_building = building if isinstance(building, Building) else stored_buildings[building.key]
            stored_rooms.append(
                Room(
                    code=room_codes.next(parent_building.code),
                    building_id=parent_building.pk,
                    unit=new_room.key[1],
                    number=new_room.key[2],
                    grid_path=parent_building.grid_path,
                    **new_room.fields,
                )
            )
        Room.objects.bulk_create(stored_rooms, batch_size=500)
        self.report.added = {
            "addresses": len(stored_addresses),
            "buildings": len(stored_buildings),
            "rooms": len(stored_rooms),
        }


class _Codes:
    """Codes under each parent code: the parent's code and the next free sequence of `width` digits."""

    def __init__(self, model: type[Address] | type[Building] | type[Room], width: int) -> None:
        self.model, self.width = model, width
        self.next_sequence: dict[str, int] = {}

    def next(self, prefix: str) -> str:
        if prefix not in self.next_sequence:
            latest = self.model.objects.filter(code__startswith=prefix).aggregate(m=Max("code"))["m"]
            self.next_sequence[prefix] = (
                int(latest[len(prefix) : len(prefix) + self.width]) + 1 if latest else 1
            )
        sequence = self.next_sequence[prefix]
        if sequence >= 10**self.width:
            raise Conflict(f"No codes are left under {prefix}; nothing was imported.", code="codes_exhausted")
        self.next_sequence[prefix] = sequence + 1
        return f"{prefix}{sequence:0{self.width}d}"


def _lock(model: type[GridNode] | type[Address] | type[Building], pks: Iterable[int]) -> None:
    ordered = sorted(pks)
    if ordered:
        list(model.objects.select_for_update().filter(pk__in=ordered).order_by("pk").values_list("pk"))


def _address_key(address: Address | NewAddress) -> AddressKey:
    if isinstance(address, NewAddress):
        return address.key
    return (address.community_id, address.road, address.door_number)


def _details_of(building: Building | NewBuilding | None) -> dict[str, Any]:
    if isinstance(building, NewBuilding):
        return building.details
    if building is None:
        return {}
    return {
        "kind": building.kind,
        "floors": building.floors,
        "use": building.use,
        "is_rental": building.is_rental,
        "owner_name": building.owner_name,
        "manager_name": building.manager_name,
        "manager_phone_hash": building.manager_phone_hash,
    }


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


# Import a file of places: the applied batch, or `ValidationFailed` naming the refused batch.
import_places = functools.partial(run_import, PlaceImport)
