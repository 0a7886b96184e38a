"""Base-grid numbering inside a community (pure: no Django).

The national unit-grid code appends a 3-digit sequence to the 12-digit community (village-level)
statistical code, numbering the community's base grids "west→east, then north→south", i.e. in
reading order: rows from north to south, within a row from west to east.

Row rule used by :func:`reading_order` (documented so that numbering is reproducible):

1. Typical cell size ``d``: the spacing of a square lattice of ``n`` points that spans the
   points' bounding box ``w × h``, i.e. the positive root of ``n·d² = (w + d)(h + d)``.  It is exact
   for a ``r × c`` lattice (``w = (c-1)d``, ``h = (r-1)d``) and degrades gracefully for irregular
   points; for a single point or coincident points it is 0.
2. Rows are built greedily from the north: the northernmost unassigned point anchors a row, and
   the row takes every unassigned point whose latitude is at least ``anchor − d/2``.  A lattice
   row is therefore recovered intact as long as the jitter stays below ``d/4`` either way, and a
   row can never grow taller than ``d/2`` (no chaining along a diagonal).
3. Within a row points are ordered by longitude (west first); exact ties fall back to latitude
   (north first) and then to the input index, so the result is a deterministic permutation.

Longitude is compared as given (no wrap-around handling: the demo city is far from ±180°).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = ["MAX_SEQ", "grid_code", "reading_order", "typical_spacing"]

MAX_SEQ = 999
_COMMUNITY_CODE = re.compile(r"[0-9]{12}")


def typical_spacing(points: Sequence[tuple[float, float]]) -> float:
    """Lattice spacing ``d`` solving ``n·d² = (w + d)(h + d)`` for the points' bounding box ``w × h``."""
    n = len(points)
    if n < 2:
        return 0.0
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    w = max(lons) - min(lons)
    h = max(lats) - min(lats)
    # (n - 1)·d² − (w + h)·d − w·h = 0, positive root.
    b = w + h
    return (b + math.sqrt(b * b + 4.0 * (n - 1) * w * h)) / (2.0 * (n - 1))


def reading_order(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of ``points`` (lon, lat) in reading order: rows north→south, each row west→east.

    See the module docstring for the row rule.  Raises ``ValueError`` for non-finite coordinates.
    """
    for lon, lat in points:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise ValueError(f"non-finite point ({lon!r}, {lat!r})")
    half_band = typical_spacing(points) / 2.0
    # North first; ties west first, then by index, so the anchor choice is deterministic.
    remaining = sorted(range(len(points)), key=lambda i: (-points[i][1], points[i][0], i))
    order: list[int] = []
    while remaining:
        floor = points[remaining[0]][1] - half_band
        row = [i for i in remaining if points[i][1] >= floor]
        taken = set(row)
        remaining = [i for i in remaining if i not in taken]
        row.sort(key=lambda i: (points[i][0], -points[i][1], i))
        order.extend(row)
    return order


def grid_code(community_code: str, seq: int) -> str:
    """The 15-digit base-grid code: the 12-digit community code followed by ``seq`` as 3 digits (001–999)."""
    if not isinstance(community_code, str) or not _COMMUNITY_CODE.fullmatch(community_code):
        raise ValueError(f"community code must be 12 ASCII digits, got {community_code!r}")
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise ValueError(f"sequence must be an int, got {seq!r}")
    if not 1 <= seq <= MAX_SEQ:
        raise ValueError(f"sequence must be in 1..{MAX_SEQ}, got {seq}")
    return f"{community_code}{seq:03d}"
