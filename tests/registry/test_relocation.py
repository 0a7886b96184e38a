"""Base data follows the grid map: after a split, a redraw or an enterprise grid retired, every row
lies in the current grid its point lies in, and what hangs off an address follows it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import square
from tests.registry.conftest import Registry
from tests.registry.world import ORIGIN, credit_code, id_number
from zhiwang.accounts.permissions import scope_for
from zhiwang.audit.models import AuditEntry
from zhiwang.grids.models import GridNode
from zhiwang.grids.services import NewGrid, grid_redraw, grid_split
from zhiwang.registry import services
from zhiwang.registry.models import Address, Building, Facility, Person, Room, Tenancy, Unit
from zhiwang.registry.relocation import relocate


@dataclass
class Home:
    address: Address
    building: Building
    room: Room
    person: Person


def _home(reg: Registry, road: str, lon: float, lat: float) -> Home:
    address = services.address_create(
        actor=reg.superuser, road=road, door_number="1号", lon=lon, lat=lat, origin=ORIGIN
    )
    building = services.building_create(actor=reg.superuser, address_id=address.pk, name="1栋", origin=ORIGIN)
    room = services.room_create(actor=reg.superuser, building_id=building.pk, number="101", origin=ORIGIN)
    person = services.person_create(
        actor=reg.superuser,
        room_id=room.pk,
        fields=services.PersonFields(name="住户", id_number=id_number()),
        origin=ORIGIN,
    )
    return Home(address, building, room, person)


def _grids_of(home: Home) -> set[tuple[int | None, str]]:
    address = Address.objects.get(pk=home.address.pk)
    building = Building.objects.get(pk=home.building.pk)
    person = Person.objects.get(pk=home.person.pk)
    room_paths = {Room.objects.get(pk=home.room.pk).grid_path}
    room_paths |= set(Tenancy.objects.filter(room=home.room).values_list("grid_path", flat=True))
    assert room_paths == {address.grid_path}
    return {
        (address.grid_id, address.grid_path),
        (building.grid_id, building.grid_path),
        (person.grid_id, person.grid_path),
    }


def test_a_split_moves_each_row_into_the_part_its_point_lies_in(reg: Registry) -> None:
    old = reg.grids["441900003001001"]  # 113.60–113.65 × 22.9–23.0
    north_home = _home(reg, "北街", 113.62, 22.97)
    south_home = _home(reg, "南街", 113.62, 22.92)
    unit = services.unit_create(
        actor=reg.superuser, name="北厂", lon=113.63, lat=22.98, credit_code=credit_code(901), origin=ORIGIN
    )
    facility = services.facility_create(
        actor=reg.superuser, code="4419000203000901", name="消防栓", lon=113.61, lat=22.91, origin=ORIGIN
    )
    assert _grids_of(north_home) == {(old.pk, old.path)}
    worker_before = scope_for(reg.worker)
    assert worker_before.covers(north_home.person.grid_path)

    south, north = grid_split(
        actor=reg.superuser,
        grid_id=old.pk,
        parts=[
            NewGrid("441900003001003", "南片", square(113.6, 22.9, 113.65, 22.95)),
            NewGrid("441900003001004", "北片", square(113.6, 22.95, 113.65, 23.0)),
        ],
        origin=ORIGIN,
    )
    assert _grids_of(north_home) == {(north.pk, north.path)}
    assert _grids_of(south_home) == {(south.pk, south.path)}
    assert Unit.objects.get(pk=unit.pk).grid_path == north.path
    assert Facility.objects.get(pk=facility.pk).grid_path == south.path
    # Nothing is left in the retired grid, and the address keeps its code and community.
    retired = GridNode.objects.get(pk=old.pk)
    assert retired.valid_to is not None
    for model in (Address, Building, Unit, Facility, Person):
        assert not model.objects.filter(grid_path=old.path).exists(), model
    address = Address.objects.get(pk=north_home.address.pk)
    assert (address.code, address.community_id) == (north_home.address.code, north_home.address.community_id)
    # The community still sees its residents; the new grid's worker sees theirs.
    assert scope_for(reg.dispatcher).covers(Person.objects.get(pk=north_home.person.pk).grid_path)
    entry = AuditEntry.objects.get(action="registry.relocate")
    assert entry.details["change"] == "split" and entry.details["unplaced"] == 0
    moved = entry.details["moved"]
    # The inside side's own rows (at 113.61, 22.95) and the two homes, the unit and the facility.
    assert moved["addresses"] == Address.objects.filter(grid__in=[south, north]).count() >= 2
    assert moved["units"] == Unit.objects.filter(grid__in=[south, north]).count() >= 1
    assert moved["facilities"] == Facility.objects.filter(grid__in=[south, north]).count() >= 1
    assert moved["persons"] == Person.objects.filter(grid__in=[south, north]).count() >= 2


def test_a_redrawn_border_moves_only_the_rows_on_the_other_side(reg: Registry) -> None:
    west, east = reg.grids["441900003001001"], reg.grids["441900003001002"]  # border at 113.65
    moving = _home(reg, "界河路", 113.64, 22.93)
    staying = _home(reg, "西街", 113.61, 22.93)
    before = AuditEntry.objects.count()
    grid_redraw(
        actor=reg.superuser,
        geometries={west.pk: square(113.6, 22.9, 113.63, 23.0), east.pk: square(113.63, 22.9, 113.7, 23.0)},
        origin=ORIGIN,
    )
    assert _grids_of(moving) == {(east.pk, east.path)}
    assert _grids_of(staying) == {(west.pk, west.path)}
    entry = AuditEntry.objects.get(action="registry.relocate")
    assert entry.details["moved"] == {
        "addresses": 1,
        "buildings": 1,
        "rooms": 1,
        "tenancies": Tenancy.objects.filter(room=moving.room).count(),
        "persons": 1,
    }
    assert AuditEntry.objects.count() == before + 2  # the redraw and what it moved
    # The grid worker of the west grid no longer reaches the resident who now lives in the east.
    assert not scope_for(reg.worker).covers(Person.objects.get(pk=moving.person.pk).grid_path)


def test_units_of_a_retired_enterprise_grid_take_the_one_over_their_point(reg: Registry) -> None:
    enterprise = reg.grids["ENT-DC-01"]  # 113.6–113.7 over the whole town
    west_unit = services.unit_create(
        actor=reg.superuser, name="西厂", lon=113.62, lat=22.95, credit_code=credit_code(911), origin=ORIGIN
    )
    east_unit = services.unit_create(
        actor=reg.superuser, name="东厂", lon=113.68, lat=22.95, credit_code=credit_code(912), origin=ORIGIN
    )
    assert {Unit.objects.get(pk=u.pk).enterprise_grid_id for u in (west_unit, east_unit)} == {enterprise.pk}
    west, east = grid_split(
        actor=reg.superuser,
        grid_id=enterprise.pk,
        parts=[
            NewGrid("ENT-DC-02", "东城西企业网格", square(113.6, 22.9, 113.65, 23.0)),
            NewGrid("ENT-DC-03", "东城东企业网格", square(113.65, 22.9, 113.7, 23.0)),
        ],
        origin=ORIGIN,
    )
    assert Unit.objects.get(pk=west_unit.pk).enterprise_grid_path == west.path
    assert Unit.objects.get(pk=east_unit.pk).enterprise_grid_path == east.path
    assert not Unit.objects.filter(enterprise_grid=enterprise).exists()
    entry = AuditEntry.objects.get(action="registry.relocate")
    assert (
        entry.details["enterprise_relinked"] == Unit.objects.filter(enterprise_grid__in=[west, east]).count()
    )


def test_a_row_whose_point_lies_in_no_grid_now_keeps_its_grid(reg: Registry) -> None:
    grid = reg.grids["441900003001001"]
    stray = reg.inside.address
    Address.objects.filter(pk=stray.pk).update(lon=100.0, lat=30.0)  # as if the map had moved away
    result = relocate(grid_ids=[grid.pk])
    assert (result.unplaced, result.moved) == (1, {})
    assert Address.objects.get(pk=stray.pk).grid_path == grid.path


def test_rows_are_located_in_blocks(reg: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhiwang.registry import relocation

    monkeypatch.setattr(relocation, "READ_ROWS", 1)  # every row a block of its own
    west, east = reg.grids["441900003001001"], reg.grids["441900003001002"]
    homes = [_home(reg, f"界河{n}路", 113.64, 22.91 + n / 100) for n in range(3)]
    grid_redraw(
        actor=reg.superuser,
        geometries={west.pk: square(113.6, 22.9, 113.63, 23.0), east.pk: square(113.63, 22.9, 113.7, 23.0)},
        origin=ORIGIN,
    )
    assert all(_grids_of(home) == {(east.pk, east.path)} for home in homes)
    assert AuditEntry.objects.get(action="registry.relocate").details["moved"]["addresses"] == 3
