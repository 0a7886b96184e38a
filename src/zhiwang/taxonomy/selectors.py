"""Reads of the case taxonomy.

The category table holds no personal data and is the same for the whole city, so it is not
scoped to grids: staff with any role read all of it (`category_list`, `category_get`).
`category_tree` and `category_by_code` take no actor: they serve intake and pickers, and the
caller (an endpoint, the case intake service) has already checked who is asking.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce

from zhiwang.accounts.permissions import require_staff_role
from zhiwang.common.errors import NotFound, ValidationFailed
from zhiwang.taxonomy.models import Category, Kind, TaxonomyRevision

Actor = AbstractBaseUser | AnonymousUser | None


@dataclass(frozen=True)
class Branch:
    """A 大类 and its 小类, for pickers."""

    major: Category
    minors: list[Category]


def _filtered(kind: str | None, active: bool | None) -> QuerySet[Category]:
    if kind is not None and kind not in Kind.values:
        raise ValidationFailed(f"The kind is one of {', '.join(Kind.values)}.", code="invalid_kind")
    qs = Category.objects.all()
    if kind is not None:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs


def matches(category: Category, search: str) -> bool:
    """Code prefix, or a part of the name or of a keyword (case-insensitive)."""
    needle = search.strip().casefold()
    if not needle:
        return True
    return (
        category.code.casefold().startswith(needle)
        or needle in category.name.casefold()
        or any(needle in str(word).casefold() for word in category.keywords or [])
    )


def tree_order(qs: QuerySet[Category]) -> QuerySet[Category]:
    """Events before components, each 大类 followed by its 小类, by sort order then code."""
    return qs.annotate(
        _kind_rank=Case(When(kind=Kind.EVENT, then=Value(0)), default=Value(1), output_field=IntegerField()),
        _major_sort=Coalesce(F("parent__sort_order"), F("sort_order")),
        _major_code=Coalesce(F("parent__code"), F("code")),
        _is_minor=Case(
            When(parent__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
        ),
    ).order_by("_kind_rank", "_major_sort", "_major_code", "_is_minor", "sort_order", "code")


def category_list(
    *, actor: Actor, kind: str | None = None, active: bool | None = True, search: str | None = None
) -> QuerySet[Category]:
    """Categories in tree order (any staff role). ``active=None`` lists active and inactive ones."""
    require_staff_role(actor)
    qs = _filtered(kind, active)
    if search and search.strip():
        # Keywords live in a JSON list; the table is small, so match in Python on every database.
        codes = [c.code for c in qs.only("code", "name", "keywords") if matches(c, search)]
        qs = qs.filter(code__in=codes)
    return tree_order(qs.select_related("parent"))


def category_get(*, actor: Actor, code: str) -> Category:
    require_staff_role(actor)
    category = Category.objects.select_related("parent").filter(code=code).first()
    if category is None:
        raise NotFound(f"No category {code}.")
    return category


def category_minors(major: Category, *, active: bool | None = None) -> list[Category]:
    qs = Category.objects.filter(parent=major)
    if active is not None:
        qs = qs.filter(is_active=active)
    return list(qs.select_related("parent").order_by("sort_order", "code"))


def category_tree(
    *, kind: str | None = None, active: bool | None = True, search: str | None = None
) -> list[Branch]:
    """大类 → 小类 in display order. With ``search``, a matching 大类 comes with all its 小类 and a
    matching 小类 with its 大类."""
    rows = list(tree_order(_filtered(kind, active).select_related("parent")))
    majors = [c for c in rows if c.parent_id is None]
    minors_of: dict[int, list[Category]] = {m.pk: [] for m in majors}
    for category in rows:
        if category.parent_id is not None and category.parent_id in minors_of:
            minors_of[category.parent_id].append(category)
    branches: list[Branch] = []
    for major in majors:
        minors = minors_of[major.pk]
        if search and search.strip() and not matches(major, search):
            minors = [m for m in minors if matches(m, search)]
            if not minors:
                continue
        branches.append(Branch(major=major, minors=minors))
    return branches


# --- the cached lookup for intake ---------------------------------------------------------------

_lock = threading.Lock()
_cache: tuple[uuid.UUID, dict[str, Category]] | None = None


def _revision_token() -> uuid.UUID | None:
    token: uuid.UUID | None = TaxonomyRevision.objects.filter(pk=1).values_list("token", flat=True).first()
    return token


def _table() -> dict[str, Category]:
    global _cache
    token = _revision_token()
    if token is None:  # never written through the services: nothing to key a cache on
        return {c.code: c for c in Category.objects.select_related("parent")}
    with _lock:
        cached = _cache
    if cached is None or cached[0] != token:
        cached = (token, {c.code: c for c in Category.objects.select_related("parent")})
        with _lock:
            _cache = cached
    return cached[1]


def category_by_code(code: str) -> Category | None:
    """The category with this code, active or not (callers check ``is_active``), or None.

    The whole table is kept in memory per process and reloaded when the taxonomy's revision token
    changes (every service write changes it, in the writer's transaction), so a lookup costs one
    primary-key query. The returned objects are shared between callers: treat them as read-only.
    """
    return _table().get(code)


def categories_by_code(codes: Iterable[str]) -> dict[str, Category]:
    """Several lookups at once, from the same cached table."""
    table = _table()
    return {code: table[code] for code in codes if code in table}


def clear_cache() -> None:
    global _cache
    with _lock:
        _cache = None
