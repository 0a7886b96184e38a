"""The registry's part of the scope matrix (tests/test_scope_matrix.py): its endpoints, the objects
they act on (both sides of the city), and what each role may expect of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.registry.world import SIDES, Side, build_side, enterprise_grids, id_number
from zhiwang.accounts.models import Role, User

Call = Callable[[Any, bool], tuple[str, dict[str, Any] | None]]
R = "/api/v1/registry"
COLLECTORS = {Role.GRID_WORKER, Role.COMMUNITY_DISPATCHER, Role.ADMINISTRATOR}
WORKFORCE_READERS = {Role.TOWN_COMMANDER, Role.CITY_COMMANDER, Role.LEADER, Role.ADMINISTRATOR}
ROLES_FOR = {
    "registry_collect": COLLECTORS,
    "registry_erase": {Role.COMMUNITY_DISPATCHER, Role.ADMINISTRATOR},
    "registry_reveal": {Role.GRID_WORKER, Role.COMMUNITY_DISPATCHER},
}


def registry_world(targets: dict[str, User]) -> dict[bool, Side]:
    superuser = User.objects.get(username="root")
    enterprise_grids(superuser)
    return {
        inside: build_side(superuser, inside, targets[str(inside)], 1 if inside else 2)
        for inside in (True, False)
    }


def _side(w: Any, i: bool) -> Side:
    """The registry objects of one side of the matrix's world, built the first time they are asked for."""
    if w.registry is None:
        w.registry = registry_world(w.targets)
    return w.registry[i]  # type: ignore[no-any-return]


def _x(i: bool) -> float:
    return float(SIDES[i]["x"]) + 0.01  # type: ignore[arg-type]


def _import_body(w: Any, i: bool) -> dict[str, Any]:
    content = f"房屋编码,姓名,身份证号\n{_side(w, i).room.code},导入居民,{id_number()}\n".encode()
    return {
        "__multipart__": True,
        "file": SimpleUploadedFile("residents.csv", content, content_type="text/csv"),
    }


def _person(
    action: str, kind: str, body: dict[str, Any] | None, method: str = "POST"
) -> tuple[str, str, str, Call]:
    return (
        method,
        f"registry/persons/{{int:person_id}}{'/' + action if action else ''}",
        kind,
        lambda w, i: (f"{R}/persons/{_side(w, i).person.pk}{'/' + action if action else ''}", body),
    )


REGISTRY_ENDPOINTS: list[tuple[str, str, str, Call]] = [
    ("GET", "registry/addresses", "list", lambda w, i: (f"{R}/addresses", None)),
    (
        "POST",
        "registry/addresses",
        "registry_collect",
        lambda w, i: (
            f"{R}/addresses",
            {"road": SIDES[i]["road"], "door_number": "99号", "lon": _x(i), "lat": 22.95},
        ),
    ),
    (
        "GET",
        "registry/addresses/{int:address_id}",
        "read",
        lambda w, i: (f"{R}/addresses/{_side(w, i).address.pk}", None),
    ),
    ("GET", "registry/buildings", "list", lambda w, i: (f"{R}/buildings", None)),
    (
        "POST",
        "registry/buildings",
        "registry_collect",
        lambda w, i: (f"{R}/buildings", {"address_id": _side(w, i).address.pk, "name": "9栋"}),
    ),
    (
        "GET",
        "registry/buildings/{int:building_id}",
        "read",
        lambda w, i: (f"{R}/buildings/{_side(w, i).building.pk}", None),
    ),
    ("GET", "registry/rooms", "list", lambda w, i: (f"{R}/rooms", None)),
    (
        "POST",
        "registry/rooms",
        "registry_collect",
        lambda w, i: (f"{R}/rooms", {"building_id": _side(w, i).building.pk, "number": "902"}),
    ),
    ("GET", "registry/rooms/{int:room_id}", "read", lambda w, i: (f"{R}/rooms/{_side(w, i).room.pk}", None)),
    ("GET", "registry/persons", "registry_person_list", lambda w, i: (f"{R}/persons", None)),
    (
        "POST",
        "registry/persons",
        "registry_collect",
        lambda w, i: (
            f"{R}/persons",
            {"room_id": _side(w, i).room.pk, "name": "新居民", "id_number": id_number()},
        ),
    ),
    _person("", "registry_person_read", None, "GET"),
    _person("", "registry_collect", {"employment_status": "employed"}, "PATCH"),
    _person("move", "registry_collect", {"room_id": None}),
    _person("reveal", "registry_reveal", {"reason": "核对证件"}),
    _person("anonymise", "registry_erase", {"reason": "本人申请删除"}),
    (
        "GET",
        "registry/communities/{int:grid_id}/residents",
        "registry_person_read",
        lambda w, i: (f"{R}/communities/{_side(w, i).room.building.grid_id}/residents", None),
    ),
    (
        "GET",
        "registry/enterprise-grids/{int:grid_id}/workforce",
        "registry_workforce",
        lambda w, i: (f"{R}/enterprise-grids/{_side(w, i).unit.enterprise_grid_id}/workforce", None),
    ),
    ("GET", "registry/units", "list", lambda w, i: (f"{R}/units", None)),
    (
        "POST",
        "registry/units",
        "registry_collect",
        lambda w, i: (f"{R}/units", {"name": "新档口", "kind": "small_stall", "lon": _x(i), "lat": 22.95}),
    ),
    ("GET", "registry/units/{int:unit_id}", "read", lambda w, i: (f"{R}/units/{_side(w, i).unit.pk}", None)),
    (
        "POST",
        "registry/employment",
        "registry_collect",
        lambda w, i: (
            f"{R}/employment",
            {"unit_id": _side(w, i).unit.pk, "person_id": _side(w, i).person.pk, "position": "工人"},
        ),
    ),
    (
        "POST",
        "registry/employment/{int:employment_id}/end",
        "registry_collect",
        lambda w, i: (f"{R}/employment/{_side(w, i).employment.pk}/end", {}),
    ),
    ("GET", "registry/facilities", "list", lambda w, i: (f"{R}/facilities", None)),
    (
        "POST",
        "registry/facilities",
        "registry_collect",
        lambda w, i: (
            f"{R}/facilities",
            {"code": f"4419000203{900 + int(i):06d}", "name": "井盖", "lon": _x(i), "lat": 22.95},
        ),
    ),
    (
        "GET",
        "registry/facilities/{int:facility_id}",
        "read",
        lambda w, i: (f"{R}/facilities/{_side(w, i).facility.pk}", None),
    ),
    ("POST", "registry/imports", "registry_import", lambda w, i: (f"{R}/imports", _import_body(w, i))),
    (
        "GET",
        "registry/imports/{int:batch_id}",
        "owner_only",
        lambda w, i: (f"{R}/imports/{_side(w, i).batch.pk}", None),
    ),
    (
        "GET",
        "registry/imports/{int:batch_id}/report",
        "owner_only",
        lambda w, i: (f"{R}/imports/{_side(w, i).batch.pk}/report", None),
    ),
    (
        "POST",
        "registry/import-jobs",
        "registry_import_job",
        lambda w, i: (f"{R}/import-jobs", _import_body(w, i)),
    ),
    (
        "GET",
        "registry/import-jobs/{int:job_id}",
        "owner_only",
        lambda w, i: (f"{R}/import-jobs/{_side(w, i).job.pk}", None),
    ),
    ("GET", "registry/export", "registry_person_list", lambda w, i: (f"{R}/export?kind=persons", None)),
]


def _built(call: Call) -> Call:
    """Every registry endpoint runs against a world that holds registry objects on both sides."""

    def run(w: Any, i: bool) -> tuple[str, dict[str, Any] | None]:
        _side(w, i)
        return call(w, i)

    return run


REGISTRY_ENDPOINTS = [(method, route, kind, _built(call)) for method, route, kind, call in REGISTRY_ENDPOINTS]


def registry_expected(kind: str, role: str, inside: bool) -> set[int]:
    """What `role` gets from a registry endpoint of `kind` (the city commander counts as inside)."""
    ok = {200, 201}
    reader = role != Role.DEPARTMENT_HANDLER
    if kind == "registry_person_list":
        return ok if reader else {403}
    if kind == "registry_person_read":
        return {403} if not reader else ok if inside else {404}
    if kind == "registry_workforce":
        return {403} if not reader else ok if inside and role in WORKFORCE_READERS else {404}
    if kind == "registry_import":
        return {403} if role not in COLLECTORS else ok if inside else {400}
    if kind == "registry_import_job":  # queued for anyone who collects; rows are checked by the worker
        return {403} if role not in COLLECTORS else {202}
    if inside:
        return ok if role in ROLES_FOR[kind] else {403}
    return {403, 404}
