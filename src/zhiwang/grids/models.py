"""The grid registry: the administrative tree and the overlay grids laid over it.

A `GridNode` is one grid's identity: its code, name, place in the tree and lifespan. Its current
polygon is kept on the row for fast reads; every polygon it ever had is a `GridShape` with an
effective period, so a past date still answers "which grid was this point in then". Splits, merges,
redraws and imports are `GridChange` rows linking the grids they retired to the grids they created.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zhiwang.common.models import TimeStampedModel


class Layer(models.TextChoices):
    ADMIN = "admin", _("Administrative grid")
    URBAN = "urban", _("Urban management grid")
    FIRE = "fire", _("Fire safety grid")
    POLICE = "police", _("Policing grid")
    SAFETY = "safety", _("Work safety grid")
    ENTERPRISE = "enterprise", _("Enterprise grid")


OVERLAY_LAYERS = frozenset({Layer.URBAN, Layer.FIRE, Layer.POLICE, Layer.SAFETY, Layer.ENTERPRISE})


class Level(models.TextChoices):
    CITY = "city", _("City")
    TOWN = "town", _("Town/street")
    COMMUNITY = "community", _("Village/community")
    GRID = "grid", _("Base grid")
    SUBGRID = "subgrid", _("Sub-grid")
    OVERLAY = "overlay", _("Overlay grid")


# The administrative tree, top down, and the width of each level's full code.
ADMIN_LEVELS: tuple[str, ...] = (Level.CITY, Level.TOWN, Level.COMMUNITY, Level.GRID, Level.SUBGRID)
CODE_LENGTH: dict[str, int] = {
    Level.CITY: 6,
    Level.TOWN: 9,
    Level.COMMUNITY: 12,
    Level.GRID: 15,
    Level.SUBGRID: 18,
}


class GridNode(TimeStampedModel):
    layer = models.CharField(max_length=16, choices=Layer.choices, default=Layer.ADMIN)
    level = models.CharField(max_length=16, choices=Level.choices)
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of ids, "/1/17/342/": a subtree is `path__startswith`.
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    geometry = models.JSONField(help_text="GeoJSON Polygon or MultiPolygon in WGS-84 (CGCS2000) lon/lat.")
    area_m2 = models.FloatField(default=0.0)
    min_lon = models.FloatField(default=0.0)
    min_lat = models.FloatField(default=0.0)
    max_lon = models.FloatField(default=0.0)
    max_lat = models.FloatField(default=0.0)
    label_lon = models.FloatField(default=0.0)
    label_lat = models.FloatField(default=0.0)

    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["layer", "code"], condition=Q(valid_to__isnull=True), name="grid_code_unique_current"
            ),
        ]
        indexes = [
            models.Index(fields=["layer", "level", "valid_to"]),
            models.Index(fields=["code"]),
        ]
        ordering = ["layer", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_current(self) -> bool:
        return self.valid_to is None

    @property
    def is_overlay(self) -> bool:
        return self.layer != Layer.ADMIN

    @property
    def kind_label(self) -> str:
        """Street or town (GB/T 10114), community or village (the statistical code ranges)."""
        if self.layer != Layer.ADMIN:
            return str(Layer(self.layer).label)
        if self.level == Level.TOWN and len(self.code) == 9:
            return "街道" if int(self.code[6:9]) < 100 else "镇"
        if self.level == Level.COMMUNITY and len(self.code) == 12:
            # 001–199 居委会, 200–399 村委会, 400–499 like a 居委会, 500–599 like a 村委会.
            return "村" if int(self.code[9:12]) // 100 in (2, 3, 5) else "社区"
        return str(Level(self.level).label)

    def ancestor_ids(self) -> list[int]:
        return path_ids(self.path)[:-1]


def path_ids(path: str) -> list[int]:
    """The node ids of a materialised path, root first: "/1/17/342/" → [1, 17, 342]."""
    return [int(part) for part in path.strip("/").split("/") if part]


def city_of(path: str) -> int | None:
    """The id of the city (top-level node) a path lies under: "/1/17/342/" → 1."""
    head = path.strip("/").split("/", 1)[0]
    return int(head) if head else None


def path_prefixes(path: str) -> list[str]:
    """The paths of a node and of every node above it, root first: ["/1/", "/1/17/", "/1/17/342/"]."""
    ids = path_ids(path)
    return ["/" + "/".join(str(i) for i in ids[: n + 1]) + "/" for n in range(len(ids))]


class GridShape(models.Model):
    """One polygon a grid had over a period [valid_from, valid_to)."""

    node = models.ForeignKey(GridNode, on_delete=models.CASCADE, related_name="shapes")
    geometry = models.JSONField()
    area_m2 = models.FloatField(default=0.0)
    min_lon = models.FloatField(default=0.0)
    min_lat = models.FloatField(default=0.0)
    max_lon = models.FloatField(default=0.0)
    max_lat = models.FloatField(default=0.0)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["valid_from", "valid_to"])]
        ordering = ["node_id", "valid_from"]

    def __str__(self) -> str:
        return f"shape of {self.node_id} from {self.valid_from:%Y-%m-%d}"


class ChangeKind(models.TextChoices):
    CREATE = "create", _("Created")
    IMPORT = "import", _("Imported")
    SPLIT = "split", _("Split")
    MERGE = "merge", _("Merged")
    REDRAW = "redraw", _("Redrawn")
    RETIRE = "retire", _("Retired")
    RENAME = "rename", _("Renamed")


class GridChange(models.Model):
    """A change to the grid map. `sources` were retired or reshaped, `results` came out of it."""

    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    effective_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    actor_label = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    sources = models.ManyToManyField(GridNode, related_name="changes_from", blank=True)
    results = models.ManyToManyField(GridNode, related_name="changes_to", blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-effective_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.effective_at:%Y-%m-%d}"
