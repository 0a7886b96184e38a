"""The grid worker app on a phone: verifying a case, reporting without a signal, the service worker."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.field.world import Crew, handled_case, make_crew
from zhiwang.accounts.models import User
from zhiwang.cases.models import Case, CasePhoto
from zhiwang.field.labels import labels
from zhiwang.grids.models import GridNode

pytestmark = pytest.mark.django_db(transaction=True)

Shoot = Callable[[Any, str], Path]
SYNC_TIMEOUT_MS = 20_000


def label(key: str) -> str:
    """The wording the app shows for `key`, in the phone's language."""
    with translation.override("zh-hans"):
        return labels()[key]


def png(width: int = 64, height: int = 48) -> bytes:
    """A small real image, for the camera input."""
    row = b"\x00" + bytes([200, 16, 46]) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg_size(content: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's start-of-frame segment."""
    at = 2
    while at < len(content):
        marker, length = content[at + 1], struct.unpack(">H", content[at + 2 : at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", content[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no frame header")


@pytest.fixture
def crew(city: dict[str, GridNode], make_user: Callable[..., User]) -> Crew:
    return make_crew(city, make_user)


def open_app(phone: Any, sign_in: Any, user: User, hash_: str = "") -> Any:
    """The app on the phone, signed in as `user`; `page.errors` collects uncaught script errors."""
    sign_in(phone, user)
    page = phone.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto("/field/" + hash_)
    # The server has confirmed who is signed in: the outbox may send from now on.
    page.wait_for_function("window.Field && Field.queue.confirmed === true")
    return page


def outbox_item(page: Any, description: str) -> Any:
    return page.locator("#outbox-list li", has_text=description)


def test_the_worker_sees_a_case_to_verify_and_passes_it(
    crew: Crew, phone: Any, sign_in: Any, shoot: Shoot
) -> None:
    case = handled_case(crew, "公交站旁垃圾桶满溢", result="已清运并消毒")
    page = open_app(phone, sign_in, crew.worker)
    task = page.locator(f"#verify-list li[data-case-id='{case.pk}']")
    expect(task).to_contain_text("公交站旁垃圾桶满溢")
    expect(page.locator("#grid-list")).to_contain_text("441900003001001")
    shoot(page, "field-tasks")

    task.locator("a").click()
    expect(page.locator("#verify-form")).to_be_visible()
    expect(page.locator("#case-description")).to_have_text("公交站旁垃圾桶满溢")
    expect(page.locator("#case-facts")).to_contain_text("已清运并消毒")
    page.locator("#verify-form input[value='yes']").check()
    page.fill("#verify-note", "现场已清理干净")
    shoot(page, "field-verify")
    page.locator("#verify-form button[type=submit]").click()

    expect(page.locator("#notice")).to_have_text(label("verified_passed"))
    expect(page.locator(f"#verify-list li[data-case-id='{case.pk}']")).to_have_count(0)
    expect(page.locator(f"#revisit-list li[data-case-id='{case.pk}']")).to_have_count(1)
    case.refresh_from_db()
    assert case.status == "revisit"
    assert case.events.filter(kind="verify_pass", note="现场已清理干净", actor=crew.worker).count() == 1
    assert page.errors == []


def test_a_report_made_offline_waits_then_is_sent_exactly_once(
    crew: Crew, phone: Any, sign_in: Any, shoot: Shoot
) -> None:
    description = "路口井盖破损，有行人绊倒风险"
    page = open_app(phone, sign_in, crew.worker, "#report")
    expect(page.locator("#report-form")).to_have_attribute("data-located", "true")

    phone.set_offline(True)
    expect(page.locator("#net")).to_have_attribute("data-online", "false")
    page.fill("#report-description", description)
    page.set_input_files(
        "#report-photo", files=[{"name": "scene.png", "mimeType": "image/png", "buffer": png()}]
    )
    expect(page.locator("#report-preview")).to_be_visible()
    page.click("#report-submit")

    item = outbox_item(page, description)
    expect(item).to_have_attribute("data-state", "queued")
    expect(item.locator(".state")).to_have_text(label("state_queued"))
    expect(page.locator("#outbox-badge")).to_have_text("1")
    shoot(page, "field-outbox-offline")
    assert not Case.objects.filter(description=description).exists()

    phone.set_offline(False)
    expect(item).to_have_attribute("data-state", "sent", timeout=SYNC_TIMEOUT_MS)
    case = Case.objects.get(description=description)
    expect(item.locator(".state")).to_have_text(label("state_sent"))
    expect(item).to_contain_text(str(case.number))
    assert (case.channel, case.reporter, case.source_system) == ("grid_worker", crew.worker, "wgs84")
    assert case.grid is not None and case.grid.code == "441900003001001"
    assert list(CasePhoto.objects.filter(case=case).values_list("stage", flat=True)) == ["report"]
    shoot(page, "field-outbox-sent")

    # Force another sync as if every answer had been lost: the item goes out again with its key.
    page.evaluate(
        """() => new Promise((resolve, reject) => {
          const open = indexedDB.open("zhiwang-field");
          open.onsuccess = () => {
            const tx = open.result.transaction("outbox", "readwrite");
            const store = tx.objectStore("outbox");
            store.getAll().onsuccess = (event) => {
              for (const item of event.target.result) {
                item.state = "queued"; item.caseId = null; item.caseNumber = null; item.nextTryAt = 0;
                item.photos.forEach((photo) => { photo.done = false; });
                store.put(item);
              }
            };
            tx.oncomplete = resolve;
            tx.onerror = reject;
          };
        })"""
    )
    page.evaluate("Field.queue.sync()")
    expect(item).to_have_attribute("data-state", "sent", timeout=SYNC_TIMEOUT_MS)
    expect(item).to_contain_text(str(case.number))
    assert Case.objects.filter(description=description).count() == 1
    assert CasePhoto.objects.filter(case=case).count() == 1
    assert page.errors == []


def test_a_lost_answer_is_retried_without_a_second_case(crew: Crew, phone: Any, sign_in: Any) -> None:
    description = "绿化带内有大量建筑垃圾"
    page = open_app(phone, sign_in, crew.worker, "#report")
    expect(page.locator("#report-form")).to_have_attribute("data-located", "true")
    lost: list[int] = []

    def lose_the_answer(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            route.fetch()  # the report reaches the server ...
            lost.append(1)
            route.abort("connectionreset")  # ... but its answer never reaches the phone
        else:
            route.continue_()

    page.route(lambda url: url.endswith("/api/v1/cases"), lose_the_answer)
    page.fill("#report-description", description)
    page.click("#report-submit")
    item = outbox_item(page, description)
    expect(item).to_have_attribute("data-state", "queued")
    expect(item.locator(".detail")).to_contain_text(label("error_network"))
    assert Case.objects.filter(description=description).count() == 1

    expect(item).to_have_attribute("data-state", "sent", timeout=SYNC_TIMEOUT_MS)
    case = Case.objects.get(description=description)
    expect(item).to_contain_text(str(case.number))
    assert lost == [1]
    assert page.errors == []


def test_a_refused_report_stays_with_its_reason_until_deleted(
    crew: Crew, phone: Any, sign_in: Any, shoot: Shoot
) -> None:
    description = "占道经营"
    page = open_app(phone, sign_in, crew.worker, "#report")
    expect(page.locator("#report-form")).to_have_attribute("data-located", "true")
    expect(page.locator("#report-category option[value='E0101']")).to_have_count(1)
    page.fill("#report-description", description)
    page.select_option("#report-category", "E0101")
    # The category is withdrawn while the worker is writing: the server refuses the report.
    from zhiwang.taxonomy.models import Category

    Category.objects.filter(code="E0101").update(is_active=False)
    page.click("#report-submit")

    item = outbox_item(page, description)
    expect(item).to_have_attribute("data-state", "failed", timeout=SYNC_TIMEOUT_MS)
    expect(item.locator(".state")).to_have_text(label("state_failed"))
    with translation.override("zh-hans"):
        from zhiwang.field.labels import error_messages

        reason = error_messages()["bad_category"]
    expect(item.locator(".reason")).to_have_text(reason)
    expect(item.get_by_role("button", name=label("retry"))).to_be_visible()
    shoot(page, "field-outbox-failed")
    assert not Case.objects.filter(description=description).exists()

    # It stays across a restart of the app ...
    page.reload()
    page.wait_for_function("window.Field && Field.queue.confirmed === true")
    page.goto("/field/#outbox")
    expect(outbox_item(page, description)).to_have_attribute("data-state", "failed")
    # ... until the worker deletes it.
    page.once("dialog", lambda dialog: dialog.accept())
    outbox_item(page, description).get_by_role("button", name=label("delete")).click()
    expect(outbox_item(page, description)).to_have_count(0)
    assert page.errors == []


def test_the_service_worker_registers_and_opens_the_app_offline(
    crew: Crew, phone: Any, sign_in: Any, live_server: Any, shoot: Shoot
) -> None:
    page = open_app(phone, sign_in, crew.worker)
    scope = page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.scope)")
    assert scope == live_server.url + "/field/"
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    phone.set_offline(True)
    page.reload()
    expect(page.locator("#net")).to_have_attribute("data-online", "false")
    expect(page.locator("#view-tasks")).to_be_visible()
    # The lists and grids come from the copy the phone kept.
    expect(page.locator("#grid-list")).to_contain_text("441900003001001")
    shoot(page, "field-offline-shell")
    assert page.errors == []


def test_a_problem_solved_on_the_spot_is_sent_with_photos_before_and_after(
    crew: Crew, phone: Any, sign_in: Any, shoot: Shoot
) -> None:
    description = "树枝折断挡住人行道，已现场清理"
    page = open_app(phone, sign_in, crew.worker, "#report")
    expect(page.locator("#report-form")).to_have_attribute("data-located", "true")
    page.fill("#report-description", description)
    page.check("#report-self")
    expect(page.locator("#report-after")).to_be_visible()
    before = {"name": "before.png", "mimeType": "image/png", "buffer": png(2400, 1200)}
    page.set_input_files("#report-photo", files=[before])
    page.set_input_files(
        "#report-after", files=[{"name": "after.png", "mimeType": "image/png", "buffer": png()}]
    )
    expect(page.locator("#report-after-preview")).to_be_visible()
    shoot(page, "field-report-self-handled")
    page.click("#report-submit")

    item = outbox_item(page, description)
    expect(item).to_have_attribute("data-state", "sent", timeout=SYNC_TIMEOUT_MS)
    case = Case.objects.get(description=description)
    assert (case.status, case.self_handled) == ("closed", True)
    photos = {p.stage: p for p in CasePhoto.objects.filter(case=case)}
    assert sorted(photos) == ["after", "before"]
    # The camera's photo was scaled down on the phone to 1600 px on the longer side, as a JPEG.
    content = photos["before"].file.read()
    assert content[:3] == b"\xff\xd8\xff"
    assert jpeg_size(content) == (1600, 800)
    assert page.errors == []


def test_an_incomplete_report_is_refused_on_the_phone_and_loses_nothing(
    crew: Crew, phone: Any, sign_in: Any
) -> None:
    page = open_app(phone, sign_in, crew.worker, "#report")
    expect(page.locator("#report-form")).to_have_attribute("data-located", "true")
    page.fill("#report-address", "东城中路 88 号")
    page.click("#report-submit")
    expect(page.locator("#report-error")).to_have_text(label("need_description"))

    page.fill("#report-description", "电线杆倾斜")
    page.check("#report-self")
    page.set_input_files(
        "#report-photo", files=[{"name": "before.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.click("#report-submit")
    expect(page.locator("#report-error")).to_have_text(label("need_two_photos"))

    # Nothing was queued and nothing typed was lost.
    assert page.evaluate("Field.queue.all().then((items) => items.length)") == 0
    expect(page.locator("#report-address")).to_have_value("东城中路 88 号")
    expect(page.locator("#report-description")).to_have_value("电线杆倾斜")
    assert not Case.objects.exists()
    assert page.errors == []
