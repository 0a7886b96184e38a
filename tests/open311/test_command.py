"""`zhiwang open311 create-key NAME` prints a working key on its last line."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from zhiwang.open311.models import ApiKey, ClientApplication
from zhiwang.open311.services import key_authenticate


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("open311", *args, stdout=out)
    return out.getvalue().strip().splitlines()


@pytest.mark.django_db
def test_create_key_prints_the_key_last() -> None:
    key = run("create-key", "City app", "--contact", "ops@example.com")[-1]
    application = ClientApplication.objects.get(name="City app")
    assert application.contact == "ops@example.com"
    assert key_authenticate(key) == application
    assert key not in ApiKey.objects.get().key_hash  # only the hash is stored
    second = run("create-key", "City app")[-1]
    assert second != key and ClientApplication.objects.count() == 1
    assert key_authenticate(key) == application  # both keys work until revoked
    rotated = run("create-key", "City app", "--rotate")[-1]
    assert key_authenticate(key) is None and key_authenticate(second) is None
    assert key_authenticate(rotated) == application
    assert run("list") == [f"City app (active): {rotated[:10]}"]


@pytest.mark.django_db
def test_revoke_key() -> None:
    key = run("create-key", "City app")[-1]
    assert run("revoke-key", key[:12]) == ["1 key(s) revoked."]
    assert key_authenticate(key) is None
    with pytest.raises(CommandError, match="at least the first 8"):
        run("revoke-key", "o311")


@pytest.mark.django_db
def test_the_demo_prints_a_fresh_key_for_its_client_application() -> None:
    from zhiwang.demo.management.commands.demo import Command

    outputs = []
    for _ in range(2):
        out = StringIO()
        Command(stdout=out)._print_open311_key("127.0.0.1:8000")
        outputs.append(out.getvalue().splitlines())
    first, second = (lines[-1].rsplit(" ", 1)[-1] for lines in outputs)
    assert outputs[1][0] == "Open311 GeoReport v2: http://127.0.0.1:8000/open311/v2/discovery.json"
    application = ClientApplication.objects.get(name="Demo app")
    assert key_authenticate(second) == application
    assert key_authenticate(first) is None  # the previous run's key is retired
