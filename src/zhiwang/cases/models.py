"""Cases: a reported problem and everything that happens to it, from report to evaluated closure.

`Case` holds the current state; `CaseEvent` is its timeline (one row per step, never changed);
`Extension`, `Whistle`/`WhistleSummon` and `RoutingRule` carry the workflow's side records.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zhiwang.accounts.models import Department
from zhiwang.common.models import CityKeyed
from zhiwang.grids.models import GridNode


class Channel(models.TextChoices):
    GRID_WORKER = "grid_worker", _("Grid worker")
    RESIDENT = "resident", _("Resident")
    HOTLINE = "hotline", _("12345 hotline")
    INSPECTION = "inspection", _("Inspection")
    DEPARTMENT = "department", _("Department")
    MACHINE = "machine", _("Video or sensor platform")
    APP = "app", _("Third-party app (Open311)")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class Status(models.TextChoices):
    REPORTED = "reported", _("Reported")  # 待受理
    ACCEPTED = "accepted", _("Accepted")  # 已立案, waiting for dispatch
    REJECTED = "rejected", _("Rejected")  # 不予立案
    MERGED = "merged", _("Merged")  # merged into another case
    DISPATCHED = "dispatched", _("Dispatched")  # 已派遣, waiting for the handler to sign
    RETURNED = "returned", _("Returned")  # 退单, waiting for re-dispatch
    SIGNED = "signed", _("Signed")  # 已签收, being handled
    HANDLED = "handled", _("Handled")  # 已处置, waiting for the finder's verification
    REVISIT = "revisit", _("Follow-up visit")  # 核查通过, waiting for the follow-up visit
    PARKED = "parked", _("Parked")  # 挂账
    CLOSED = "closed", _("Closed")  # 已结案


OPEN_STATUSES = frozenset(
    {
        Status.REPORTED,
        Status.ACCEPTED,
        Status.DISPATCHED,
        Status.RETURNED,
        Status.SIGNED,
        Status.HANDLED,
        Status.REVISIT,
        Status.PARKED,
    }
)
FINAL_STATUSES = frozenset({Status.REJECTED, Status.MERGED, Status.CLOSED})
# Where a deadline can run out: open and not parked (with no handling yet and the clock running).
WATCHED_STATUSES = sorted(OPEN_STATUSES - {Status.PARKED})


class Light(models.TextChoices):
    NONE = "none", _("No deadline")
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    RED = "red", _("Red")
    STOPPED = "stopped", _("Clock stopped")


class Case(CityKeyed):
    """A reported problem. `city_id` is the top-level grid of its place (or of the deployment, for a
    report outside every grid); its timeline, photos and extension requests carry the same city."""

    number = models.CharField(max_length=24, unique=True, null=True, blank=True)
    tracking_code = models.CharField(max_length=16, unique=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    idempotency_key = models.CharField(max_length=80, unique=True, null=True, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
    )
    reporter_name = models.CharField(max_length=60, blank=True)
    reporter_phone = models.CharField(max_length=20, blank=True)
    external_ref = models.CharField(max_length=64, blank=True, db_index=True)

    # Where: WGS-84, converted at the edge; the phone's own system and numbers are kept.
    lon = models.FloatField()
    lat = models.FloatField()
    source_system = models.CharField(max_length=8, default="wgs84")
    source_lon = models.FloatField()
    source_lat = models.FloatField()
    address = models.CharField(max_length=200, blank=True)
    grid = models.ForeignKey(GridNode, null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    # The grid's path at report time: scope filters are a prefix match on it.
    grid_path = models.CharField(max_length=255, blank=True, db_index=True)
    overlay_grids = models.ManyToManyField(GridNode, blank=True, related_name="overlay_cases")

    category = models.ForeignKey(
        "taxonomy.Category", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    description = models.TextField()
    urgency = models.CharField(max_length=12, choices=Urgency.choices, default=Urgency.NORMAL)
    extra = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REPORTED, db_index=True)
    parked_from = models.CharField(max_length=12, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged"
    )
    # Who handles it: a department, or a community for matters it settles itself.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    community = models.ForeignKey(
        GridNode, null=True, blank=True, on_delete=models.PROTECT, related_name="community_cases"
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="handled_cases",
    )
    # 0: community, 1: town, 2: city. Rises when an overdue case escalates.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    supervision_count = models.PositiveIntegerField(default=0)
    rework_count = models.PositiveIntegerField(default=0)
    return_count = models.PositiveIntegerField(default=0)
    self_handled = models.BooleanField(default=False)

    # The deadline: a budget of office time, counted from the first dispatch on the working
    # calendar, stopped while the case is parked or an extension request is pending.
    limit_seconds = models.PositiveIntegerField(null=True, blank=True)
    extension_seconds = models.PositiveIntegerField(default=0)
    paused_seconds = models.PositiveIntegerField(default=0)
    paused_since = models.DateTimeField(null=True, blank=True)
    clock_started_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    dispatch_due_at = models.DateTimeField(null=True, blank=True)

    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.CharField(max_length=300, blank=True)

    reported_at = models.DateTimeField(db_index=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The KPI-relevant values as last counted by the rollups (set when loaded or saved).
    _kpi_counted: dict[str, Any] | None = None

    class Meta:
        ordering = ["-reported_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["grid_path", "reported_at"]),
            models.Index(fields=["department", "status"]),
            # The overdue watch (escalation, the KPIs' overdue_unhandled): open, unhandled, clock running.
            models.Index(
                fields=["due_at"],
                include=["city_id", "grid_path", "reported_at", "department", "reporter"],
                condition=Q(handled_at__isnull=True, paused_since__isnull=True, status__in=WATCHED_STATUSES),
                name="case_overdue_watch",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"case {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Case:
        case = super().from_db(db, field_names, values)
        # What the KPI rollups last counted for this case: a save compares against it.
        loaded = case.__dict__
        if all(name in loaded for name in KPI_FIELDS):
            case._kpi_counted = {name: loaded[name] for name in KPI_FIELDS}
        return case


# The fields a case's contribution to the KPI rollups depends on (see `zhiwang.cases.rollups`).
KPI_FIELDS = (
    "status",
    "reported_at",
    "grid_path",
    "department_id",
    "accepted_at",
    "self_handled",
    "dispatched_at",
    "dispatch_due_at",
    "handled_at",
    "due_at",
    "rework_count",
    "rating",
    "extension_seconds",
)


class KpiCounters(models.Model):
    """The additive KPI counters of a set of cases (a day's cases of a node and department)."""

    day = models.DateField()
    reported = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    self_handled = models.IntegerField(default=0)
    dispatched = models.IntegerField(default=0)
    dispatched_on_time = models.IntegerField(default=0)
    handled = models.IntegerField(default=0)
    handled_on_time = models.IntegerField(default=0)
    handled_late = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    reworked = models.IntegerField(default=0)
    extended = models.IntegerField(default=0)
    parked = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    rating_sum = models.IntegerField(default=0)
    timed = models.IntegerField(default=0)  # handled after a dispatch: the handling-time sample
    handling_seconds = models.BigIntegerField(default=0)
    # Handling times of the sample by bucket (see rollups.bucket): {"bucket": count}.
    handling_buckets = models.JSONField(default=dict)

    class Meta:
        abstract = True


class KpiCell(KpiCounters):
    """The counters of the cases reported on one day (or, with `whole_month`, in the month starting on
    `day`) under a grid node of the top two levels (0: every case) and handled by one department (0:
    every department). Kept by `zhiwang.cases.rollups`."""

    node_key = models.IntegerField()
    department_key = models.IntegerField()
    whole_month = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["node_key", "department_key", "whole_month", "day"], name="one_kpi_cell"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.node_key}/{self.department_key}/{self.day}"


class KpiDelta(KpiCounters):
    """A change to the counters written in the same transaction as the case's change; the worker folds
    deltas into cells. Readers add the deltas not folded yet, so figures are exact at any moment."""

    root_key = models.IntegerField()  # the case's top-level node (0: outside every grid)
    town_key = models.IntegerField()  # its second-level node (0: none)
    department_key = models.IntegerField()  # 0: no department

    def __str__(self) -> str:
        return f"delta {self.pk} {self.day}"


class CaseEvent(CityKeyed):
    """One step in a case's timeline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=150, blank=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"]), models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class CasePhoto(CityKeyed):
    class Stage(models.TextChoices):
        REPORT = "report", _("At report")
        BEFORE = "before", _("Before handling")
        AFTER = "after", _("After handling")
        VERIFY = "verify", _("At verification")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(max_length=8, choices=Stage.choices)
    file = models.FileField(upload_to="cases/%Y/%m/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.case_id} {self.stage}"


class ExtensionQuerySet(models.QuerySet["Extension"]):
    def pending_for(self, case: Case) -> ExtensionQuerySet:
        """The request of `case` waiting for a decision (at most one), read by the case's city."""
        return self.filter(city_id=case.city_id, case=case, decision=Extension.Decision.PENDING)


class Extension(CityKeyed):
    class Decision(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    amount = models.FloatField()
    unit = models.CharField(max_length=16)
    reason = models.TextField()
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ExtensionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(decision="pending"), name="one_pending_extension"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} +{self.amount} {self.unit}"


class WhistleLevel(models.TextChoices):
    DAILY = "daily", _("Daily whistle (日常哨)")
    TACKLE = "tackle", _("Tackling whistle (攻坚哨)")
    EMERGENCY = "emergency", _("Emergency whistle (应急哨)")


class Whistle(models.Model):
    """吹哨报到: a community or town summons named departments to a problem on the spot."""

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="whistles")
    level = models.CharField(max_length=10, choices=WhistleLevel.choices)
    node = models.ForeignKey(GridNode, on_delete=models.PROTECT, related_name="whistles")
    blown_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.TextField()
    blown_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.level} whistle {self.pk}"


class WhistleSummon(models.Model):
    whistle = models.ForeignKey(Whistle, on_delete=models.CASCADE, related_name="summons")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="summons")
    respond_by = models.DateTimeField()
    reported_at = models.DateTimeField(null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["whistle", "department"], name="one_summon_per_department")
        ]

    def __str__(self) -> str:
        return f"{self.whistle_id} → {self.department_id}"


class RoutingRule(models.Model):
    """An administrator's override: cases of a category (or any) inside a grid subtree go to a department."""

    category = models.ForeignKey(
        "taxonomy.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="routing_rules"
    )
    grid = models.ForeignKey(GridNode, on_delete=models.CASCADE, related_name="routing_rules")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="routing_rules")
    priority = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return f"{self.category_id or '*'} @ {self.grid_id} → {self.department_id}"
