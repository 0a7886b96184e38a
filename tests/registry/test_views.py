"""The registry console: residents, a person's record and the audited reveal, a community's residents
and an enterprise grid's workforce, the declaration review queue, units and facilities; each within
the reader's scope, with ID and phone numbers masked."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

from django.test import Client
from django.urls import reverse

from tests.registry.conftest import Registry
from tests.registry.declarants import declared_id_number
from tests.registry.world import ORIGIN, id_number
from zhiwang.accounts.models import Department, Role, User
from zhiwang.audit.models import AuditEntry
from zhiwang.registry import crypto, declarations, services
from zhiwang.registry.forms import TAG_LABELS
from zhiwang.registry.models import (
    KEY_GROUP_TAGS,
    Declaration,
    DeclarationKind,
    DeclarationStatus,
    Person,
    PersonStatus,
    Room,
)
from zhiwang.registry.validation import mask_id_number

ClientFor = Callable[[User | None], Client]
RESIDENTS = reverse("registry:residents")
DECLARATIONS = reverse("registry:declarations")
UNITS = reverse("registry:units")
FACILITIES = reverse("registry:facilities")
HTMX = {"HX-Request": "true"}
KEYS = itertools.count(1)


def person_url(person: Person) -> str:
    return reverse("registry:person", args=[person.pk])


def reveal_url(person: Person) -> str:
    return reverse("registry:reveal", args=[person.pk])


def decide_url(declaration: Declaration, decision: str) -> str:
    return reverse("registry:decide", args=[declaration.pk, decision])


def listed_persons(response: Any) -> set[int]:
    return {row.person.pk for row in response.context["rows"]}


def resident(reg: Registry, room: Room, name: str, **fields: Any) -> Person:
    return services.person_create(
        actor=reg.superuser,
        room_id=room.pk,
        fields=services.PersonFields(name=name, id_number=id_number(born="19880808"), **fields),
        origin=ORIGIN,
    )


def declare(room: Room, person_name: str = "申报人", number: str = "") -> Declaration:
    fields = declarations.DeclarationFields(
        kind=DeclarationKind.RESIDENCE,
        room_code=room.code,
        declarant_name=person_name,
        declarant_phone="13912340001",
        person_name=person_name,
        id_number=number or declared_id_number(),
        inflow_reason="work",
        moved_in_on=date(2026, 3, 1),
    )
    return declarations.declaration_submit(
        fields=fields, idempotency_key=f"console-{next(KEYS)}", origin=ORIGIN
    ).declaration


def second_room(reg: Registry, inside: bool = True) -> Room:
    side = reg.inside if inside else reg.outside
    return services.room_create(
        actor=reg.superuser, building_id=side.building.pk, unit="1", number="302", origin=ORIGIN
    )


# --- access -----------------------------------------------------------------------------------


def all_pages(reg: Registry) -> list[str]:
    return [
        RESIDENTS,
        person_url(reg.inside.person),
        reverse("registry:community", args=[reg.grids["441900003001"].pk]),
        reverse("registry:workforce", args=[reg.grids["ENT-DC-01"].pk]),
        DECLARATIONS,
        UNITS,
        FACILITIES,
    ]


def test_anonymous_visitors_are_sent_to_sign_in(reg: Registry, client: Client) -> None:
    for url in all_pages(reg):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=/console/registry/")
    response = client.post(reveal_url(reg.inside.person), {"reason": "核对身份"})
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="registry.person.reveal").exists()


def test_an_account_without_a_staff_role_is_refused_everywhere(
    reg: Registry, console: ClientFor, make_user: Callable[..., User]
) -> None:
    client = console(make_user())
    for url in all_pages(reg):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Your account holds no role" in response.content.decode()
        assert reg.inside.id_number not in response.content.decode()
    assert client.post(reveal_url(reg.inside.person), {"reason": "核对身份"}).status_code == 403
    assert not AuditEntry.objects.filter(action="registry.person.reveal").exists()


def test_roles_that_read_no_residents_are_refused_the_resident_pages(
    reg: Registry, console: ClientFor, make_user: Callable[..., User]
) -> None:
    department = Department.objects.create(
        code="DC-URBAN", name="东城综合执法队", kind="urban", jurisdiction=reg.grids["441900003"]
    )
    handler = console(make_user(Role.DEPARTMENT_HANDLER, department=department))
    for url in (RESIDENTS, person_url(reg.inside.person), DECLARATIONS):
        assert handler.get(url).status_code == 403, url
    refused = handler.get(RESIDENTS).content.decode()
    assert "Your role does not read resident records." in refused
    # Units and facilities of the department's jurisdiction stay open to every staff role.
    units = handler.get(UNITS)
    assert units.status_code == 200
    assert [u.pk for u in units.context["page"].object_list] == [reg.inside.unit.pk]
    assert handler.get(FACILITIES).status_code == 200


# --- residents --------------------------------------------------------------------------------


def test_the_resident_list_shows_the_scope_with_masked_numbers(reg: Registry, console: ClientFor) -> None:
    response = console(reg.worker).get(RESIDENTS)
    assert response.status_code == 200
    assert listed_persons(response) == {reg.inside.person.pk}
    html = response.content.decode()
    assert mask_id_number(reg.inside.id_number) in html
    assert "138****0001" in html
    for whole in (reg.inside.id_number, reg.outside.id_number, "13800130001", "13800130002"):
        assert whole not in html
    assert "东城居民" in html and "虎门居民" not in html
    assert "Key youth" in html  # the residence's grid worker cares for its key groups
    assert "东城电子厂" in html  # the employer


def test_a_grid_worker_never_sees_another_grids_residents(
    reg: Registry, console: ClientFor, make_user: Callable[..., User]
) -> None:
    # A neighbour inside the same community, in grid 441900003001002 (not worker-a's).
    neighbour_building = services.building_create(
        actor=reg.superuser,
        address_id=services.address_create(
            actor=reg.superuser, road="东城大道", door_number="99号", lon=113.66, lat=22.95, origin=ORIGIN
        ).pk,
        name="2栋",
        origin=ORIGIN,
    )
    room = services.room_create(
        actor=reg.superuser, building_id=neighbour_building.pk, number="101", origin=ORIGIN
    )
    neighbour = resident(reg, room, "邻格居民", phone="13700000009")
    assert neighbour.grid_path != reg.inside.person.grid_path
    number = crypto.decrypt(neighbour.id_number_enc, "person.id_number")

    client = console(reg.worker)
    assert listed_persons(client.get(RESIDENTS)) == {reg.inside.person.pk}
    assert listed_persons(client.post(RESIDENTS, {"find-id_number": number})) == set()
    assert listed_persons(client.post(RESIDENTS, {"find-phone": "13700000009"})) == set()
    assert listed_persons(client.get(RESIDENTS, {"status": "any"})) == {reg.inside.person.pk}
    other_grid = client.get(RESIDENTS, {"within": str(neighbour.grid_id)})
    assert other_grid.context["rows"] == [] and other_grid.context["form"].errors
    for person in (neighbour, reg.outside.person):
        assert client.get(person_url(person)).status_code == 404
        assert client.post(reveal_url(person), {"reason": "核对身份"}).status_code == 404
    for code in ("441900003001", "441900003001002", "441900101001"):
        assert client.get(reverse("registry:community", args=[reg.grids[code].pk])).status_code == 404
    for code in ("ENT-DC-01", "ENT-HM-01"):
        assert client.get(reverse("registry:workforce", args=[reg.grids[code].pk])).status_code == 404
    assert not AuditEntry.objects.filter(action="registry.person.reveal").exists()
    # The community's dispatcher sees both grids.
    dispatcher = console(reg.dispatcher)
    assert listed_persons(dispatcher.get(RESIDENTS)) == {reg.inside.person.pk, neighbour.pk}
    narrowed = dispatcher.get(RESIDENTS, {"within": str(neighbour.grid_id)})
    assert listed_persons(narrowed) == {neighbour.pk}


def test_the_resident_filters(reg: Registry, console: ClientFor, make_user: Callable[..., User]) -> None:
    migrant = resident(
        reg, reg.inside.room, "外来务工", kind="migrant", inflow_reason="work", permit_type="registration"
    )
    alone = resident(reg, reg.inside.room, "独居老人", tags=("elderly_alone",), phone="13600000001")
    client = console(reg.dispatcher)
    everyone = {reg.inside.person.pk, migrant.pk, alone.pk}
    assert listed_persons(client.get(RESIDENTS)) == everyone
    assert listed_persons(client.get(RESIDENTS, {"kind": "migrant"})) == {migrant.pk}
    assert listed_persons(client.get(RESIDENTS, {"kind": "registered"})) == everyone - {migrant.pk}
    assert listed_persons(client.get(RESIDENTS, {"tag": "elderly_alone"})) == {alone.pk}
    assert listed_persons(client.get(RESIDENTS, {"tag": "key_youth"})) == {reg.inside.person.pk}
    by_number = client.post(RESIDENTS, {"find-id_number": reg.inside.id_number.lower()})
    assert listed_persons(by_number) == {reg.inside.person.pk}
    assert by_number["Cache-Control"] == "no-store"  # a search by number is posted and not kept
    assert listed_persons(client.post(RESIDENTS, {"find-phone": "136 0000 0001"})) == {alone.pk}
    nothing = client.post(RESIDENTS, {"find-phone": "13600000002"})
    assert listed_persons(nothing) == set()
    assert "No resident matches these filters." in nothing.content.decode()
    # A malformed ID number is refused on its field, and what was typed stays in it.
    bad = client.post(RESIDENTS, {"find-id_number": "44190019900307123"})
    assert bad.status_code == 200 and bad.context["rows"] == []
    html = bad.content.decode()
    assert "Enter the 18-character ID number as printed on the ID card." in html
    assert 'value="44190019900307123"' in html
    # Moved-out residents are listed only when asked for.
    services.person_move(actor=reg.dispatcher, person_id=migrant.pk, room_id=None, origin=ORIGIN)
    assert migrant.pk not in listed_persons(client.get(RESIDENTS))
    assert listed_persons(client.get(RESIDENTS, {"status": "moved_out"})) == {migrant.pk}
    # A whole number finds the person whatever their status.
    number = crypto.decrypt(migrant.id_number_enc, "person.id_number")
    assert listed_persons(client.post(RESIDENTS, {"find-id_number": number})) == {migrant.pk}
    # htmx asks for the results alone.
    partial = client.get(RESIDENTS, {"kind": "migrant", "status": "any"}, headers=HTMX)
    assert partial.content.decode().startswith('<section id="registry-results"')
    assert listed_persons(partial) == {migrant.pk}


def test_key_groups_are_neither_shown_nor_filterable_for_roles_that_do_not_care_for_them(
    reg: Registry, console: ClientFor, make_user: Callable[..., User]
) -> None:
    leader = console(make_user(Role.LEADER, grid=reg.grids["441900003"]))
    response = leader.get(RESIDENTS)
    assert listed_persons(response) == {reg.inside.person.pk}
    assert "tag" not in response.context["form"].fields
    html = response.content.decode()
    assert "Key youth" not in html and 'name="tag"' not in html
    # A tag in the address is ignored, not used to sort residents.
    assert listed_persons(leader.get(RESIDENTS, {"tag": "elderly_alone"})) == {reg.inside.person.pk}
    page = leader.get(person_url(reg.inside.person)).content.decode()
    assert "Chronic illness" not in page and "Key youth" not in page
    # The town commander (综治) cares for them.
    town = console(reg.town)
    assert "Key youth" in town.get(RESIDENTS).content.decode()
    assert "Chronic illness" in town.get(person_url(reg.inside.person)).content.decode()


def test_every_key_group_tag_has_a_label() -> None:
    assert set(TAG_LABELS) == set(KEY_GROUP_TAGS)


def test_a_long_resident_list_is_paged_in_few_queries(
    reg: Registry, console: ClientFor, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        resident(reg, reg.inside.room, f"住户{n}")
    client = console(reg.dispatcher)
    with django_assert_max_num_queries(10):
        first = client.get(RESIDENTS)
    assert len(first.context["rows"]) == 25 and first.context["page"].paginator.count == 31
    second = client.get(RESIDENTS, {"page": 2})
    assert len(second.context["rows"]) == 6
    assert not listed_persons(first) & listed_persons(second)


def test_an_empty_area_says_so(reg: Registry, console: ClientFor, make_user: Callable[..., User]) -> None:
    empty = console(make_user(Role.GRID_WORKER, grid=reg.grids["441900003002001"]))
    response = empty.get(RESIDENTS)
    assert response.status_code == 200 and response.context["rows"] == []
    assert "No resident is registered in your area yet." in response.content.decode()
    assert "No unit is registered in your area yet." in empty.get(UNITS).content.decode()
    assert "No facility is registered in your area yet." in empty.get(FACILITIES).content.decode()
    assert "No declaration is waiting for your review." in empty.get(DECLARATIONS).content.decode()


# --- a person and the reveal ------------------------------------------------------------------


def test_the_person_page_shows_the_record_masked_and_audits_the_read(
    reg: Registry, console: ClientFor
) -> None:
    person = reg.inside.person
    services.person_update(
        actor=reg.worker,
        person_id=person.pk,
        changes={"employment_status": "employed", "mobility_status": "away"},
        origin=ORIGIN,
    )
    response = console(reg.worker).get(person_url(person))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "东城居民" in html
    assert mask_id_number(reg.inside.id_number) in html and reg.inside.id_number not in html
    assert "138****0001" in html and "13800130001" not in html
    assert reg.inside.room.code in html and "东城大道1号1栋1单元301" in html  # the current room
    assert "东城电子厂" in html  # the employer
    assert "Employed" in html and "Away for a while" in html and "Chronic illness" in html
    assert [t.room.code for t in response.context["history"]] == [reg.inside.room.code]
    assert f'action="{reveal_url(person)}"' in html  # the grid worker may reveal
    read = AuditEntry.objects.get(action="registry.person.read", object_id=str(person.pk))
    assert read.actor == reg.worker


def test_the_move_history_keeps_to_the_readers_area(reg: Registry, console: ClientFor) -> None:
    person = reg.inside.person
    services.person_move(actor=reg.superuser, person_id=person.pk, room_id=second_room(reg).pk, origin=ORIGIN)
    history = console(reg.worker).get(person_url(person)).context["history"]
    assert [t.ends_on is None for t in history] == [False, True]
    # Moved to the other town: its worker sees the new home, not the old one.
    services.person_move(actor=reg.superuser, person_id=person.pk, room_id=reg.outside.room.pk, origin=ORIGIN)
    history = console(reg.other_worker).get(person_url(person)).context["history"]
    assert [t.room_id for t in history] == [reg.outside.room.pk]
    assert console(reg.worker).get(person_url(person)).status_code == 404


def test_revealing_the_whole_numbers_takes_a_reason_and_leaves_an_audit_row(
    reg: Registry, console: ClientFor
) -> None:
    person = reg.inside.person
    client = console(reg.worker)
    empty = client.post(reveal_url(person), {"reason": " "})
    assert empty.status_code == 400
    assert reg.inside.id_number not in empty.content.decode()
    assert not AuditEntry.objects.filter(action="registry.person.reveal").exists()

    response = client.post(reveal_url(person), {"reason": "上门核对身份证"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert reg.inside.id_number in html and "13800130001" in html
    entry = AuditEntry.objects.get(action="registry.person.reveal", object_id=str(person.pk))
    assert entry.actor == reg.worker
    assert entry.details["reason"] == "上门核对身份证"
    assert entry.scope_path == person.grid_path

    # With htmx only the panel comes back; it too is audited.
    partial = client.post(reveal_url(person), {"reason": "再次核对"}, headers=HTMX)
    assert partial.status_code == 200
    assert partial.content.decode().startswith('<section id="person-reveal"')
    assert reg.inside.id_number in partial.content.decode()
    assert AuditEntry.objects.filter(action="registry.person.reveal", object_id=str(person.pk)).count() == 2


def test_the_reveal_is_not_offered_to_roles_that_may_not_reveal_and_refused_if_asked(
    reg: Registry, console: ClientFor
) -> None:
    person = reg.inside.person
    town = console(reg.town)
    page = town.get(person_url(person)).content.decode()
    assert reveal_url(person) not in page
    refused = town.post(reveal_url(person), {"reason": "想看看"})
    assert refused.status_code == 403
    html = refused.content.decode()
    assert "Only grid workers and community dispatchers of the residence see whole numbers." in html
    assert reg.inside.id_number not in html
    # The enterprise grid reads its workforce, not their whole numbers.
    enterprise = console(reg.enterprise_worker)
    assert enterprise.get(person_url(person)).status_code == 200
    assert enterprise.post(reveal_url(person), {"reason": "核对"}, headers=HTMX).status_code == 403
    assert not AuditEntry.objects.filter(action="registry.person.reveal").exists()


def test_a_deleted_record_has_nothing_to_reveal(reg: Registry, console: ClientFor) -> None:
    person = reg.inside.person
    services.person_anonymise(actor=reg.dispatcher, person_id=person.pk, reason="本人申请删除", origin=ORIGIN)
    client = console(reg.dispatcher)
    page = client.get(person_url(person)).content.decode()
    assert reveal_url(person) not in page
    assert client.post(reveal_url(person), {"reason": "核对"}).status_code == 409
    assert not AuditEntry.objects.filter(action="registry.person.reveal").exists()


# --- a community's residents and an enterprise grid's workforce --------------------------------


def test_a_worker_appears_in_the_community_they_live_in_and_the_enterprise_grid_they_work_in(
    reg: Registry, console: ClientFor, make_user: Callable[..., User]
) -> None:
    x = reg.grids["441900101001"]  # 虎门镇第1社区
    worker = resident(reg, reg.outside.room, "李工", kind="migrant", inflow_reason="work")
    number = crypto.decrypt(worker.id_number_enc, "person.id_number")
    services.employment_create(
        actor=reg.enterprise_worker,
        unit_id=reg.inside.unit.pk,
        id_number=number,
        position="操作工",
        origin=ORIGIN,
    )

    community = console(make_user(Role.COMMUNITY_DISPATCHER, grid=x)).get(
        reverse("registry:community", args=[x.pk])
    )
    assert community.status_code == 200
    rows = {row.person.pk: row for row in community.context["rows"]}
    assert set(rows) == {worker.pk, reg.outside.person.pk}
    assert [e.unit.name for e in rows[worker.pk].employers] == ["东城电子厂"]
    html = community.content.decode()
    assert "李工" in html and "东城电子厂" in html and number not in html

    y = reg.grids["ENT-DC-01"]
    workforce = console(reg.enterprise_worker).get(reverse("registry:workforce", args=[y.pk]))
    assert workforce.status_code == 200
    people = {item.row.person.pk: item for item in workforce.context["rows"]}
    assert set(people) == {worker.pk, reg.inside.person.pk}
    assert people[worker.pk].employment.position == "操作工"
    assert people[worker.pk].row.residence.startswith("虎门镇虎门镇第1社区")
    html = workforce.content.decode()
    assert "操作工" in html and mask_id_number(number) in html and number not in html
    # The workforce page is for enterprise grids, the residents page for administrative ones.
    town = console(reg.town)
    assert town.get(reverse("registry:workforce", args=[reg.grids["441900003"].pk])).status_code == 400
    assert town.get(reverse("registry:community", args=[y.pk])).status_code == 400
    # The enterprise grid's staff reach its workforce from their resident page.
    listed = console(reg.enterprise_worker).get(RESIDENTS)
    assert listed_persons(listed) == {worker.pk, reg.inside.person.pk}
    assert reverse("registry:workforce", args=[y.pk]) in listed.content.decode()


# --- the declaration review queue -------------------------------------------------------------


def test_the_review_queue_lists_pending_declarations_of_the_reviewers_grids(
    reg: Registry, console: ClientFor
) -> None:
    number = declared_id_number()
    mine = declare(second_room(reg), "张三", number)
    theirs = declare(second_room(reg, inside=False), "李四")
    response = console(reg.worker).get(DECLARATIONS)
    assert response.status_code == 200
    assert [row.declaration.pk for row in response.context["rows"]] == [mine.pk]
    html = response.content.decode()
    assert "张三" in html and "李四" not in html
    assert mask_id_number(number) in html and number not in html
    assert "13912340001" not in html and "139****0001" in html
    assert decide_url(mine, "approve") in html and decide_url(mine, "reject") in html
    assert [row.declaration.pk for row in console(reg.other_worker).get(DECLARATIONS).context["rows"]] == [
        theirs.pk
    ]
    # Only grid workers and community dispatchers review.
    refused = console(reg.town).get(DECLARATIONS)
    assert refused.status_code == 403
    assert "Only grid workers and community dispatchers of the grid review" in refused.content.decode()


def test_approving_registers_the_person(reg: Registry, console: ClientFor) -> None:
    room = second_room(reg)
    declaration = declare(room, "王五")
    client = console(reg.worker)
    response = client.post(decide_url(declaration, "approve"))
    assert response.status_code == 302 and response["Location"] == DECLARATIONS
    declaration.refresh_from_db()
    assert declaration.status == DeclarationStatus.APPROVED and declaration.reviewed_by == reg.worker
    assert declaration.person is not None and declaration.person.room_id == room.pk
    after = client.get(DECLARATIONS)
    assert "Approved: 王五 is registered in the room." in after.content.decode()
    assert after.context["rows"] == []
    approved = client.get(DECLARATIONS, {"status": "approved"})
    assert [row.declaration.pk for row in approved.context["rows"]] == [declaration.pk]
    assert person_url(declaration.person) in approved.content.decode()
    assert listed_persons(client.get(RESIDENTS)) == {reg.inside.person.pk, declaration.person.pk}


def test_rejecting_takes_a_reason_and_keeps_what_was_typed(reg: Registry, console: ClientFor) -> None:
    declaration = declare(second_room(reg))
    client = console(reg.worker)
    too_short = client.post(decide_url(declaration, "reject"), {"reason": "否"})
    assert too_short.status_code == 400
    assert "否</textarea>" in too_short.content.decode()
    declaration.refresh_from_db()
    assert declaration.status == DeclarationStatus.PENDING

    response = client.post(decide_url(declaration, "reject"), {"reason": "房屋编码与地址不符"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section id="declaration-queue"')
    assert "Rejected: the declarant reads your reason." in html
    declaration.refresh_from_db()
    assert declaration.status == DeclarationStatus.REJECTED
    assert declaration.reject_reason == "房屋编码与地址不符"
    assert Person.objects.filter(status=PersonStatus.ACTIVE).count() == 2


def test_a_declaration_decided_meanwhile_is_refused_without_losing_the_reason(
    reg: Registry, console: ClientFor
) -> None:
    declaration = declare(second_room(reg))
    declarations.declaration_approve(actor=reg.dispatcher, declaration_id=declaration.pk, origin=ORIGIN)
    client = console(reg.worker)
    response = client.post(decide_url(declaration, "reject"), {"reason": "证件照片不清晰"}, headers=HTMX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone decided this declaration first." in html
    assert "证件照片不清晰" in html
    declaration.refresh_from_db()
    assert declaration.status == DeclarationStatus.APPROVED and declaration.reject_reason == ""
    assert client.post(decide_url(declaration, "approve")).status_code == 409


def test_out_of_scope_declarations_cannot_be_decided(reg: Registry, console: ClientFor) -> None:
    theirs = declare(second_room(reg, inside=False))
    client = console(reg.worker)
    assert client.post(decide_url(theirs, "approve")).status_code == 404
    assert client.post(decide_url(theirs, "reject"), {"reason": "不是本网格"}).status_code == 404
    assert client.post(decide_url(theirs, "erase")).status_code == 404
    assert client.get(decide_url(theirs, "approve")).status_code == 405
    theirs.refresh_from_db()
    assert theirs.status == DeclarationStatus.PENDING


def test_refusals_are_worded_in_the_readers_language(
    reg: Registry, api_client: ClientFor, make_user: Callable[..., User]
) -> None:
    # Simplified Chinese is the default language; these words are already in its catalogue.
    refused = api_client(make_user()).get(DECLARATIONS)
    assert refused.status_code == 403
    assert "您的账号没有任何角色，请联系管理员分配。" in refused.content.decode()
    blank = api_client(reg.worker).post(reveal_url(reg.inside.person), {"reason": ""}, headers=HTMX)
    assert blank.status_code == 400
    assert "请检查标红的内容。" in blank.content.decode()


# --- units and facilities ---------------------------------------------------------------------


def test_units_are_listed_within_scope_and_filtered(reg: Registry, console: ClientFor) -> None:
    stall = services.unit_create(
        actor=reg.superuser, name="东城小吃档", kind="small_stall", lon=113.61, lat=22.95, origin=ORIGIN
    )
    client = console(reg.worker)
    response = client.get(UNITS)
    assert response.status_code == 200
    assert {u.pk for u in response.context["page"].object_list} == {reg.inside.unit.pk, stall.pk}
    html = response.content.decode()
    assert "虎门电子厂" not in html
    assert "139****0001" in html and "13900130001" not in html
    small = client.get(UNITS, {"kind": "small_venues"})
    assert [u.pk for u in small.context["page"].object_list] == [stall.pk]
    named = client.get(UNITS, {"name": "电子"})
    assert [u.pk for u in named.context["page"].object_list] == [reg.inside.unit.pk]
    none = client.get(UNITS, {"kind": "shop"})
    assert "No unit matches these filters." in none.content.decode()
    # A town commander narrows to an enterprise grid of the town; the other town's is not offered.
    town = console(reg.town)
    by_grid = town.get(UNITS, {"enterprise_grid": str(reg.grids["ENT-DC-01"].pk), "kind": "enterprise"})
    assert [u.pk for u in by_grid.context["page"].object_list] == [reg.inside.unit.pk]
    other = town.get(UNITS, {"enterprise_grid": reg.grids["ENT-HM-01"].pk})
    assert other.context["form"].errors and list(other.context["page"].object_list) == []


def test_facilities_are_listed_within_scope_and_filtered(reg: Registry, console: ClientFor) -> None:
    client = console(reg.worker)
    response = client.get(FACILITIES)
    assert [f.pk for f in response.context["page"].object_list] == [reg.inside.facility.pk]
    html = response.content.decode()
    assert reg.inside.facility.code in html and reg.outside.facility.code not in html
    assert [f.pk for f in client.get(FACILITIES, {"search": "路灯"}).context["page"].object_list] == [
        reg.inside.facility.pk
    ]
    damaged = client.get(FACILITIES, {"status": "damaged"})
    assert "No facility matches these filters." in damaged.content.decode()
    bad = client.get(FACILITIES, {"major_code": "2"})
    assert "A major class is two digits" in bad.content.decode()
    narrowed = console(reg.superuser).get(FACILITIES, {"within": reg.grids["441900101"].pk})
    assert [f.pk for f in narrowed.context["page"].object_list] == [reg.outside.facility.pk]
