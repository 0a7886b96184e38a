"""REST endpoints of the case taxonomy (mounted at /api/v1/categories).

Reads: any staff role. Import and edits: an administrator of a whole city, or a superuser.
"""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from zhiwang.accounts.permissions import require_staff_role
from zhiwang.common.origin import origin_from_request
from zhiwang.taxonomy import selectors, services
from zhiwang.taxonomy.models import Category
from zhiwang.taxonomy.schemas import CategoryFileIn, CategoryOut, CategoryPatchIn, CategoryTreeOut, ImportOut

router = Router()


def _with_minors(major: Category, minors: list[Category] | None) -> CategoryTreeOut:
    out = CategoryTreeOut.model_validate(major, from_attributes=True)
    if minors is not None:
        out.minors = [CategoryOut.model_validate(m, from_attributes=True) for m in minors]
    return out


@router.get("", response=list[CategoryTreeOut], summary="List the case categories, flat or as a tree")
def list_categories(
    request: HttpRequest,
    kind: str | None = None,
    q: str | None = None,
    include_inactive: bool = False,
    tree: bool = False,
) -> Any:
    """Flat: every matching category in tree order. ``tree=true``: the 大类, each with its 小类."""
    active = None if include_inactive else True
    if tree:
        require_staff_role(request.user)
        branches = selectors.category_tree(kind=kind, active=active, search=q)
        return [_with_minors(b.major, b.minors) for b in branches]
    return selectors.category_list(actor=request.user, kind=kind, active=active, search=q)


@router.post("/import", response=ImportOut, summary="Import a category table, all or nothing")
def import_categories(
    request: HttpRequest, payload: CategoryFileIn, deactivate_missing: bool = False
) -> services.ImportResult:
    return services.category_import(
        actor=request.user,
        data=payload.model_dump(exclude_unset=True),
        origin=origin_from_request(request),
        deactivate_missing=deactivate_missing,
    )


@router.get("/{code}", response=CategoryTreeOut, summary="One category (a 大类 with its 小类)")
def get_category(request: HttpRequest, code: str) -> CategoryTreeOut:
    category = selectors.category_get(actor=request.user, code=code)
    minors = selectors.category_minors(category) if category.is_major else None
    return _with_minors(category, minors)


@router.patch("/{code}", response=CategoryOut, summary="Change some fields of one category")
def update_category(request: HttpRequest, code: str, payload: CategoryPatchIn) -> Category:
    return services.category_update(
        actor=request.user,
        code=code,
        changes=payload.model_dump(exclude_unset=True),
        origin=origin_from_request(request),
    )
