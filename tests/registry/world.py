"""Registry objects on both sides of the test city, built through the real services.

Inside: town 441900003 (东城街道), base grid 441900003001001, enterprise grid ENT-DC-01 laid over the
town. Outside: town 441900101 (虎门镇), base grid 441900101001001, enterprise grid ENT-HM-01.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.conftest import feature, square
from zhiwang.accounts.models import User
from zhiwang.common.origin import Origin
from zhiwang.grids import locate
from zhiwang.grids.importing import grid_import_geojson
from zhiwang.grids.models import GridNode
from zhiwang.registry import services
from zhiwang.registry.models import (
    Address,
    Building,
    Employment,
    Facility,
    ImportBatch,
    ImportJob,
    Person,
    Room,
    Unit,
)
from zhiwang.registry.validation import credit_check_char, id_check_char

ORIGIN = Origin(channel="api", ip="127.0.0.1")
SIDES = {
    True: {"town": "441900003", "x": 113.6, "road": "东城大道"},
    False: {"town": "441900101", "x": 113.7, "road": "虎门大道"},
}
_sequence = itertools.count(1)


def id_number(born: str = "19900307", region: str = "441900", seq: int | None = None) -> str:
    """A valid GB 11643 ID number (a fresh one each call unless `seq` is given)."""
    first17 = f"{region}{born}{(seq if seq is not None else next(_sequence)) % 1000:03d}"
    return first17 + id_check_char(first17)


def credit_code(seq: int) -> str:
    first17 = f"91441900MA{seq:07d}"
    return first17 + credit_check_char(first17)


def enterprise_grids(superuser: User) -> dict[str, GridNode]:
    data = {
        "type": "FeatureCollection",
        "features": [
            feature(
                "ENT-DC-01",
                "东城企业网格",
                square(113.6, 22.9, 113.7, 23.0),
                layer="enterprise",
                parent_code="441900003",
            ),
            feature(
                "ENT-HM-01",
                "虎门企业网格",
                square(113.7, 22.9, 113.8, 23.0),
                layer="enterprise",
                parent_code="441900101",
            ),
        ],
    }
    grid_import_geojson(
        actor=superuser,
        data=data,
        origin=ORIGIN,
        effective_at=datetime(2020, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    locate.clear_cache()
    return {n.code: n for n in GridNode.objects.filter(valid_to__isnull=True)}


@dataclass
class Side:
    address: Address
    building: Building
    room: Room
    person: Person
    id_number: str
    unit: Unit
    employment: Employment
    facility: Facility
    batch: ImportBatch
    job: ImportJob


def build_side(actor: User, inside: bool, owner: User, seq: int) -> Side:
    side = SIDES[inside]
    x = float(side["x"]) + 0.01  # type: ignore[arg-type]
    address = services.address_create(
        actor=actor, road=str(side["road"]), door_number=f"{seq}号", lon=x, lat=22.95, origin=ORIGIN
    )
    building = services.building_create(
        actor=actor, address_id=address.pk, name="1栋", floors=6, is_rental=True, origin=ORIGIN
    )
    room = services.room_create(actor=actor, building_id=building.pk, unit="1", number="301", origin=ORIGIN)
    number = id_number()
    person = services.person_create(
        actor=actor,
        room_id=room.pk,
        fields=services.PersonFields(
            name=f"{'东城' if inside else '虎门'}居民",
            id_number=number,
            phone=f"1380013{seq:04d}",
            tags=("key_youth",),
            health_status="chronic",
        ),
        origin=ORIGIN,
    )
    unit = services.unit_create(
        actor=actor,
        name=f"{'东城' if inside else '虎门'}电子厂",
        lon=x,
        lat=22.95,
        credit_code=credit_code(seq),
        contact_phone=f"1390013{seq:04d}",
        origin=ORIGIN,
    )
    employment = services.employment_create(
        actor=actor, unit_id=unit.pk, person_id=person.pk, origin=ORIGIN
    ).employment
    facility = services.facility_create(
        actor=actor, code=f"4419000203{seq:06d}", name="路灯", lon=x, lat=22.95, origin=ORIGIN
    )
    batch = ImportBatch.objects.create(actor=owner, kind="persons", status="refused", errors=[])
    job = ImportJob.objects.create(
        actor=owner, kind="persons", filename="residents.csv", batch=batch, status="done"
    )
    return Side(address, building, room, person, number, unit, employment, facility, batch, job)
