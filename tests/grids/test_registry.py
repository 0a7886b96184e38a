"""The grid registry through its services: import/export, validation, history, lookup."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import city_features, feature, square
from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.common.errors import PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids import locate
from zhiwang.grids.coords import gcj02_from_wgs84
from zhiwang.grids.importing import grid_import_geojson
from zhiwang.grids.models import GridChange, GridNode, GridShape
from zhiwang.grids.selectors import grid_export
from zhiwang.grids.services import NewGrid, grid_merge, grid_redraw, grid_split

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLI = Origin.cli()


def collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def snapshot() -> tuple[int, int, int, int]:
    return (
        GridNode.objects.count(),
        GridShape.objects.count(),
        GridChange.objects.count(),
        AuditEntry.objects.count(),
    )


def test_import_builds_the_tree_with_paths_areas_and_history(city: dict[str, GridNode]) -> None:
    assert len(city) == 15
    grid = city["441900003001001"]
    town = city["441900003"]
    assert grid.level == "grid" and town.level == "town" and city["441900"].level == "city"
    assert grid.parent == city["441900003001"]
    assert grid.path.startswith(town.path) and grid.depth == 3
    assert town.kind_label == "街道" and city["441900101"].kind_label == "镇"
    assert city["441900003001"].kind_label == "社区"
    village = GridNode(layer="admin", level="community", code="441900101201")
    assert village.kind_label == "村"
    assert GridNode(layer="admin", level="community", code="441900101501").kind_label == "村"
    assert GridNode(layer="admin", level="community", code="441900101401").kind_label == "社区"
    # 0.05° x 0.1° near 23°N is about 5.12 km x 11.07 km.
    assert grid.area_m2 == pytest.approx(5.124e3 * 11.07e3, rel=0.01)
    assert GridShape.objects.filter(node=grid, valid_to__isnull=True).count() == 1
    assert AuditEntry.objects.filter(action="grid.import").count() == 1


def test_export_then_import_round_trips(city: dict[str, GridNode], superuser: User) -> None:
    exported = grid_export(actor=superuser)
    assert len(exported["features"]) == 15
    # Into an empty registry: the same grids come back, and exporting again gives the same file.
    GridChange.objects.all().delete()
    GridShape.objects.all().delete()
    for node in GridNode.objects.order_by("-depth"):
        node.delete()
    result = grid_import_geojson(actor=superuser, data=exported, origin=CLI)
    assert len(result.created) == 15
    again = grid_export(actor=superuser)

    def strip(fc: dict[str, Any]) -> list[tuple[Any, ...]]:
        return sorted(
            (
                f["properties"]["code"],
                f["properties"]["name"],
                f["properties"]["parent_code"],
                str(f["geometry"]),
            )
            for f in fc["features"]
        )

    assert strip(again) == strip(exported)
    # Importing the same file once more changes nothing.
    result = grid_import_geojson(actor=superuser, data=again, origin=CLI)
    assert result.created == [] and result.updated == [] and len(result.unchanged) == 15


def test_invalid_polygon_is_refused_naming_the_feature(city: dict[str, GridNode], superuser: User) -> None:
    before = snapshot()
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[113.6, 22.9], [113.65, 23.0], [113.65, 22.9], [113.6, 23.0], [113.6, 22.9]]],
    }
    with pytest.raises(ValidationFailed) as refused:
        grid_import_geojson(
            actor=superuser, data=collection([feature("441900003001001", "第1网格", bowtie)]), origin=CLI
        )
    assert "441900003001001" in refused.value.message
    assert [p["kind"] for p in refused.value.details] == ["invalid"]
    assert snapshot() == before


def test_overlapping_siblings_are_refused_and_nothing_is_written(
    city: dict[str, GridNode], superuser: User
) -> None:
    before = snapshot()
    # Grid 001 of community 441900003001 grows east into grid 002.
    data = collection([feature("441900003001001", "第1网格", square(113.6, 22.9, 113.67, 23.0))])
    with pytest.raises(ValidationFailed) as refused:
        grid_import_geojson(actor=superuser, data=data, origin=CLI)
    kinds = {p["kind"] for p in refused.value.details}
    assert "overlap" in kinds
    overlap = next(p for p in refused.value.details if p["kind"] == "overlap")
    assert set(overlap["features"]) == {"441900003001001", "441900003001002"}
    assert snapshot() == before
    assert GridNode.objects.get(code="441900003001001").geometry == city["441900003001001"].geometry


def test_a_gap_between_siblings_is_refused(superuser: User) -> None:
    features = [f for f in city_features() if f["properties"]["code"] != "441900101002002"]
    with pytest.raises(ValidationFailed) as refused:
        grid_import_geojson(actor=superuser, data=collection(features), origin=CLI)
    gap = next(p for p in refused.value.details if p["kind"] == "gap")
    assert "441900101002" in gap["features"]
    assert GridNode.objects.count() == 0


def test_bad_codes_and_missing_parents_are_named(superuser: User, city: dict[str, GridNode]) -> None:
    data = collection(
        [
            feature("4419000030010", "bad length", square(113.6, 22.9, 113.61, 22.91)),
            feature("441900003009001", "orphan", square(113.6, 22.9, 113.61, 22.91)),
            feature("441900300", "bad township", square(113.6, 22.9, 113.61, 22.91)),
        ]
    )
    with pytest.raises(ValidationFailed) as refused:
        grid_import_geojson(actor=superuser, data=data, origin=CLI)
    messages = " ".join(p["message"] for p in refused.value.details)
    assert "4419000030010" in messages and "441900300" in messages
    with pytest.raises(ValidationFailed) as refused:
        grid_import_geojson(actor=superuser, data=collection([data["features"][1]]), origin=CLI)
    assert "441900003009" in refused.value.details[0]["message"]


def test_not_geojson_is_refused(superuser: User) -> None:
    for bad in (
        {},
        [],
        {"type": "FeatureCollection", "features": []},
        {"type": "FeatureCollection", "features": [{"type": "Feature"}]},
    ):
        with pytest.raises(ValidationFailed):
            grid_import_geojson(actor=superuser, data=bad, origin=CLI)


def test_import_needs_an_administrator_of_the_parent(city: dict[str, GridNode], make_user: Any) -> None:
    commander = make_user("town_commander", grid=city["441900003"])
    data = collection([feature("441900003001001", "改名网格", square(113.6, 22.9, 113.65, 23.0))])
    with pytest.raises(PermissionDenied):
        grid_import_geojson(actor=commander, data=data, origin=CLI)
    admin_elsewhere = make_user("administrator", grid=city["441900101"])
    with pytest.raises(PermissionDenied):
        grid_import_geojson(actor=admin_elsewhere, data=data, origin=CLI)
    admin_here = make_user("administrator", grid=city["441900003"])
    result = grid_import_geojson(actor=admin_here, data=data, origin=CLI)
    assert result.updated == ["441900003001001"]
    assert GridNode.objects.get(code="441900003001001", valid_to__isnull=True).name == "改名网格"


def test_split_keeps_history_and_answers_which_grid_then(city: dict[str, GridNode], superuser: User) -> None:
    old = city["441900003001001"]  # 113.60–113.65, 22.9–23.0
    at = datetime(2024, 1, 1, tzinfo=SHANGHAI)
    parts = [
        NewGrid("441900003001003", "南片", square(113.6, 22.9, 113.65, 22.95)),
        NewGrid("441900003001004", "北片", square(113.6, 22.95, 113.65, 23.0)),
    ]
    created = grid_split(
        actor=superuser, grid_id=old.pk, parts=parts, origin=CLI, effective_at=at, reason="人口增长"
    )
    old.refresh_from_db()
    assert old.valid_to == at
    assert [n.code for n in created] == ["441900003001003", "441900003001004"]
    change = GridChange.objects.get(kind="split")
    assert list(change.sources.all()) == [old] and set(change.results.all()) == set(created)
    point = (113.62, 22.97)
    assert locate.locate(*point).grid_id == created[1].pk
    assert locate.locate(*point, at=at - timedelta(days=365)).grid_id == old.pk
    assert AuditEntry.objects.filter(action="grid.split", details__reason="人口增长").exists()


def test_split_parts_must_tile_the_grid(city: dict[str, GridNode], superuser: User) -> None:
    old = city["441900003001001"]
    before = snapshot()
    parts = [
        NewGrid("441900003001003", "南片", square(113.6, 22.9, 113.65, 22.95)),
        NewGrid("441900003001004", "北片", square(113.6, 22.96, 113.65, 23.0)),
    ]
    with pytest.raises(ValidationFailed) as refused:
        grid_split(actor=superuser, grid_id=old.pk, parts=parts, origin=CLI)
    assert any(p["kind"] == "gap" for p in refused.value.details)
    assert snapshot() == before


def test_merge_and_redraw(city: dict[str, GridNode], superuser: User) -> None:
    a, b = city["441900101001001"], city["441900101001002"]
    merged = grid_merge(
        actor=superuser, grid_ids=[a.pk, b.pk], code="441900101001003", name="合并网格", origin=CLI
    )
    assert merged.area_m2 == pytest.approx(a.area_m2 + b.area_m2, rel=1e-6)
    assert GridNode.objects.filter(pk__in=[a.pk, b.pk], valid_to__isnull=False).count() == 2
    # Move the border between the two grids of the neighbouring community.
    c, d = city["441900101002001"], city["441900101002002"]
    grid_redraw(
        actor=superuser,
        geometries={c.pk: square(113.7, 23.0, 113.76, 23.1), d.pk: square(113.76, 23.0, 113.8, 23.1)},
        origin=CLI,
    )
    c.refresh_from_db()
    assert c.valid_to is None and c.max_lon == pytest.approx(113.76)
    assert GridShape.objects.filter(node=c).count() == 2
    assert locate.locate(113.755, 23.05).grid_id == c.pk
    # A redraw that leaves a gap is refused.
    with pytest.raises(ValidationFailed):
        grid_redraw(actor=superuser, geometries={c.pk: square(113.7, 23.0, 113.75, 23.1)}, origin=CLI)


def test_merge_refuses_non_siblings(city: dict[str, GridNode], superuser: User) -> None:
    with pytest.raises(ValidationFailed):
        grid_merge(
            actor=superuser,
            grid_ids=[city["441900003001001"].pk, city["441900101001001"].pk],
            code="441900003001009",
            name="x",
            origin=CLI,
        )


def test_locate_converts_phone_coordinates_and_finds_overlays(
    city: dict[str, GridNode], superuser: User
) -> None:
    fire = collection(
        [
            feature(
                "FIRE-01",
                "虎门消防一格",
                square(113.7, 22.9, 113.8, 23.0),
                layer="fire",
                parent_code="441900101",
            )
        ]
    )
    grid_import_geojson(actor=superuser, data=fire, origin=CLI)
    wgs = (113.725, 22.95)
    gcj = gcj02_from_wgs84(*wgs)
    found = locate.locate(gcj[0], gcj[1], "gcj02")
    assert found.source_system == "gcj02" and found.source_lon == gcj[0]
    assert found.lon == pytest.approx(wgs[0], abs=1e-7) and found.lat == pytest.approx(wgs[1], abs=1e-7)
    assert found.grid_id == GridNode.objects.get(code="441900101001001").pk
    assert found.overlay_ids == (GridNode.objects.get(code="FIRE-01").pk,)
    # On the border of grids 001 and 002 the smaller code wins.
    first = GridNode.objects.get(code="441900101001001")
    assert first.max_lon == GridNode.objects.get(code="441900101001002").min_lon
    assert locate.locate(first.max_lon, 22.95).grid_id == first.pk
    assert locate.locate(100.0, 30.0).grid_id is None
    with pytest.raises(ValidationFailed):
        locate.locate(113.7, 22.9, "baidu")
