"""The console map's data: grids coloured by their open and overdue cases (one grouped query per
level, within the reader's scope), case pins and heat points, geometry simplified per zoom and
cached per grid-map version."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import shapely
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.cases import conftest as case_fixtures
from tests.cases.conftest import ORIGIN, Place
from tests.conftest import city_features
from tests.dashboard.conftest import POINTS, is_open, is_overdue
from zhiwang.accounts.models import Role, User
from zhiwang.cases import intake, services
from zhiwang.cases.models import Case
from zhiwang.grids import geojson, views
from zhiwang.grids.importing import grid_import_geojson

URL = "/console/grids/{}/children.geojson"
CASES = "/console/grids/{}/cases.json"
GEOMETRY = '"grids_gridnode"."geometry"'
categories = case_fixtures.categories
place = case_fixtures.place


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def report(place: Place, grid: str, *, overdue: bool = False, reject: bool = False) -> Case:
    """An open case in `grid`; dispatched a month ago (so past its deadline) when `overdue`."""
    place.clock.now = timezone.now() - timedelta(days=40)
    lon, lat = POINTS[grid]
    case = intake.case_report(
        actor=place.worker,
        channel="grid_worker",
        lon=lon,
        lat=lat,
        description="垃圾",
        category_code="E0101",
        origin=ORIGIN,
    ).case
    if reject:
        return services.case_reject(actor=place.city_commander, case_id=case.pk, reason="无效", origin=ORIGIN)
    if overdue:
        services.case_accept(actor=place.city_commander, case_id=case.pk, origin=ORIGIN)
        department = place.urban if grid.startswith("441900003") else place.city_urban
        case = services.case_dispatch(
            actor=place.city_commander, case_id=case.pk, department_id=department.pk, origin=ORIGIN
        )
    return case


def build_cases(place: Place) -> None:
    for grid, open_count, overdue_count in (
        ("441900003001001", 3, 2),
        ("441900003001002", 1, 0),
        ("441900003002001", 0, 1),
        ("441900101001001", 2, 0),
    ):
        for _ in range(open_count):
            report(place, grid)
        for _ in range(overdue_count):
            report(place, grid, overdue=True)
    report(place, "441900101002002", reject=True)  # closed: counts nowhere


def get(client: Client, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def expected_counts(path: str, now: datetime) -> dict[str, int]:
    cases = [c for c in Case.objects.all() if c.grid_path.startswith(path)]
    return {
        "open": sum(1 for c in cases if is_open(c)),
        "overdue": sum(1 for c in cases if is_overdue(c, now)),
    }


def test_each_child_carries_its_open_and_overdue_cases(
    place: Place, api_client: Callable[[User | None], Client]
) -> None:
    build_cases(place)
    city = place.city["441900"]
    data = get(api_client(place.city_commander), URL.format(city.pk), zoom=10)
    now = timezone.now()
    by_code = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    assert set(by_code) == {"441900003", "441900101"}
    for code, props in by_code.items():
        assert {"open": props["open"], "overdue": props["overdue"]} == expected_counts(
            place.city[code].path, now
        )
    assert by_code["441900003"]["overdue"] == 3 and by_code["441900101"]["open"] == 2
    assert data["cases"] == expected_counts(city.path, now)
    assert data["node"]["code"] == "441900" and data["breadcrumbs"] == [{"id": city.pk, "name": "东莞市"}]
    assert [level["value"] for level in data["levels"]] == ["town", "community", "grid"]


def test_every_base_grid_below_the_city_at_once(
    place: Place, api_client: Callable[[User | None], Client]
) -> None:
    build_cases(place)
    city = place.city["441900"]
    data = get(api_client(place.city_commander), URL.format(city.pk), zoom=10, level="grid")
    now = timezone.now()
    assert data["level"] == "grid"
    assert len(data["features"]) == 8
    for feature in data["features"]:
        props = feature["properties"]
        assert props["level"] == "grid"
        expected = expected_counts(place.city[props["code"]].path, now)
        assert {"open": props["open"], "overdue": props["overdue"]} == expected
    assert sum(f["properties"]["open"] for f in data["features"]) == data["cases"]["open"] == 9


def test_the_counts_take_one_grouped_query_however_many_cases(
    place: Place, api_client: Callable[[User | None], Client], django_assert_max_num_queries: Any
) -> None:
    client = api_client(place.city_commander)
    city = place.city["441900"]
    report(place, "441900003001001")
    get(client, URL.format(city.pk), zoom=10, level="community")  # fills the geometry cache
    with CaptureQueriesContext(connection) as few:
        get(client, URL.format(city.pk), zoom=10, level="community")
    build_cases(place)
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as many:
        data = get(client, URL.format(city.pk), zoom=10, level="community")
    assert len(many) == len(few)
    grouped = [q["sql"] for q in many.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 1 and "cases_case" in grouped[0]
    assert (
        sum(f["properties"]["open"] for f in data["features"])
        == Case.objects.exclude(status="rejected").count()
    )


def test_the_counts_stay_within_the_readers_scope(
    place: Place, make_user: Callable[..., User], api_client: Callable[[User | None], Client]
) -> None:
    build_cases(place)
    town = place.city["441900003"]
    commander = api_client(place.town)
    assert commander.get(URL.format(place.city["441900"].pk)).status_code == 404
    assert commander.get(CASES.format(place.city["441900101"].pk)).status_code == 404
    data = get(commander, URL.format(town.pk), zoom=12)
    assert data["cases"] == expected_counts(town.path, timezone.now())
    pins = get(commander, CASES.format(town.pk))["pins"]
    assert pins and all(Case.objects.get(pk=p["id"]).grid_path.startswith(town.path) for p in pins)
    # A grid worker sees the cases of their grid and the ones they reported, nothing more.
    worker = make_user(Role.GRID_WORKER, grid=place.city["441900003001002"])
    community = place.city["441900003001"]
    assert api_client(worker).get(URL.format(community.pk)).status_code == 404
    data = get(api_client(worker), URL.format(place.city["441900003001002"].pk))
    assert data["features"] == [] and data["cases"] == {"open": 1, "overdue": 0}


def test_pins_are_the_latest_open_cases_capped_with_heat_points_for_all(
    place: Place, api_client: Callable[[User | None], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    build_cases(place)
    monkeypatch.setattr(views, "PIN_LIMIT", 4)
    data = get(api_client(place.city_commander), CASES.format(place.city["441900"].pk))
    open_cases = Case.objects.exclude(status="rejected").order_by("-reported_at", "-pk")
    assert [p["id"] for p in data["pins"]] == [c.pk for c in open_cases[:4]]
    assert data["capped"] is True and data["limit"] == 4
    assert len(data["heat"]) == open_cases.count() == 9
    assert sum(p["overdue"] for p in data["pins"]) == sum(
        is_overdue(c, timezone.now()) for c in open_cases[:4]
    )
    monkeypatch.setattr(views, "PIN_LIMIT", 50)
    assert get(api_client(place.city_commander), CASES.format(place.city["441900"].pk))["capped"] is False


def test_bad_parameters_get_a_clear_error(place: Place, api_client: Callable[[User | None], Client]) -> None:
    client = api_client(place.city_commander)
    city = place.city["441900"]
    for params, code in (
        ({"zoom": "near"}, "bad_zoom"),
        ({"level": "city"}, "bad_level"),
        ({"level": "x"}, "bad_level"),
    ):
        response = client.get(URL.format(city.pk), params)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == code
    assert client.get(URL.format(999_999)).status_code == 404
    assert get(client, URL.format(city.pk), zoom=99)["zoom"] == geojson.MAX_DISPLAY_ZOOM
    assert Client().get(URL.format(city.pk)).status_code == 302  # anonymous: to the sign-in page


def test_geometry_is_cached_per_zoom_and_renewed_when_the_grid_map_changes(
    city: dict[str, Any], superuser: User, api_client: Callable[[User | None], Client]
) -> None:
    client = api_client(superuser)
    town = city["441900003"]
    with CaptureQueriesContext(connection) as cold:
        first = get(client, URL.format(town.pk), zoom=12)
    with CaptureQueriesContext(connection) as warm:
        assert get(client, URL.format(town.pk), zoom=12) == first
    assert len(warm) < len(cold)
    assert not any(GEOMETRY in q["sql"] for q in warm.captured_queries)
    assert any(GEOMETRY in q["sql"] for q in client_queries(client, URL.format(town.pk), zoom=14))
    # A rename is a change of the grid map: the next answer has the new name.
    features = [f for f in city_features() if f["properties"]["code"] == "441900003001"]
    features[0]["properties"]["name"] = "新名社区"
    grid_import_geojson(
        actor=superuser,
        data={"type": "FeatureCollection", "features": features},
        origin=ORIGIN,
        effective_at=timezone.now(),
    )
    names = [f["properties"]["name"] for f in get(client, URL.format(town.pk), zoom=12)["features"]]
    assert "新名社区" in names


def client_queries(client: Client, url: str, **params: Any) -> list[dict[str, str]]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return queries.captured_queries


def test_the_map_page_passes_the_tile_source_and_works_without_one(
    city: dict[str, Any], superuser: User, api_client: Callable[[User | None], Client], settings: Any
) -> None:
    client = api_client(superuser)
    settings.ZHIWANG_TILE_URL = "https://tiles.example.cn/{z}/{x}/{y}.png"
    settings.ZHIWANG_TILE_ATTRIBUTION = "© 示例"
    response = client.get("/console/")
    config = response.context["map_config"]
    assert (config["tileUrl"], config["tileAttribution"]) == (settings.ZHIWANG_TILE_URL, "© 示例")
    assert 'id="map-config"' in response.content.decode()
    assert "vendor/leaflet-heat/leaflet-heat.js" in response.content.decode()
    settings.ZHIWANG_TILE_URL = ""
    response = client.get("/console/")
    assert response.status_code == 200 and response.context["map_config"]["tileUrl"] == ""
    roots = response.context["roots_data"]
    assert roots[0]["bbox"] == [113.6, 22.9, 113.8, 23.1]


# --- geometry for display ---------------------------------------------------------------------


def wiggly_polygon(points: int = 2000) -> dict[str, Any]:
    """A roughly round polygon with a bumpy border: thousands of vertices, like a real boundary."""
    ring = []
    for i in range(points):
        angle = 2 * math.pi * i / points
        radius = 0.05 * (1 + 0.01 * math.sin(40 * angle) + 0.002 * math.sin(400 * angle))
        ring.append([113.7 + radius * math.cos(angle), 23.0 + radius * math.sin(angle)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def test_the_tolerance_is_half_a_pixel_at_the_zoom() -> None:
    assert geojson.display_tolerance(10) == pytest.approx(360 / 256 / 1024 / 2)
    tolerances = [geojson.display_tolerance(z) for z in range(0, 25)]
    assert tolerances == sorted(tolerances, reverse=True)
    assert geojson.display_tolerance(0) == geojson.display_tolerance(geojson.MIN_DISPLAY_ZOOM)
    assert geojson.display_tolerance(25) == geojson.display_tolerance(geojson.MAX_DISPLAY_ZOOM)


def test_display_geometry_is_simplified_valid_and_rounded() -> None:
    text = json.dumps(wiggly_polygon())
    original = shapely.from_geojson(text)
    counts = []
    for zoom in (8, 11, 14, 17):
        tolerance = geojson.display_tolerance(zoom)
        (shown,) = geojson.display_geometries([text], tolerance)
        shape = shapely.geometry.shape(shown)
        assert shape.is_valid and shape.geom_type == "Polygon"
        assert shapely.hausdorff_distance(shape, original) <= tolerance * 1.5
        decimals = geojson.display_decimals(tolerance)
        assert all(round(x, decimals) == x and round(y, decimals) == y for x, y in shown["coordinates"][0])
        counts.append(len(shown["coordinates"][0]))
    assert counts == sorted(counts) and counts[0] < 100 < counts[-1] <= 2001
    assert geojson.display_geometries([], 0.001) == []
