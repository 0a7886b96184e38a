"""The hotline's machine account: the actor of everything the 12345 hotline does in our workflow.

It holds the city commander role over the city the hotline serves, which is what the services it
calls need: reporting (any staff role), supervision (a commander), the extension decision and the
follow-up visit (a dispatcher). It has no usable password and never signs in; requests reach it only
through the signed exchange.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from zhiwang.accounts.models import Role, RoleAssignment, User
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import ApplicationError, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode, Level

DEFAULT_USERNAME = "hotline-12345"


def account_username() -> str:
    return str(getattr(settings, "ZHIWANG_HOTLINE_ACCOUNT", "") or DEFAULT_USERNAME)


def hotline_account() -> User:
    """The machine account; a deployment that has not set it up refuses the exchange (503)."""
    user = User.objects.filter(username=account_username(), is_active=True).first()
    if user is None:
        raise ApplicationError(
            "The hotline account is not set up (run `zhiwang hotline-account --city CODE`).",
            code="hotline_not_configured",
            status=503,
        )
    return user


def hotline_city(account: User) -> GridNode | None:
    """The city node the account's commander role covers."""
    assignment = (
        RoleAssignment.objects.filter(user=account, role=Role.CITY_COMMANDER, grid__valid_to__isnull=True)
        .select_related("grid")
        .first()
    )
    return assignment.grid if assignment is not None else None


def account_ensure(*, city_code: str, origin: Origin) -> User:
    """Create (or complete) the machine account with the city commander role over `city_code`."""
    city = GridNode.objects.filter(code=city_code, level=Level.CITY, valid_to__isnull=True).first()
    if city is None:
        raise ValidationFailed(f"There is no city {city_code}.", code="bad_city")
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            username=account_username(), defaults={"display_name": "12345", "is_active": True}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        assigned = RoleAssignment.objects.filter(
            user=user, role=Role.CITY_COMMANDER, grid=city, ends_on__isnull=True
        )
        if not assigned.exists():
            RoleAssignment.objects.create(
                user=user, role=Role.CITY_COMMANDER, grid=city, starts_on=timezone.localdate()
            )
            audit_record(
                actor=None,
                action="hotline.account_ensure",
                origin=origin,
                obj=user,
                scope_path=city.path,
                details={"city": city.code, "role": Role.CITY_COMMANDER},
                actor_label="system",
            )
    return user
