"""Every write about staff: sign-in with lockout, second factor, tokens, users and their roles."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pyotp
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from zhiwang.accounts.models import ApiToken, Department, Role, RoleAssignment, User, WorkerKind
from zhiwang.accounts.permissions import (
    ROLE_LEVELS,
    check_admin_of,
    forget_scope,
    require_staff_role,
    scope_for,
)
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import ApplicationError, NotFound, PermissionDenied, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.grids.models import GridNode, Layer

Actor = AbstractBaseUser | AnonymousUser | None
TOKEN_PREFIX = "zw_"  # noqa: S105  # a marker, not a secret


class LoginRefused(ApplicationError):
    status = 401


# --- sign-in ----------------------------------------------------------------------------------


def user_authenticate(*, username: str, password: str, origin: Origin) -> User:
    """Check a password, counting failures; lock the account after too many in a row.

    The answer to a wrong username, a wrong password and a locked account looks the same to the
    caller except for the lock, so usernames cannot be probed by timing the lockout.
    """
    now = timezone.now()
    # Failures are recorded and committed before the refusal is raised, so they count.
    refusal: LoginRefused | None = None
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            # Hash anyway so that unknown names take as long as known ones.
            User().set_password(password)
            audit_record(
                actor=None,
                action="auth.login_failed",
                origin=origin,
                actor_label=username[:150],
                details={"reason": "unknown_user"},
            )
            refusal = LoginRefused("Wrong username or password.", code="bad_credentials")
        elif user.locked_until and user.locked_until > now:
            audit_record(
                actor=None, action="auth.login_locked", origin=origin, obj=user, actor_label=username
            )
            refusal = LoginRefused(
                "Too many failed attempts; the account is locked for a while.",
                code="locked",
                details={"locked_until": user.locked_until.isoformat()},
            )
        elif not user.is_active or not user.check_password(password):
            user.failed_logins += 1
            fields = ["failed_logins"]
            if user.failed_logins >= settings.ZHIWANG_LOGIN_MAX_FAILURES:
                user.locked_until = now + timedelta(minutes=settings.ZHIWANG_LOGIN_LOCKOUT_MINUTES)
                user.failed_logins = 0
                fields.append("locked_until")
                audit_record(actor=None, action="auth.locked", origin=origin, obj=user, actor_label=username)
            user.save(update_fields=fields)
            audit_record(
                actor=None,
                action="auth.login_failed",
                origin=origin,
                obj=user,
                actor_label=username,
                details={"reason": "bad_password"},
            )
            refusal = LoginRefused("Wrong username or password.", code="bad_credentials")
        else:
            user.failed_logins = 0
            user.locked_until = None
            user.last_login = now
            user.save(update_fields=["failed_logins", "locked_until", "last_login"])
            audit_record(actor=user, action="auth.login", origin=origin, obj=user)
    if refusal is not None:
        raise refusal
    assert user is not None
    return user


def user_needs_second_factor(user: User) -> bool:
    return bool(settings.ZHIWANG_TOTP_REQUIRED) and (
        user.is_superuser or scope_for(user).requires_second_factor()
    )


def totp_start_enrolment(*, user: User) -> str:
    """A new secret for the user's authenticator app (kept unconfirmed until a code matches)."""
    if user.totp_confirmed_at is not None:
        raise ValidationFailed("A second factor is already set up.", code="totp_exists")
    user.totp_secret = pyotp.random_base32()
    user.save(update_fields=["totp_secret"])
    return str(user.totp_secret)


def totp_provisioning_uri(user: User) -> str:
    return str(
        pyotp.TOTP(user.totp_secret).provisioning_uri(
            name=user.username, issuer_name=settings.ZHIWANG_TOTP_ISSUER
        )
    )


def totp_verify(*, user: User, code: str, origin: Origin) -> None:
    """Check a one-time code; the first good code confirms the enrolment."""
    if not user.totp_secret:
        raise ValidationFailed("No second factor is set up yet.", code="totp_missing")
    if not pyotp.TOTP(user.totp_secret).verify(code.strip(), valid_window=1):
        audit_record(actor=user, action="auth.totp_failed", origin=origin, obj=user)
        raise LoginRefused("That code is not right.", code="bad_totp")
    if user.totp_confirmed_at is None:
        user.totp_confirmed_at = timezone.now()
        user.save(update_fields=["totp_confirmed_at"])
        audit_record(actor=user, action="auth.totp_enrolled", origin=origin, obj=user)
    audit_record(actor=user, action="auth.totp_passed", origin=origin, obj=user)


def totp_reset(*, actor: Actor, user_id: int, origin: Origin) -> None:
    target = _access_user_for_admin(actor, user_id)
    target.totp_secret = ""
    target.totp_confirmed_at = None
    target.save(update_fields=["totp_secret", "totp_confirmed_at"])
    audit_record(actor=actor, action="auth.totp_reset", origin=origin, obj=target)


# --- API tokens -------------------------------------------------------------------------------


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown once, never stored


def token_issue(
    *, actor: Actor, user_id: int, name: str, origin: Origin, expires_at: datetime | None = None
) -> IssuedToken:
    target = _access_user_for_admin(actor, user_id, allow_self=True)
    if not name.strip():
        raise ValidationFailed("A token needs a name.", code="name_required")
    key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=target,
            name=name.strip()[:100],
            prefix=key[:10],
            key_hash=_hash_key(key),
            expires_at=expires_at,
        )
        audit_record(
            actor=actor, action="token.issue", origin=origin, obj=token, details={"user": target.username}
        )
    return IssuedToken(token=token, key=key)


def token_revoke(*, actor: Actor, token_id: int, origin: Origin) -> None:
    token = ApiToken.objects.filter(pk=token_id).select_related("user").first()
    if token is None:
        raise NotFound("No such token.")
    _access_user_for_admin(actor, token.user_id, allow_self=True)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="token.revoke", origin=origin, obj=token)


def token_authenticate(key: str) -> User | None:
    """The active user behind a bearer key, or None. Marks the token used (at most once a minute)."""
    if not key.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash_key(key)).first()
    now = timezone.now()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- users and roles --------------------------------------------------------------------------


def _admin_paths_cover_user(actor: Actor, target: User) -> bool:
    """An administrator manages a user whose every assignment lies in the administrator's subtree."""
    scope = scope_for(actor)
    if scope.is_superuser:
        return True
    assignments = list(target.assignments.select_related("grid", "department__jurisdiction"))
    if not assignments:
        return bool(scope.paths([Role.ADMINISTRATOR]))
    for assignment in assignments:
        node = assignment.grid if assignment.grid is not None else assignment.department.jurisdiction  # type: ignore[union-attr]
        if not scope.covers(node.path, [Role.ADMINISTRATOR]):
            return False
    return True


def _access_user_for_admin(actor: Actor, user_id: int, *, allow_self: bool = False) -> User:
    scope = require_staff_role(actor) if not allow_self else scope_for(actor)
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise NotFound("No such user.")
    if allow_self and scope.user_id == target.pk:
        return target
    if not scope.is_authenticated or not _admin_paths_cover_user(actor, target):
        raise PermissionDenied("Only an administrator over all of this user's places may do this.")
    return target


def user_create(
    *,
    actor: Actor,
    username: str,
    password: str | None,
    origin: Origin,
    display_name: str = "",
    phone: str = "",
) -> User:
    scope = require_staff_role(actor)
    if not scope.is_superuser and not scope.paths([Role.ADMINISTRATOR]):
        raise PermissionDenied("Only administrators create accounts.")
    username = username.strip()
    if not username:
        raise ValidationFailed("A username is required.", code="username_required")
    if User.objects.filter(username=username).exists():
        raise ValidationFailed(f"The username {username} is taken.", code="username_taken")
    with transaction.atomic():
        user = User(username=username, display_name=display_name, phone=phone)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        audit_record(actor=actor, action="user.create", origin=origin, obj=user)
    return user


def role_assign(
    *,
    actor: Actor,
    user_id: int,
    role: str,
    origin: Origin,
    grid_id: int | None = None,
    department_id: int | None = None,
    worker_kind: str = "",
    starts_on: date | None = None,
) -> RoleAssignment:
    """Give a user a role over a grid node or a department. Grid workers get a base grid."""
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.", code="bad_role")
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise NotFound("No such user.")
    grid: GridNode | None = None
    department: Department | None = None
    if role == Role.DEPARTMENT_HANDLER:
        if department_id is None or grid_id is not None:
            raise ValidationFailed("A department handler is assigned to a department.", code="bad_scope")
        department = Department.objects.select_related("jurisdiction").filter(pk=department_id).first()
        if department is None:
            raise NotFound("No such department.")
        check_admin_of(actor, department.jurisdiction.path)
    else:
        if grid_id is None or department_id is not None:
            raise ValidationFailed("This role is assigned to a grid node.", code="bad_scope")
        grid = GridNode.objects.filter(pk=grid_id, valid_to__isnull=True, layer=Layer.ADMIN).first()
        if grid is None:
            raise NotFound("No such current grid.")
        check_admin_of(actor, grid.path)
        if grid.level not in ROLE_LEVELS[role]:
            raise ValidationFailed(
                f"A {Role(role).label} is assigned at the {', '.join(sorted(ROLE_LEVELS[role]))} level, "
                f"not at a {grid.level}.",
                code="bad_level",
            )
    if role == Role.GRID_WORKER:
        if worker_kind not in WorkerKind.values:
            raise ValidationFailed(
                "A grid worker is full-time, part-time or professional.", code="bad_worker_kind"
            )
    elif worker_kind:
        raise ValidationFailed("Only grid workers have a worker kind.", code="bad_worker_kind")
    with transaction.atomic():
        assignment = RoleAssignment(
            user=target,
            role=role,
            grid=grid,
            department=department,
            worker_kind=worker_kind,
            starts_on=starts_on or timezone.localdate(),
        )
        assignment.full_clean()
        assignment.save()
        audit_record(
            actor=actor,
            action="role.assign",
            origin=origin,
            obj=assignment,
            scope_path=grid.path if grid else department.jurisdiction.path,  # type: ignore[union-attr]
            details={"user": target.username, "role": role},
        )
    forget_scope(target)
    return assignment


def role_end(
    *, actor: Actor, assignment_id: int, origin: Origin, ends_on: date | None = None
) -> RoleAssignment:
    assignment = (
        RoleAssignment.objects.select_related("grid", "department__jurisdiction")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise NotFound("No such assignment.")
    node = assignment.grid if assignment.grid is not None else assignment.department.jurisdiction  # type: ignore[union-attr]
    check_admin_of(actor, node.path)
    with transaction.atomic():
        assignment.ends_on = ends_on or timezone.localdate()
        assignment.save(update_fields=["ends_on", "updated_at"])
        audit_record(actor=actor, action="role.end", origin=origin, obj=assignment, scope_path=node.path)
    return assignment


def department_create(
    *, actor: Actor, code: str, name: str, kind: str, jurisdiction_id: int, origin: Origin
) -> Department:
    jurisdiction = GridNode.objects.filter(
        pk=jurisdiction_id, valid_to__isnull=True, layer=Layer.ADMIN
    ).first()
    if jurisdiction is None:
        raise NotFound("No such current grid.")
    check_admin_of(actor, jurisdiction.path)
    if Department.objects.filter(code=code).exists():
        raise ValidationFailed(f"The department code {code} is taken.", code="code_taken")
    with transaction.atomic():
        department = Department(code=code, name=name, kind=kind, jurisdiction=jurisdiction)
        department.full_clean()
        department.save()
        audit_record(
            actor=actor,
            action="department.create",
            origin=origin,
            obj=department,
            scope_path=jurisdiction.path,
        )
    return department
