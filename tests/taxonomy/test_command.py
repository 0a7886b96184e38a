"""`zhiwang load-categories [FILE] --as USERNAME`."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from zhiwang.accounts.models import User
from zhiwang.audit.models import AuditEntry
from zhiwang.taxonomy.models import Category


def test_bundled_table_loads_as_the_system(db: None) -> None:
    out = StringIO()
    call_command("load_categories", stdout=out)
    assert "108 created" in out.getvalue()
    assert Category.objects.count() == 108
    entry = AuditEntry.objects.get(action="category.import")
    assert entry.actor is None and entry.actor_label == "system" and entry.channel == "cli"
    out = StringIO()
    call_command("load_categories", stdout=out)
    assert "0 created, 0 updated, 108 unchanged" in out.getvalue()


def test_a_file_needs_an_administrator(tmp_path: Path, city_admin: User, town_admin: User) -> None:
    path = tmp_path / "categories.json"
    path.write_text(json.dumps({"categories": [{"code": "E01", "name": "市容环境"}]}), encoding="utf-8")
    with pytest.raises(CommandError, match="--as"):
        call_command("load_categories", str(path))
    with pytest.raises(CommandError, match="city"):
        call_command("load_categories", str(path), "--as", town_admin.username)
    with pytest.raises(CommandError, match="No active user"):
        call_command("load_categories", str(path), "--as", "nobody")
    out = StringIO()
    call_command("load_categories", str(path), "--as", city_admin.username, stdout=out)
    assert "1 created" in out.getvalue()
    assert AuditEntry.objects.get(action="category.import").actor == city_admin


def test_problems_are_printed(tmp_path: Path, city_admin: User) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"categories": [{"code": "E0101", "name": "违法搭建"}]}), encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="refused"):
        call_command("load_categories", str(path), "--as", city_admin.username, stderr=err)
    assert "E0101 (time_limit)" in err.getvalue()
    assert not Category.objects.exists()
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("load_categories", str(path), "--as", city_admin.username)
