"""Staff accounts, departments, and role assignments scoped to the grid tree or a department."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zhiwang.common.models import TimeStampedModel
from zhiwang.grids.models import GridNode


class User(AbstractUser):
    """A staff member. Residents use the public side and never get an account."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    failed_logins = models.PositiveIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    totp_secret = models.CharField(max_length=64, blank=True, editable=False)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.username


class DepartmentKind(models.TextChoices):
    URBAN = "urban", _("Urban management (城管)")
    FIRE = "fire", _("Fire and rescue (消防)")
    POLICE = "police", _("Public security (公安)")
    SAFETY = "safety", _("Emergency and work safety (应急/安监)")
    HOUSING = "housing", _("Housing and construction (住建)")
    ENVIRONMENT = "environment", _("Ecology and environment (生态环境)")
    MARKET = "market", _("Market regulation (市场监管)")
    WATER = "water", _("Water affairs (水务)")
    TRANSPORT = "transport", _("Transport (交通)")
    HEALTH = "health", _("Health (卫健)")
    OTHER = "other", _("Other")


class Department(TimeStampedModel):
    """A department or team that handles cases within its jurisdiction (a city or a town)."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=DepartmentKind.choices, default=DepartmentKind.OTHER)
    jurisdiction = models.ForeignKey(GridNode, on_delete=models.PROTECT, related_name="departments")
    overlay_grids = models.ManyToManyField(
        GridNode,
        blank=True,
        related_name="responsible_departments",
        help_text="Overlay grids it answers for.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    COMMUNITY_DISPATCHER = "community_dispatcher", _("Community dispatcher")
    TOWN_COMMANDER = "town_commander", _("Town commander")
    CITY_COMMANDER = "city_commander", _("City commander")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    LEADER = "leader", _("Leader")
    ADMINISTRATOR = "administrator", _("Administrator")


class WorkerKind(models.TextChoices):
    FULL_TIME = "full_time", _("Full-time (专职)")
    PART_TIME = "part_time", _("Part-time (兼职)")
    PROFESSIONAL = "professional", _("Professional (专业)")


class RoleAssignment(TimeStampedModel):
    """A role held by a user over a grid node (and everything below it) or over a department.

    A grid worker's assignment to a base grid is also the staffing record (一格一员).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(max_length=32, choices=Role.choices)
    grid = models.ForeignKey(
        GridNode, null=True, blank=True, on_delete=models.PROTECT, related_name="role_assignments"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="role_assignments"
    )
    worker_kind = models.CharField(max_length=16, choices=WorkerKind.choices, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(grid__isnull=False, department__isnull=True) & ~Q(role="department_handler"))
                | (Q(grid__isnull=True, department__isnull=False) & Q(role="department_handler")),
                name="assignment_scope_matches_role",
            ),
        ]
        indexes = [models.Index(fields=["role", "ends_on"])]
        ordering = ["user_id", "role"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} @ {self.grid_id or self.department_id}"


class ApiToken(models.Model):
    """A bearer token for a machine client, acting as its user. Only a hash of the key is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
