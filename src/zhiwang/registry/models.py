"""The base-data registry (二标四实): standard addresses, buildings and rooms; persons, units and
facilities, each tied to the base grid it lies in.

Every row that belongs to a place stores the path of its base grid (`grid_path`), so a scoped read is
a prefix match, as for cases. ID numbers and phone numbers are stored encrypted (`crypto.encrypt`),
with a keyed hash for exact search and a masked form for display; nothing else of them is kept.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from zhiwang.common.models import TimeStampedModel
from zhiwang.grids.models import GridNode

# Column names bound into each encrypted value (the AES-GCM associated data) and its lookup hash.
ID_NUMBER_COLUMN = "person.id_number"
PERSON_PHONE_COLUMN = "person.phone"
UNIT_PHONE_COLUMN = "unit.contact_phone"
BUILDING_PHONE_COLUMN = "building.manager_phone"


class Located(TimeStampedModel):
    """A WGS-84 point and the current base grid it lies in (`grids.locate`)."""

    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    grid = models.ForeignKey(GridNode, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        abstract = True


class Address(Located):
    """A standard door-plate address: town › community › street/lane › door number (GB/T 39609)."""

    code = models.CharField(max_length=24, unique=True)  # community code (12) + 5-digit sequence
    town = models.ForeignKey(GridNode, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey(GridNode, on_delete=models.PROTECT, related_name="+")
    road = models.CharField(_("street or lane"), max_length=100)
    door_number = models.CharField(_("door number"), max_length=20)
    full_text = models.CharField(max_length=300)
    aliases = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "road", "door_number"], name="address_unique_door")
        ]
        ordering = ["code"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.code} {self.full_text}"


class BuildingKind(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    SELF_BUILT = "self_built", _("Self-built house")
    COMMERCIAL = "commercial", _("Commercial")
    INDUSTRIAL = "industrial", _("Industrial")
    MIXED = "mixed", _("Mixed use")
    OTHER = "other", _("Other")


class Building(Located):
    code = models.CharField(max_length=27, unique=True)  # address code + 3-digit sequence
    address = models.ForeignKey(Address, on_delete=models.PROTECT, related_name="buildings")
    name = models.CharField(max_length=50)  # "3栋"
    kind = models.CharField(max_length=16, choices=BuildingKind.choices, default=BuildingKind.RESIDENTIAL)
    floors = models.PositiveSmallIntegerField(default=1)
    use = models.CharField(max_length=100, blank=True)
    is_rental = models.BooleanField(default=False)  # 出租屋
    owner_name = models.CharField(max_length=100, blank=True)
    manager_name = models.CharField(max_length=100, blank=True)
    manager_phone_enc = models.TextField(blank=True)
    manager_phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    manager_phone_masked = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["address", "name"], name="building_unique_name")]
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RoomUse(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    DORMITORY = "dormitory", _("Dormitory")
    COMMERCIAL = "commercial", _("Commercial")
    PRODUCTION = "production", _("Production")
    STORAGE = "storage", _("Storage")
    OTHER = "other", _("Other")


class RentalStatus(models.TextChoices):
    SELF_OCCUPIED = "self_occupied", _("Self-occupied")
    RENTED = "rented", _("Rented out")
    VACANT = "vacant", _("Vacant")


class Room(TimeStampedModel):
    code = models.CharField(max_length=32, unique=True)  # building code + 4-digit sequence
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="rooms")
    unit = models.CharField(max_length=20, blank=True)  # 单元
    number = models.CharField(max_length=20)  # 室
    floor = models.SmallIntegerField(null=True, blank=True)
    use = models.CharField(max_length=16, choices=RoomUse.choices, default=RoomUse.RESIDENTIAL)
    rental_status = models.CharField(
        max_length=16, choices=RentalStatus.choices, default=RentalStatus.SELF_OCCUPIED
    )
    grid_path = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["building", "unit", "number"], name="room_unique_number")
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    UNKNOWN = "U", _("Unknown")


class PersonKind(models.TextChoices):
    REGISTERED = "registered", _("Registered resident (户籍人口)")
    MIGRANT = "migrant", _("Migrant (流动人口)")


class InflowReason(models.TextChoices):
    WORK = "work", _("Work")
    BUSINESS = "business", _("Business")
    STUDY = "study", _("Study")
    FAMILY = "family", _("Family")
    OTHER = "other", _("Other")


class PermitType(models.TextChoices):
    NONE = "none", _("None")
    REGISTRATION = "registration", _("Residence registration (居住登记)")
    PERMIT = "permit", _("Residence permit (居住证)")


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Living here")
    MOVED_OUT = "moved_out", _("Moved out")
    ANONYMISED = "anonymised", _("Deleted (anonymised)")


class HealthStatus(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    HEALTHY = "healthy", _("Healthy")
    CHRONIC = "chronic", _("Chronic illness")
    DISABLED = "disabled", _("Disabled")
    SEVERE_MENTAL = "severe_mental", _("Severe mental disorder")
    BEDRIDDEN = "bedridden", _("Bedridden")


class EmploymentStatus(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    EMPLOYED = "employed", _("Employed")
    SELF_EMPLOYED = "self_employed", _("Self-employed")
    UNEMPLOYED = "unemployed", _("Unemployed")
    STUDENT = "student", _("Student")
    RETIRED = "retired", pgettext_lazy("employment", "Retired")


class MobilityStatus(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    RESIDENT = "resident", _("Living here")
    AWAY = "away", _("Away for a while")
    MOVED_OUT = "moved_out", _("Moved out")


# Key-group tags (重点人群): shown only to the roles that care for them (see permissions.py).
KEY_GROUP_TAGS = (
    "special_population",  # 特殊人群 (刑满释放、社区矫正、吸毒人员…)
    "key_youth",  # 重点青少年
    "elderly_alone",  # 独居老人
    "left_behind_child",  # 留守儿童
    "disabled",  # 残疾人
    "low_income",  # 低保
    "veteran",  # 退役军人
)


class Person(TimeStampedModel):
    """One person's registration at a residence (GB/T 31000 base fields)."""

    id_number_enc = models.TextField(blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True)
    id_number_masked = models.CharField(max_length=18, blank=True)
    name = models.CharField(max_length=50, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(null=True, blank=True)  # kept after anonymisation
    ethnicity = models.CharField(max_length=20, blank=True)
    registered_region = models.CharField(max_length=6, blank=True)  # 户籍地 region code, kept
    registered_address = models.CharField(max_length=200, blank=True)  # 户籍地址
    residence_matches = models.BooleanField(default=False)  # 人户一致
    phone_enc = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_masked = models.CharField(max_length=20, blank=True)
    employer_name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=16, choices=PersonKind.choices, default=PersonKind.REGISTERED)
    inflow_reason = models.CharField(max_length=16, choices=InflowReason.choices, blank=True)
    permit_type = models.CharField(max_length=16, choices=PermitType.choices, blank=True)
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.PROTECT, related_name="residents")
    grid = models.ForeignKey(GridNode, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=PersonStatus.choices, default=PersonStatus.ACTIVE)
    health_status = models.CharField(max_length=16, choices=HealthStatus.choices, blank=True)
    health_since = models.DateField(null=True, blank=True)
    employment_status = models.CharField(max_length=16, choices=EmploymentStatus.choices, blank=True)
    employment_since = models.DateField(null=True, blank=True)
    mobility_status = models.CharField(max_length=16, choices=MobilityStatus.choices, blank=True)
    mobility_since = models.DateField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    moved_out_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # One living registration per ID number; moved-out and anonymised rows stay as history.
            models.UniqueConstraint(
                fields=["id_number_hash"],
                condition=Q(status="active") & ~Q(id_number_hash=""),
                name="person_unique_active_id",
            )
        ]
        indexes = [models.Index(fields=["grid_path", "status"])]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"person {self.pk}"


class TenancyKind(models.TextChoices):
    OWNER = "owner", _("Owner")
    TENANT = "tenant", _("Tenant")
    FAMILY = "family", _("Family member")
    DORMITORY = "dormitory", _("Dormitory")
    OTHER = "other", _("Other")


class Tenancy(TimeStampedModel):
    """A person living in a room from one day to another: the move-in/move-out history."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="tenancies")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="tenancies")
    kind = models.CharField(max_length=16, choices=TenancyKind.choices, default=TenancyKind.OWNER)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    grid_path = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        ordering = ["person_id", "starts_on", "id"]
        verbose_name_plural = "tenancies"

    def __str__(self) -> str:
        return f"{self.person_id} in {self.room_id} from {self.starts_on}"


class UnitKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    INDIVIDUAL = "individual", _("Individual business")
    SHOP = "shop", _("Shop")
    SMALL_STALL = "small_stall", _("Small stall (小档口)")
    SMALL_WORKSHOP = "small_workshop", _("Small workshop (小作坊)")
    SMALL_ENTERTAINMENT = "small_entertainment", _("Small entertainment venue (小娱乐场所)")
    OTHER = "other", _("Other")


SMALL_VENUE_KINDS = frozenset({UnitKind.SMALL_STALL, UnitKind.SMALL_WORKSHOP, UnitKind.SMALL_ENTERTAINMENT})


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    MAJOR = "major", _("Major")


class Unit(Located):
    """A market entity: enterprise, shop or 三小场所."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=24, choices=UnitKind.choices, default=UnitKind.ENTERPRISE)
    credit_code = models.CharField(max_length=18, null=True, blank=True, unique=True)
    industry = models.CharField(max_length=100, blank=True)
    address = models.ForeignKey(
        Address, null=True, blank=True, on_delete=models.PROTECT, related_name="units"
    )
    contact_name = models.CharField(max_length=50, blank=True)
    contact_phone_enc = models.TextField(blank=True)
    contact_phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    contact_phone_masked = models.CharField(max_length=20, blank=True)
    headcount = models.PositiveIntegerField(default=0)
    risk_level = models.CharField(max_length=8, choices=RiskLevel.choices, default=RiskLevel.LOW)
    enterprise_grid = models.ForeignKey(
        GridNode, null=True, blank=True, on_delete=models.PROTECT, related_name="registry_units"
    )
    enterprise_grid_path = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Employment(TimeStampedModel):
    """A person working for a unit. Links the enterprise grid's workforce to where they live.

    `person` may be empty while nobody with `person_id_hash` is registered; the link is made when
    that person is registered (see `services.person_create`).
    """

    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="employments"
    )
    person_id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="employments")
    position = models.CharField(max_length=100, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["unit_id", "starts_on", "id"]

    def __str__(self) -> str:
        return f"{self.person_id} at {self.unit_id}"


class FacilityStatus(models.TextChoices):
    INTACT = "intact", _("Intact")
    DAMAGED = "damaged", _("Damaged")
    LOST = "lost", _("Lost")
    REMOVED = "removed", _("Removed")


class Facility(Located):
    """A city component (部件) with its 16-digit code."""

    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    major_code = models.CharField(max_length=2)
    minor_code = models.CharField(max_length=2)
    owner_department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    owner_name = models.CharField(max_length=100, blank=True)
    maintainer_department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    maintainer_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=FacilityStatus.choices, default=FacilityStatus.INTACT)
    address_text = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "facilities"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ImportStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REFUSED = "refused", _("Refused")


class ImportBatch(models.Model):
    """One file imported (or refused) with its row-by-row report. Values are never kept here."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16)
    filename = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=ImportStatus.choices)
    rows_total = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"row", "column", "code", "message"}]
    # Every problem found; `errors` keeps the first MAX_REPORTED_ERRORS of them.
    error_count = models.PositiveIntegerField(default=0)
    # What an applied file of several kinds of records added, by kind ({"addresses": 3, "rooms": 120}).
    added = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} ({self.status})"


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """A file uploaded on the console, imported by `zhiwang worker` (`importing.jobs`).

    The file waits sealed (`crypto.seal_file`) under MEDIA_ROOT and is deleted once imported. The
    outcome is the `ImportBatch` (applied, or refused with its report); `error_code` and
    `error_message` say why a file never became a batch (columns that do not fit, not a table)."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16)
    filename = models.CharField(max_length=200)
    mapping = models.JSONField(default=dict, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED)
    batch = models.OneToOneField(
        ImportBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="job"
    )
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    origin_ip = models.GenericIPAddressField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # runs started (a stopped worker's run counts)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} import job {self.pk} ({self.status})"


# Residents' self-service (居住登记, 自主申报) ------------------------------------------------------

DECLARATION_ID_NUMBER_COLUMN = "declaration.id_number"
DECLARATION_PHONE_COLUMN = "declaration.phone"  # the declarant's
DECLARATION_PERSON_PHONE_COLUMN = "declaration.person_phone"  # a landlord's tenant's


class DeclarationKind(models.TextChoices):
    RESIDENCE = "residence", _("Residence registration (居住登记)")
    LANDLORD = "landlord", _("Landlord's declaration of a tenant")
    TENANT = "tenant", _("Tenant's own declaration")


class DeclarationStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("declaration", "Waiting for review")
    APPROVED = "approved", pgettext_lazy("declaration", "Approved")
    REJECTED = "rejected", pgettext_lazy("declaration", "Rejected")


class Declaration(TimeStampedModel):
    """A resident's declaration that someone lives in a room, pending a review by the grid worker.

    The declarant proves who they are with the declaration's code and their phone. ID and phone
    numbers are sealed as a person's are (encrypted, hashed, masked); once the declaration is decided
    the encrypted values and hashes are cleared (an approved one lives on in the person's record).
    """

    code = models.CharField(max_length=16, unique=True)
    idempotency_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    kind = models.CharField(max_length=16, choices=DeclarationKind.choices)
    status = models.CharField(
        max_length=16, choices=DeclarationStatus.choices, default=DeclarationStatus.PENDING
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="declarations")
    grid = models.ForeignKey(GridNode, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    grid_path = models.CharField(max_length=255, blank=True)
    declarant_name = models.CharField(max_length=50)
    declarant_phone_enc = models.TextField(blank=True)
    declarant_phone_hash = models.CharField(max_length=64, blank=True)
    declarant_phone_masked = models.CharField(max_length=20, blank=True)
    person_name = models.CharField(max_length=50)
    id_number_enc = models.TextField(blank=True)
    id_number_hash = models.CharField(max_length=64, blank=True)
    id_number_masked = models.CharField(max_length=18, blank=True)
    person_phone_enc = models.TextField(blank=True)
    person_phone_hash = models.CharField(max_length=64, blank=True)
    person_phone_masked = models.CharField(max_length=20, blank=True)
    person_kind = models.CharField(max_length=16, choices=PersonKind.choices, default=PersonKind.MIGRANT)
    inflow_reason = models.CharField(max_length=16, choices=InflowReason.choices, blank=True)
    employer_name = models.CharField(max_length=100, blank=True)
    moved_in_on = models.DateField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=300, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["grid_path", "status"])]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"declaration {self.code}"
