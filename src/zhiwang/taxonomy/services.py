"""Every write to the case taxonomy: importing a category table, editing one category, loading
the bundled table. Each checks the actor's right, checks every entry and the table as it would
be afterwards, writes in one transaction with one audit row, and writes nothing when anything is
wrong. Categories are never deleted (cases keep pointing at them); they are deactivated.

Only an administrator of a whole city (an administrator assigned to a top-level grid node) or a
superuser changes the taxonomy: the table is the same for every town of the city.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from zhiwang.accounts.permissions import check_city_administrator
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import NotFound, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.taxonomy.models import Category, TaxonomyRevision
from zhiwang.taxonomy.validation import (
    EDITABLE_FIELDS,
    CategorySpec,
    Problem,
    RawEntry,
    Row,
    check_entry,
    check_table,
    code_parts,
    flatten_file,
)

Actor = AbstractBaseUser | AnonymousUser | None
DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "categories.json"
OBJECT_TYPE = "taxonomy.category"


@dataclass(frozen=True)
class ImportResult:
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    deactivated: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deactivated)


def problems_error(problems: Sequence[Problem], summary: str) -> ValidationFailed:
    shown = " ".join(f"{p.code or 'file'}: {p.message}" for p in problems[:5])
    return ValidationFailed(
        f"{summary} {len(problems)} problem(s). {shown}",
        code="invalid_categories",
        details=[p.as_dict() for p in problems],
    )


def check_city_admin(actor: Actor) -> None:
    """The actor administers a whole city (a top-level grid node), or is a superuser."""
    check_city_administrator(actor, "change the case categories")


def _lock_revision() -> TaxonomyRevision:
    """Serialise writers on the one revision row (created on first use)."""
    TaxonomyRevision.objects.get_or_create(pk=1)
    return TaxonomyRevision.objects.select_for_update().get(pk=1)


def _bump(revision: TaxonomyRevision) -> None:
    revision.token = uuid.uuid4()
    revision.number += 1
    revision.save(update_fields=["token", "number", "changed_at"])


def _row_of(category: Category) -> Row:
    return Row(
        kind=category.kind,
        parent_code=category.code[:3] if category.parent_id is not None else None,
        name=category.name,
        is_active=category.is_active,
    )


def _row_of_spec(spec: CategorySpec) -> Row:
    return Row(kind=spec.kind, parent_code=spec.parent_code, name=spec.name, is_active=spec.is_active)


def _entry_of(category: Category) -> dict[str, Any]:
    """A category as an entry of the file format (what an edit is merged into)."""
    entry: dict[str, Any] = {"code": category.code, "kind": category.kind}
    for name in EDITABLE_FIELDS:
        entry[name] = getattr(category, name)
    return entry


def _diff(category: Category, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        name: (getattr(category, name), value)
        for name, value in values.items()
        if getattr(category, name) != value
    }


# --- import -----------------------------------------------------------------------------------


def category_import(
    *, actor: Actor, data: Any, origin: Origin, deactivate_missing: bool = False
) -> ImportResult:
    """Create or update categories from a category file (see ``data/README.md``), all or nothing.

    Categories are matched by code; an entry describes the whole category (fields left out take
    their defaults). With ``deactivate_missing``, saved categories the file does not list are
    deactivated, so the file becomes the whole active table.
    """
    check_city_admin(actor)
    return _import(actor=actor, data=data, origin=origin, deactivate_missing=deactivate_missing)


def load_default_categories(*, origin: Origin, deactivate_missing: bool = False) -> ImportResult:
    """Load the bundled table (``data/categories.json``) as the system: the demo and first setup.

    No rights are checked and the audit row names "system" as the actor; only code paths an
    operator starts (the demo, ``zhiwang load-categories`` without ``--as``) call this.
    """
    return _import(
        actor=None,
        data=read_category_file(DEFAULT_FILE),
        origin=origin,
        deactivate_missing=deactivate_missing,
    )


def read_category_file(path: Path) -> Any:
    """The parsed JSON of a category file (UTF-8)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationFailed(f"Cannot read {path.name}: {exc}", code="unreadable_file") from exc


def _check_file(data: Any) -> tuple[list[CategorySpec], dict[str, Row], list[Problem]]:
    """Every entry on its own, and the entries among themselves (before the database is read).

    Returns the good entries, placeholder rows for entries refused but with a well-formed code
    (so their 小类 are not also reported as orphans), and the problems found.
    """
    entries, problems = flatten_file(data)
    specs: list[CategorySpec] = []
    refused: dict[str, Row] = {}
    for raw in entries:
        spec, entry_problems = check_entry(raw)
        problems += entry_problems
        if spec is not None:
            specs.append(spec)
            continue
        parts = code_parts(raw.label)
        if parts is not None:
            refused[raw.label] = Row(
                kind=parts[0], parent_code=parts[1], name=f"\0{raw.label}", is_active=True
            )
    seen: dict[str, int] = {}
    for raw in entries:
        seen[raw.label] = seen.get(raw.label, 0) + 1
    for label, count in seen.items():
        if count > 1 and not label.startswith("#"):
            problems.append(Problem(label, "code", f"Code {label} appears {count} times in the file."))
    if not entries and not problems:
        problems.append(Problem("", "categories", "The file lists no categories."))
    # Without a sort order, the file's order among siblings is the display order.
    position: dict[str, int] = {}
    for spec in specs:
        key = spec.parent_code or spec.kind
        position[key] = position.get(key, 0) + 1
        if spec.sort_order is None:
            spec.sort_order = position[key]
    return specs, refused, problems


def _import(*, actor: Actor, data: Any, origin: Origin, deactivate_missing: bool) -> ImportResult:
    specs, refused, problems = _check_file(data)
    in_file = {spec.code: spec for spec in specs}
    with transaction.atomic():
        revision = _lock_revision()
        existing = {c.code: c for c in Category.objects.order_by("code")}
        listed = in_file.keys() | refused.keys()
        missing = sorted(code for code, c in existing.items() if code not in listed and c.is_active)
        to_deactivate = missing if deactivate_missing else []
        rows = {code: _row_of(c) for code, c in existing.items()}
        for code in to_deactivate:
            rows[code] = Row(rows[code].kind, rows[code].parent_code, rows[code].name, is_active=False)
        rows.update(refused)
        rows.update({code: _row_of_spec(spec) for code, spec in in_file.items()})
        problems += [p for p in check_table(rows, touched=in_file) if p.code not in refused]
        if problems:
            raise problems_error(problems, "The category file was refused:")

        created: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        changes: dict[str, dict[str, Any]] = {}
        saved = dict(existing)
        # 大类 first, so every 小类 finds its parent.
        for spec in sorted(specs, key=lambda s: (s.parent_code is not None, s.code)):
            values = spec.values()
            current = saved.get(spec.code)
            if current is None:
                parent = saved[spec.parent_code] if spec.parent_code else None
                saved[spec.code] = Category.objects.create(
                    code=spec.code, kind=spec.kind, parent=parent, **values
                )
                created.append(spec.code)
                continue
            diff = _diff(current, values)
            if not diff:
                unchanged.append(spec.code)
                continue
            for name, (_, value) in diff.items():
                setattr(current, name, value)
            current.save(update_fields=[*diff, "updated_at"])
            updated.append(spec.code)
            changes[spec.code] = {name: {"from": old, "to": new} for name, (old, new) in diff.items()}
        for code in to_deactivate:
            category = saved[code]
            category.is_active = False
            category.save(update_fields=["is_active", "updated_at"])
        result = ImportResult(
            created=sorted(created),
            updated=sorted(updated),
            unchanged=sorted(unchanged),
            deactivated=to_deactivate,
        )
        if result.changed:
            _bump(revision)
            audit_record(
                actor=actor,
                action="category.import",
                origin=origin,
                object_type=OBJECT_TYPE,
                object_label=f"category table, revision {revision.number}",
                actor_label="" if actor is not None else "system",
                details={
                    "created": result.created,
                    "updated": result.updated,
                    "deactivated": result.deactivated,
                    "unchanged": len(result.unchanged),
                    "deactivate_missing": deactivate_missing,
                    "changes": changes,
                    "revision": revision.number,
                },
            )
    return result


# --- single edits -----------------------------------------------------------------------------


def category_update(*, actor: Actor, code: str, changes: dict[str, Any], origin: Origin) -> Category:
    """Change some fields of one category, under the same rules as an import.

    ``changes`` maps field names (see `zhiwang.taxonomy.validation.EDITABLE_FIELDS`) to new
    values; the code, kind and 大类 of a category never change (add a new category instead).
    """
    check_city_admin(actor)
    if not isinstance(changes, Mapping):
        raise ValidationFailed("Changes are a mapping of field names to values.", code="invalid_categories")
    with transaction.atomic():
        revision = _lock_revision()
        category = Category.objects.select_for_update().filter(code=code).first()
        if category is None:
            raise NotFound(f"No category {code}.")
        problems: list[Problem] = []
        for key in changes:
            if key in ("code", "kind", "parent") or key not in EDITABLE_FIELDS:
                message = f"{key!r} cannot be changed; these can: {', '.join(EDITABLE_FIELDS)}."
                problems.append(Problem(code, str(key), message))
        entry = {**_entry_of(category), **{k: v for k, v in changes.items() if k in EDITABLE_FIELDS}}
        spec, entry_problems = check_entry(RawEntry(code, entry))
        problems += entry_problems
        if spec is not None and not problems:
            rows = {c.code: _row_of(c) for c in Category.objects.all()}
            rows[code] = _row_of_spec(spec)
            problems += check_table(rows, touched=[code])
        if problems or spec is None:
            raise problems_error(problems, f"The change to {code} was refused:")
        diff = _diff(category, spec.values())
        if not diff:
            return category
        for name, (_, value) in diff.items():
            setattr(category, name, value)
        category.save(update_fields=[*diff, "updated_at"])
        _bump(revision)
        audit_record(
            actor=actor,
            action="category.update",
            origin=origin,
            obj=category,
            details={
                "changes": {name: {"from": old, "to": new} for name, (old, new) in diff.items()},
                "revision": revision.number,
            },
        )
    return category
