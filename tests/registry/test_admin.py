"""The registry's admin pages: read-only look-ups that never show a sealed column."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from tests.registry.conftest import Registry
from zhiwang.accounts.models import User
from zhiwang.registry.models import Building, Unit


def test_admin_lists_and_shows_places_units_and_facilities_read_only(
    reg: Registry, api_client: Callable[[User | None], Client]
) -> None:
    client = api_client(reg.superuser)
    side = reg.inside
    pages = {
        "address": side.address,
        "building": side.building,
        "room": side.room,
        "unit": side.unit,
        "facility": side.facility,
        "importbatch": side.batch,
    }
    for name, obj in pages.items():
        listing = client.get(f"/admin/registry/{name}/")
        assert listing.status_code == 200, name
        detail = client.get(f"/admin/registry/{name}/{obj.pk}/change/")
        assert detail.status_code == 200, name
        html = detail.content.decode()
        assert 'name="_save"' not in html, name  # nothing to save: the page is read-only
        assert "_enc" not in html and "_hash" not in html, name
    unit = Unit.objects.get(pk=side.unit.pk)
    html = client.get(f"/admin/registry/unit/{unit.pk}/change/").content.decode()
    assert unit.contact_phone_masked in html and unit.contact_phone_hash not in html
    assert unit.contact_phone_enc not in html
    assert client.get("/admin/registry/address/add/").status_code == 403
    before = Building.objects.get(pk=side.building.pk).name
    response = client.post(f"/admin/registry/building/{side.building.pk}/change/", {"name": "改名"})
    assert response.status_code == 403
    assert Building.objects.get(pk=side.building.pk).name == before
    response = client.post(f"/admin/registry/building/{side.building.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403 and Building.objects.filter(pk=side.building.pk).exists()
    # Persons and declarations are read on the console (recorded, numbers masked), not here.
    assert client.get("/admin/registry/person/").status_code == 404
    assert client.get("/admin/registry/declaration/").status_code == 404
