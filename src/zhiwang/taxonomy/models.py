"""The case taxonomy: 事件 (event) and 部件 (component) categories as 大类 (major) / 小类 (minor).

The table is data an administrator edits (import a file, or edit one category), never code: every
city keeps its own code table. The structure follows the national digital city-management
standards (GB/T 30428.2, CJ/T 214): separate event and component tables, each a two-level
tree of 大类 and 小类 with two-digit numbers.

Code scheme (checked by `zhiwang.taxonomy.validation`):

- a 大类 is a kind letter and two digits: ``E01`` (event), ``C01`` (component), 01–99;
- a 小类 is its 大类's code and two more digits: ``E0101``, ``C0107``, 01–99;
- so a code alone gives its kind and its 大类. By convention 01–09 follow the standards' 大类
  and 10–99 hold local and grid-governance extensions (安全隐患, 矛盾纠纷, 出租屋, 三小场所, ...).

Only a 小类 carries the handling rules (time limit, overlay layer, community handling, extra
fields): a case is always filed under a 小类.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zhiwang.accounts.models import DepartmentKind
from zhiwang.common.models import TimeStampedModel


class Kind(models.TextChoices):
    EVENT = "event", _("Event (事件)")
    COMPONENT = "component", _("Component (部件)")


# The code letter of each kind.
KIND_PREFIX: dict[str, str] = {Kind.EVENT: "E", Kind.COMPONENT: "C"}


class TimeUnit(models.TextChoices):
    WORKING_HOURS = "working_hours", _("Working hours")
    WORKING_DAYS = "working_days", _("Working days")


class OverlayLayer(models.TextChoices):
    """The overlay layers of `zhiwang.grids.models.Layer` (`OVERLAY_LAYERS`), same values."""

    URBAN = "urban", _("Urban management grid")
    FIRE = "fire", _("Fire safety grid")
    POLICE = "police", _("Policing grid")
    SAFETY = "safety", _("Work safety grid")
    ENTERPRISE = "enterprise", _("Enterprise grid")


class Urgency(models.TextChoices):
    """A new case's default urgency; the same values as `zhiwang.cases.models.Urgency`."""

    NORMAL = "normal", _("Normal (一般)")
    URGENT = "urgent", _("Urgent (紧急)")
    EMERGENCY = "emergency", _("Emergency (特急)")


class ExtraFieldType(models.TextChoices):
    """Datatypes of a category's extra fields, as in Open311 GeoReport v2 service definitions."""

    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLE = "singlevaluelist", _("One value from a list")
    MULTI = "multivaluelist", _("Values from a list")


LIST_TYPES = frozenset({ExtraFieldType.SINGLE, ExtraFieldType.MULTI})


class Category(TimeStampedModel):
    """One 大类 (``parent`` is null) or 小类 (``parent`` is its 大类) of the event or component table.

    ``extra_fields`` is a list of ``{"code", "name", "datatype", "required", "description",
    "values": [{"key", "name"}]}`` (``values`` empty unless the datatype is a list); ``keywords``
    a list of strings. Both are stored normalised by the services.
    """

    code = models.CharField(_("code"), max_length=8, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("major category"),
    )
    filing_criteria = models.TextField(_("filing criteria (立案条件)"), blank=True)
    closing_criteria = models.TextField(_("closing criteria (结案条件)"), blank=True)
    time_limit = models.PositiveIntegerField(_("time limit"), null=True, blank=True)
    time_unit = models.CharField(_("time unit"), max_length=16, choices=TimeUnit.choices, blank=True)
    department_kind = models.CharField(
        _("handling department kind"), max_length=16, choices=DepartmentKind.choices, blank=True
    )
    overlay_layer = models.CharField(
        _("overlay layer"),
        max_length=16,
        choices=OverlayLayer.choices,
        blank=True,
        help_text=_("A case inside an overlay grid of this layer goes to that grid's department."),
    )
    handled_by_community = models.BooleanField(_("handled by the community"), default=False)
    urgency_default = models.CharField(
        _("default urgency"), max_length=16, choices=Urgency.choices, default=Urgency.NORMAL
    )
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    extra_fields = models.JSONField(_("extra fields"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["code"]
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        indexes = [models.Index(fields=["kind", "is_active"])]
        constraints = [
            # A 大类 carries no handling rules; a 小类 always has a positive limit, a unit, a department.
            models.CheckConstraint(
                condition=(
                    Q(parent__isnull=True, time_limit__isnull=True, time_unit="", overlay_layer="")
                    & Q(handled_by_community=False)
                )
                | (
                    Q(
                        parent__isnull=False,
                        time_limit__gt=0,
                        time_unit__in=[TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS],
                    )
                    & ~Q(department_kind="")
                ),
                name="category_limits_on_minors_only",
            ),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="category_kind_valid"),
            models.CheckConstraint(
                condition=Q(overlay_layer="") | Q(overlay_layer__in=OverlayLayer.values),
                name="category_overlay_layer_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_major(self) -> bool:
        return self.parent_id is None

    @property
    def parent_code(self) -> str | None:
        return self.code[:3] if self.parent_id is not None else None


class TaxonomyRevision(models.Model):
    """One row whose token changes with every write to the taxonomy (under a row lock).

    In-process caches (`zhiwang.taxonomy.selectors.category_by_code`) compare the token with the
    one they were built at, so every process sees an edit at its next lookup.
    """

    token = models.UUIDField(default=uuid.uuid4)
    number = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"taxonomy revision {self.number}"
