"""Synthetic nested geometry for the demo city (pure: no Django).

The demo city is an irregular, Dongguan-like outline in WGS-84 (lon/lat degrees), split by nested
Voronoi tessellations: city → towns/streets → villages/communities → base grids.  Everything is
deterministic given a seed.

* :func:`partition` tiles a polygon with exactly ``n`` cells.  Sites are placed by k-means on
  uniform samples of the polygon (Lloyd relaxation, in a locally isotropic frame where a degree of
  longitude is shrunk by ``cos(lat)``), so cells are compact and of similar size.  Without weights
  the cells are the clipped ``shapely.voronoi_polygons`` of the sites.  With weights the cells are
  a clipped *power diagram* (a Voronoi diagram with additive weights; shapely has none, so it is
  built by half-plane clipping) whose weights are fitted so that cell areas follow ``weights``.
  A cell that the clipping splits into several parts keeps its largest part; the other parts are
  merged into the neighbour that shares the longest border with them.
* :func:`roughen` gives borders realistic vertex counts without breaking the tiling: every edge is
  cut where it crosses a fixed global triangulated lattice (spacing ``spacing_deg``; lines
  ``x = i·s``, ``y = j·s`` and ``x − y = k·s`` around :data:`LATTICE_ORIGIN`), then every vertex is
  moved by ``F``, the piecewise-linear interpolant on that lattice of a smooth field ``f`` (a sum
  of sines).  ``x ↦ x + F(x)`` is affine on each lattice triangle and, the slopes of the waves
  adding up to at most :data:`MAX_SLOPE` (so ``‖∇F‖ ≤ √2·MAX_SLOPE < 1``), a homeomorphism of the
  plane; every densified edge is therefore mapped *exactly* onto the image of the original edge.
  Shared borders stay shared (bit-identical within one call), children stay inside their parent
  even where they have vertices the parent lacks (T-junctions), and any level can be roughened on
  its own: the result agrees with roughening all levels in one call up to float rounding.
  Roughened edges are at most ``√2·spacing_deg`` long, which also keeps geodesic area checks
  honest: a long edge that is straight in lon/lat is not a geodesic, and the two differ by
  hundreds of m² over a few km, so unroughened output shows large "slivers" to a geodesic
  validator wherever a T-junction splits an edge.
* :func:`build_tree` puts it together from a :class:`Plan` and numbers the base grids with
  :func:`zhiwang.grids.numbering.grid_code` in reading order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPoint, Polygon
from shapely.geometry.base import BaseGeometry

from zhiwang.grids.numbering import grid_code, reading_order

__all__ = [
    "DEFAULT_AMPLITUDE_DEG",
    "DEFAULT_SPACING_DEG",
    "LATTICE_ORIGIN",
    "MAX_SLOPE",
    "Cell",
    "Plan",
    "apportion",
    "build_tree",
    "city_outline",
    "displacement",
    "iter_cells",
    "partition",
    "roughen",
    "roughen_tree",
]

FloatArray = NDArray[np.float64]

#: Global lattice origin for :func:`roughen` (lon, lat); fixed so that every call uses the same lattice.
LATTICE_ORIGIN: tuple[float, float] = (113.0, 22.0)
#: Default lattice spacing: ~33 m, a few hundred vertices on the border of a ~1 km² base grid.
DEFAULT_SPACING_DEG = 0.0003
#: Default bound on the roughening displacement: ~90 m.
DEFAULT_AMPLITUDE_DEG = 0.0006
#: Bound on the sum of the waves' slopes ``2π·a/L``: the field's Jacobian has ‖J‖₂ ≤ MAX_SLOPE and its
#: piecewise-linear interpolant ‖J‖₂ ≤ √2·MAX_SLOPE < 1, so ``x ↦ x + F(x)`` is one-to-one.
MAX_SLOPE = 0.65
#: Shortest wavelength of the displacement field, in lattice spacings.
MIN_WAVELENGTH_SPACINGS = 8.0
#: Number of wavelength octaves (8·s … 64·s with the default).
OCTAVES = 4
#: Amplitude ∝ wavelength**HURST: below 1, short waves get the larger share of the slope.
HURST = 0.5

_WAVES_PER_OCTAVE = 2


# --------------------------------------------------------------------------------------------------
# Data types


@dataclass(frozen=True)
class Cell:
    """A node of the nested tessellation: ``polygon`` is tiled exactly by the children's polygons."""

    key: str
    polygon: Polygon
    children: tuple[Cell, ...] = ()


@dataclass(frozen=True)
class Plan:
    """What :func:`build_tree` should generate below a cell.

    ``weight`` is the relative area among siblings.  A plan with ``grids > 0`` is a community: it
    is split into that many (similar-sized) base grids keyed ``grid_code(key, seq)`` in reading
    order (``key`` must then be a 12-digit community code, ``grids`` at most 999, and ``children``
    is ignored); otherwise it is split into ``children`` (none: a leaf).
    """

    key: str
    weight: float = 1.0
    children: tuple[Plan, ...] = ()
    grids: int = 0


def iter_cells(root: Cell) -> Iterator[tuple[int, Cell | None, Cell]]:
    """Pre-order walk yielding ``(depth, parent, cell)``; the root has depth 0 and no parent."""
    stack: list[tuple[int, Cell | None, Cell]] = [(0, None, root)]
    while stack:
        depth, parent, cell = stack.pop()
        yield depth, parent, cell
        stack.extend((depth + 1, cell, child) for child in reversed(cell.children))


def apportion(total: int, weights: Sequence[float], minimum: int = 1) -> list[int]:
    """Split ``total`` into integers proportional to ``weights``, none below ``minimum``.

    Shares that would fall below ``minimum`` are raised to it and the rest is shared again among
    the others (repeatedly); then the largest-remainder method rounds, ties going to the earlier
    index.
    """
    n = len(weights)
    if n == 0:
        raise ValueError("no weights")
    if any(not math.isfinite(w) or w <= 0 for w in weights):
        raise ValueError("weights must be positive and finite")
    if minimum < 0 or total < minimum * n:
        raise ValueError(f"cannot give each of {n} at least {minimum} out of {total}")
    floored: set[int] = set()
    while True:
        free = [i for i in range(n) if i not in floored]
        left = total - minimum * len(floored)
        wsum = math.fsum(weights[i] for i in free)
        low = {i for i in free if left * weights[i] / wsum < minimum}
        if not low:
            break
        floored |= low
    counts = [minimum] * n
    quotas = {i: left * weights[i] / wsum for i in free}
    for i in free:
        counts[i] = math.floor(quotas[i])
    short = total - sum(counts)
    for i in sorted(free, key=lambda i: (-(quotas[i] - counts[i]), i))[:short]:
        counts[i] += 1
    return counts


# --------------------------------------------------------------------------------------------------
# City outline

# Hand-drawn, Dongguan-like: the Pearl River estuary to the west, the Dongjiang to the north,
# Huizhou to the east and Shenzhen to the south.  Clockwise from the north-west corner.
_OUTLINE: tuple[tuple[float, float], ...] = (
    (113.545, 23.085),
    (113.585, 23.118),
    (113.640, 23.112),
    (113.690, 23.128),
    (113.745, 23.108),
    (113.800, 23.132),
    (113.862, 23.150),
    (113.915, 23.118),
    (113.968, 23.102),
    (114.010, 23.072),
    (114.062, 23.078),
    (114.098, 23.030),
    (114.150, 23.018),
    (114.205, 22.985),
    (114.258, 22.948),
    (114.242, 22.890),
    (114.196, 22.842),
    (114.226, 22.780),
    (114.205, 22.718),
    (114.158, 22.690),
    (114.105, 22.662),
    (114.045, 22.672),
    (113.990, 22.700),
    (113.938, 22.690),
    (113.884, 22.712),
    (113.835, 22.726),
    (113.782, 22.720),
    (113.742, 22.745),
    (113.700, 22.776),
    (113.668, 22.808),
    (113.628, 22.832),
    (113.598, 22.868),
    (113.575, 22.905),
    (113.552, 22.942),
    (113.568, 22.985),
    (113.534, 23.010),
    (113.522, 23.048),
)


def city_outline() -> Polygon:
    """The synthetic city outline: WGS-84 lon/lat, 37 vertices, ~2,730 km².

    Bounds: lon 113.522–114.258, lat 22.662–23.150; exterior counter-clockwise.
    """
    return shapely.orient_polygons(Polygon(_OUTLINE))


# --------------------------------------------------------------------------------------------------
# Partition


def partition(
    polygon: Polygon,
    n: int,
    rng: np.random.Generator,
    weights: Sequence[float] | None = None,
) -> list[Polygon]:
    """Tile ``polygon`` with exactly ``n`` non-empty valid polygons (see the module docstring).

    With ``weights`` (``n`` positive numbers) cell ``i`` gets about ``weights[i] / sum(weights)`` of
    the area; without, cells have similar areas.  Deterministic given the state of ``rng``.
    """
    if not isinstance(polygon, Polygon) or polygon.is_empty or not polygon.is_valid:
        raise ValueError("partition needs a non-empty valid Polygon")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    target: FloatArray | None = None
    if weights is not None:
        if len(weights) != n:
            raise ValueError(f"{len(weights)} weights for {n} cells")
        target = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(target)) or np.any(target <= 0):
            raise ValueError("weights must be positive and finite")
        target = target / target.sum()
    if n == 1:
        return [polygon]

    # Local frame: centred on the bounds, a degree of longitude shrunk by cos(lat) (isotropic distances).
    minx, miny, maxx, maxy = polygon.bounds
    shift = np.array([(minx + maxx) / 2.0, (miny + maxy) / 2.0])
    scale = np.array([math.cos(math.radians(shift[1])), 1.0])
    local = shapely.transform(polygon, lambda xy: (xy - shift) * scale)
    assert isinstance(local, Polygon)
    samples = _sample(local, max(48 * n, 400) if target is None else max(64 * n, 800), rng)
    sites, offsets = _relax(samples, n, rng, target, local.area)
    sites = _keep_inside(local, sites, samples, offsets)

    if target is None:
        cells = _voronoi_cells(local, sites)
    else:
        cells = _fit_power_cells(local, sites, offsets, target * local.area)
    raw = shapely.transform(np.asarray(cells, dtype=object), lambda xy: xy / scale + shift)
    clipped = shapely.intersection(raw, polygon)
    return _resolve_fragments(list(clipped), n)


def _sample(polygon: Polygon, m: int, rng: np.random.Generator) -> FloatArray:
    """``m`` points drawn uniformly inside ``polygon`` (rejection sampling from its bounds)."""
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    fill = max(polygon.area / ((maxx - minx) * (maxy - miny)), 0.05)
    chunks: list[FloatArray] = []
    have = 0
    while have < m:
        k = int((m - have) / fill * 1.2) + 16
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(k, 2))
        inside = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        chunks.append(inside)
        have += len(inside)
    shapely.destroy_prepared(polygon)
    return np.concatenate(chunks)[:m]


def _sqdist(points: FloatArray, sites: FloatArray) -> FloatArray:
    """Squared distances, (m, n); expanded form, exact enough for nearest-site labels."""
    out: FloatArray = (
        (points**2).sum(axis=1)[:, None] - 2.0 * (points @ sites.T) + (sites**2).sum(axis=1)[None, :]
    )
    return out


def _relax(
    samples: FloatArray, n: int, rng: np.random.Generator, target: FloatArray | None, area: float
) -> tuple[FloatArray, FloatArray]:
    """k-means++ then Lloyd iterations on the samples; with ``target``, capacity-constrained (power)."""
    m = len(samples)
    first = int(rng.integers(m))
    sites = [samples[first]]
    nearest = ((samples - samples[first]) ** 2).sum(axis=1)
    for _ in range(1, n):
        p = nearest / nearest.sum()
        pick = int(rng.choice(m, p=p))
        sites.append(samples[pick])
        nearest = np.minimum(nearest, ((samples - samples[pick]) ** 2).sum(axis=1))
    s = np.array(sites)
    offsets = np.zeros(n)
    area_per_sample = area / m
    tolerance = 1e-3 * math.sqrt(area / n)  # stop once no site moves more than 0.1 % of a cell's size
    for _ in range(30):
        d2 = _sqdist(samples, s)
        if target is not None:
            offsets = _fit_offsets(d2, target * m, offsets, area_per_sample)
        labels = np.argmin(d2 - offsets, axis=1)
        counts = np.bincount(labels, minlength=n)
        sums = np.column_stack(
            [np.bincount(labels, samples[:, 0], minlength=n), np.bincount(labels, samples[:, 1], minlength=n)]
        )
        moved = s.copy()
        full = counts > 0
        moved[full] = sums[full] / counts[full, None]
        # An empty cluster restarts at the sample farthest from its (power) site.
        for i in np.flatnonzero(~full):
            worst = int(np.argmax(np.min(d2 - offsets, axis=1)))
            moved[i] = samples[worst]
            offsets[i] = 0.0
        shift = float(np.abs(moved - s).max())
        s = moved
        if shift < tolerance:
            break
    return s, offsets


def _fit_offsets(
    d2: FloatArray, capacity: FloatArray, offsets: FloatArray, area_per_sample: float
) -> FloatArray:
    """Adjust power weights so that ``argmin(d2 - w)`` assigns about ``capacity`` samples to each site."""
    w = offsets.copy()
    n = len(w)
    for _ in range(8):  # warm-started from the previous Lloyd step; the exact fit comes later
        counts = np.bincount(np.argmin(d2 - w, axis=1), minlength=n)
        error = capacity - counts
        if np.abs(error).max() <= max(1.0, 0.01 * capacity.min()):
            break
        # Raising w_i by δ grows a compact cell by about √3·δ (hexagonal neighbourhood); damped.
        w += 0.5 * error * area_per_sample / math.sqrt(3.0)
        w -= w.mean()
    return w


def _keep_inside(polygon: Polygon, sites: FloatArray, samples: FloatArray, offsets: FloatArray) -> FloatArray:
    """Move sites that fell outside a non-convex polygon onto the nearest sample of their own cluster."""
    inside = shapely.contains_xy(polygon, sites[:, 0], sites[:, 1])
    if inside.all():
        return sites
    labels = np.argmin(_sqdist(samples, sites) - offsets, axis=1)
    out = sites.copy()
    for i in np.flatnonzero(~inside):
        members = samples[labels == i]
        if len(members) == 0:
            members = samples
        out[i] = members[np.argmin(((members - sites[i]) ** 2).sum(axis=1))]
    return out


def _voronoi_cells(polygon: Polygon, sites: FloatArray) -> list[Polygon]:
    diagram = shapely.voronoi_polygons(MultiPoint(sites), extend_to=polygon, ordered=True)
    cells = list(shapely.get_parts(diagram))
    if len(cells) != len(sites):
        raise RuntimeError(f"voronoi_polygons gave {len(cells)} cells for {len(sites)} sites")
    return cells


@dataclass(frozen=True)
class _PowerDiagram:
    cells: list[Polygon]
    # Edges between cells: edge e lies in cell owner[e] on the border with cell other[e].
    owner: NDArray[np.int64]
    other: NDArray[np.int64]
    segments: FloatArray  # (E, 2, 2)


def _power_cells(
    sites: FloatArray, offsets: FloatArray, bounds: tuple[float, float, float, float]
) -> _PowerDiagram:
    """Convex power cells ``{x : |x-p_i|² - w_i ≤ |x-p_j|² - w_j ∀j}`` covering ``bounds``.

    For cell ``i`` the half-plane of site ``j`` is ``2 x·(p_j − p_i) ≤ (|p_j|² − |p_i|²) + (w_i − w_j)``
    (both terms flip sign exactly for ``(j, i)``).  Its border lies at signed distance
    ``h_ij = (|p_j − p_i|² + w_i − w_j) / (2 |p_j − p_i|)`` from ``p_i``; clipping in increasing
    ``h_ij`` can stop as soon as the cell lies within ``h`` of ``p_i``.
    """
    minx, miny, maxx, maxy = bounds
    pad = 0.01 * max(maxx - minx, maxy - miny)
    lo_x, lo_y, hi_x, hi_y = minx - pad, miny - pad, maxx + pad, maxy + pad
    box = np.array([[lo_x, lo_y], [hi_x, lo_y], [hi_x, hi_y], [lo_x, hi_y]])
    box_labels = np.full(4, -1, dtype=np.int64)
    sq = (sites**2).sum(axis=1)
    delta = sites[None, :, :] - sites[:, None, :]  # delta[i, j] = p_j - p_i
    dist = np.hypot(delta[:, :, 0], delta[:, :, 1])
    np.fill_diagonal(dist, 1.0)
    reach = (dist**2 + offsets[:, None] - offsets[None, :]) / (2.0 * dist)
    np.fill_diagonal(reach, np.inf)  # sorts last, and is dropped
    cells: list[Polygon] = []
    owners: list[NDArray[np.int64]] = []
    others: list[NDArray[np.int64]] = []
    segments: list[FloatArray] = []
    for i in range(len(sites)):
        ring, labels = box, box_labels
        for j in np.argsort(reach[i], kind="stable")[:-1]:
            if np.sqrt(((ring - sites[i]) ** 2).sum(axis=1)).max() <= reach[i, j]:
                break
            ring, labels = _clip_halfplane(
                ring, labels, 2.0 * delta[i, j], (sq[j] - sq[i]) + (offsets[i] - offsets[j]), int(j)
            )
            if len(ring) < 3:
                break
        if len(ring) < 3:
            cells.append(Polygon())
            continue
        cells.append(Polygon(ring))
        inner = labels >= 0
        owners.append(np.full(int(inner.sum()), i, dtype=np.int64))
        others.append(labels[inner])
        segments.append(np.stack([ring[inner], np.roll(ring, -1, axis=0)[inner]], axis=1))
    return _PowerDiagram(
        cells,
        np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64),
        np.concatenate(others) if others else np.zeros(0, dtype=np.int64),
        np.concatenate(segments) if segments else np.zeros((0, 2, 2)),
    )


def _clip_halfplane(
    ring: FloatArray, labels: NDArray[np.int64], a: FloatArray, c: float, label: int
) -> tuple[FloatArray, NDArray[np.int64]]:
    """The part of a convex ring (no closing vertex) with ``a·x ≤ c`` (Sutherland–Hodgman, vectorised).

    ``labels[k]`` names the edge from vertex ``k`` to the next; the new edge gets ``label``.
    """
    values = ring @ a - c
    inside = values <= 0.0
    if inside.all():
        return ring, labels
    if not inside.any():
        return ring[:0], labels[:0]
    nxt = np.roll(np.arange(len(ring)), -1)
    crossing = inside != inside[nxt]
    t = values / np.where(crossing, values - values[nxt], 1.0)
    cut = ring + t[:, None] * (ring[nxt] - ring)
    # Interleave: each kept vertex, then the crossing point on the edge leaving it (if any).  An exit
    # point starts the new edge along the clipping line; an entry point continues the old edge.
    pieces = np.stack([ring, cut], axis=1).reshape(-1, 2)
    piece_labels = np.stack([labels, np.where(inside, label, labels)], axis=1).reshape(-1)
    keep = np.stack([inside, crossing], axis=1).reshape(-1)
    return pieces[keep], piece_labels[keep]


def _clipped_areas(diagram: _PowerDiagram, polygon: Polygon) -> FloatArray:
    areas: FloatArray = shapely.area(shapely.intersection(np.asarray(diagram.cells, dtype=object), polygon))
    return areas


def _fit_power_cells(
    polygon: Polygon, sites: FloatArray, offsets: FloatArray, target_area: FloatArray
) -> list[Polygon]:
    """Power cells whose clipped areas match ``target_area``: Newton steps on the weights.

    Raising ``w_i`` by ``δ`` moves the border with ``j`` by ``δ / (2|p_i − p_j|)``, so the Jacobian
    of the areas is the graph Laplacian with edge weights ``L_ij / (2|p_i − p_j|)`` (``L_ij``: the
    length of the shared border inside the polygon).  A step is kept only if no cell empties and
    the total area error drops (halving it up to three times).
    """
    shapely.prepare(polygon)
    n = len(sites)
    best = _power_cells(sites, offsets, polygon.bounds)
    best_areas = _clipped_areas(best, polygon)
    if np.any(best_areas <= 0.0):  # cannot happen with sample-backed weights, but be safe: plain Voronoi
        offsets = np.zeros_like(offsets)
        best = _power_cells(sites, offsets, polygon.bounds)
        best_areas = _clipped_areas(best, polygon)
    w = offsets
    for _ in range(8):
        error = target_area - best_areas
        if np.abs(error / target_area).max() < 0.005:
            break
        lines = shapely.linestrings(best.segments)
        lengths = shapely.length(shapely.intersection(lines, polygon))
        dist = np.hypot(*(sites[best.owner] - sites[best.other]).T)
        coupling = lengths / (2.0 * dist)
        jac = np.zeros((n, n))
        np.add.at(jac, (best.owner, best.owner), coupling)
        np.add.at(jac, (best.owner, best.other), -coupling)
        step = np.linalg.lstsq(jac, error, rcond=None)[0]
        step -= step.mean()
        for _halving in range(4):
            trial = _power_cells(sites, w + step, polygon.bounds)
            areas = _clipped_areas(trial, polygon)
            if np.all(areas > 0.0) and np.abs(target_area - areas).sum() < np.abs(error).sum():
                break
            step = step / 2.0
        else:
            break
        w = w + step
        best, best_areas = trial, areas
    shapely.destroy_prepared(polygon)
    return best.cells


def _polygon_parts(geom: BaseGeometry) -> list[Polygon]:
    return [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty and g.area > 0.0]


def _resolve_fragments(clipped: list[BaseGeometry], n: int) -> list[Polygon]:
    """Keep each cell's largest part; merge the other parts into the neighbour sharing most border.

    Parts that only border other stray parts wait for a later pass; the parent being connected,
    every pass merges at least one of them.
    """
    cells: list[Polygon] = []
    orphans: list[Polygon] = []
    for geom in clipped:
        parts = sorted(_polygon_parts(geom), key=lambda p: p.area, reverse=True)
        if not parts:
            raise RuntimeError("partition produced an empty cell")
        cells.append(parts[0])
        orphans.extend(parts[1:])
    orphans.sort(key=lambda p: p.area, reverse=True)
    while orphans:
        waiting: list[Polygon] = []
        for orphan in orphans:
            j = _longest_border(orphan, cells)
            if j is None:
                waiting.append(orphan)
            else:
                cells[j] = _merge(cells[j], orphan)
        if len(waiting) == len(orphans):
            raise RuntimeError("partition left stray parts that border no cell")
        orphans = waiting
    if len(cells) != n or not all(c.is_valid and not c.is_empty for c in cells):
        raise RuntimeError("partition failed to produce valid cells")
    return cells


def _longest_border(part: Polygon, cells: list[Polygon]) -> int | None:
    """Index of the cell sharing the longest border with ``part`` (None if none shares a segment)."""
    minx, miny, maxx, maxy = part.bounds
    eps = 1e-6 * max(maxx - minx, maxy - miny)
    seam = part.buffer(eps)
    best, best_len = None, 8.0 * eps  # a shared border must be longer than a few eps (not a point)
    for j, cell in enumerate(cells):
        if not seam.intersects(cell):
            continue
        length = seam.intersection(cell).area / eps
        if length > best_len:
            best, best_len = j, length
    return best


def _merge(a: Polygon, b: Polygon) -> Polygon:
    """Union of two polygons sharing a border, dropping float-noise slivers the overlay may leave.

    Separately clipped cells can disagree on a shared vertex in the last bits, so ``b`` is first
    snapped onto ``a`` (tolerance: 1e-9 of its size).
    """
    minx, miny, maxx, maxy = b.bounds
    union = shapely.union(a, shapely.snap(b, a, 1e-9 * max(maxx - minx, maxy - miny)))
    parts = sorted(_polygon_parts(union), key=lambda p: p.area, reverse=True)
    main = parts[0]
    if sum(p.area for p in parts[1:]) > 1e-9 * main.area:
        raise RuntimeError("merging a stray part did not give a single polygon")
    tiny = 1e-9 * main.area
    holes = [r for r in main.interiors if Polygon(r).area > tiny]
    return Polygon(main.exterior, holes)


# --------------------------------------------------------------------------------------------------
# Roughening


@dataclass(frozen=True)
class _Field:
    """``f(x) = Σ_k amplitude_k · direction_k · sin(2π · wavevector_k · (x − origin) + phase_k)``."""

    amplitude: FloatArray  # (K,)
    wavevector: FloatArray  # (K, 2), cycles per degree
    phase: FloatArray  # (K,)
    direction: FloatArray  # (K, 2), unit vectors

    def at_nodes(
        self, nodes: Sequence[tuple[NDArray[np.int64], NDArray[np.int64]]], spacing: float
    ) -> list[FloatArray]:
        """``f`` at lattice nodes ``origin + (i, j)·spacing`` for each ``(i, j)`` array pair, shape (N, 2).

        ``sin(a + b) = sin a·cos b + cos a·sin b`` separates columns from rows, so a dense table over
        the nodes' bounding range is two small matrix products; huge sparse ranges are done per node.
        The value at a node depends on ``(i, j)`` alone (the two ways agree up to the last bits).
        """
        count = sum(len(i) for i, _ in nodes)
        if count == 0:
            return [np.zeros((0, 2)) for _ in nodes]
        i0 = min(int(i.min()) for i, _ in nodes if len(i))
        i1 = max(int(i.max()) for i, _ in nodes if len(i))
        j0 = min(int(j.min()) for _, j in nodes if len(j))
        j1 = max(int(j.max()) for _, j in nodes if len(j))
        a = 2.0 * math.pi * spacing * np.outer(np.arange(i0, i1 + 1, dtype=np.float64), self.wavevector[:, 0])
        b = 2.0 * math.pi * spacing * np.outer(np.arange(j0, j1 + 1, dtype=np.float64), self.wavevector[:, 1])
        b += self.phase
        sin_a, cos_a = np.sin(a) * self.amplitude, np.cos(a) * self.amplitude
        sin_b, cos_b = np.sin(b), np.cos(b)
        out: list[FloatArray] = []
        if (i1 - i0 + 1) * (j1 - j0 + 1) <= 2 * count + 4096:
            table = np.empty((i1 - i0 + 1, j1 - j0 + 1, 2))
            for axis in range(2):
                d = self.direction[:, axis]
                table[:, :, axis] = (sin_a * d) @ cos_b.T + (cos_a * d) @ sin_b.T
            for i, j in nodes:
                out.append(table[i - i0, j - j0])
        else:
            for i, j in nodes:
                ci, rj = i - i0, j - j0
                out.append((sin_a[ci] * cos_b[rj] + cos_a[ci] * sin_b[rj]) @ self.direction)
        return out


def _field(spacing_deg: float, amplitude_deg: float, seed: int) -> _Field:
    """Waves of wavelengths ``8·spacing·2^k`` (k < OCTAVES, two random directions each), amplitudes
    ∝ wavelength^HURST summing to ``amplitude_deg``; their slopes must add up to at most MAX_SLOPE."""
    wavelengths = np.repeat(
        MIN_WAVELENGTH_SPACINGS * spacing_deg * 2.0 ** np.arange(OCTAVES, dtype=np.float64), _WAVES_PER_OCTAVE
    )
    amplitudes = wavelengths**HURST
    amplitudes *= amplitude_deg / amplitudes.sum()
    slope = float((2.0 * math.pi * amplitudes / wavelengths).sum())
    if slope > MAX_SLOPE:
        limit = amplitude_deg * MAX_SLOPE / slope
        raise ValueError(
            f"amplitude {amplitude_deg}° is too large for spacing {spacing_deg}°: "
            f"at most {limit:.3g}° keeps the map one-to-one"
        )
    rng = np.random.default_rng(seed)
    k = len(wavelengths)
    theta = rng.uniform(0.0, 2.0 * math.pi, size=k)
    psi = rng.uniform(0.0, 2.0 * math.pi, size=k)
    return _Field(
        amplitude=amplitudes,
        wavevector=np.column_stack([np.cos(theta), np.sin(theta)]) / wavelengths[:, None],
        phase=rng.uniform(0.0, 2.0 * math.pi, size=k),
        direction=np.column_stack([np.cos(psi), np.sin(psi)]),
    )


def displacement(points: FloatArray, *, spacing_deg: float, amplitude_deg: float, seed: int) -> FloatArray:
    """The roughening displacement ``F`` (lon, lat degrees) at ``points`` of shape (N, 2)."""
    _check_rough_args(spacing_deg, amplitude_deg)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return _displace(pts, _field(spacing_deg, amplitude_deg, seed), spacing_deg)


def _displace(points: FloatArray, fld: _Field, spacing: float) -> FloatArray:
    """Piecewise-linear interpolation of ``fld`` on the lattice triangulated along ``x − y = const``."""
    u = (points - np.array(LATTICE_ORIGIN)) / spacing
    base = np.floor(u)
    frac = u - base
    i = base[:, 0].astype(np.int64)
    j = base[:, 1].astype(np.int64)
    fx = frac[:, 0:1]
    fy = frac[:, 1:2]
    lower = (fx >= fy)[:, 0]
    # Lower triangle (i,j),(i+1,j),(i+1,j+1); upper triangle (i,j),(i,j+1),(i+1,j+1).
    f00, f11, corner = fld.at_nodes(
        [(i, j), (i + 1, j + 1), (np.where(lower, i + 1, i), np.where(lower, j, j + 1))], spacing
    )
    out: FloatArray = np.where(
        lower[:, None],
        f00 + fx * (corner - f00) + fy * (f11 - corner),
        f00 + fy * (corner - f00) + fx * (f11 - corner),
    )
    return out


def _check_rough_args(spacing_deg: float, amplitude_deg: float) -> None:
    if not (math.isfinite(spacing_deg) and spacing_deg > 0):
        raise ValueError(f"spacing_deg must be positive, got {spacing_deg}")
    if not (math.isfinite(amplitude_deg) and amplitude_deg >= 0):
        raise ValueError(f"amplitude_deg must be non-negative, got {amplitude_deg}")


def _densify(
    coords: FloatArray, ring_ids: NDArray[np.int64], spacing: float
) -> tuple[FloatArray, NDArray[np.int64]]:
    """Insert the crossings of every edge with the lattice lines; returns closed rings again.

    Each edge is processed in a canonical direction (lexicographically smaller end first) so that
    the two polygons sharing a border compute bit-identical crossing points.
    """
    same = ring_ids[:-1] == ring_ids[1:]
    starts = np.flatnonzero(same)  # edge e goes from coords[e] to coords[e + 1]
    a = coords[starts]
    b = coords[starts + 1]
    swap = (b[:, 0] < a[:, 0]) | ((b[:, 0] == a[:, 0]) & (b[:, 1] < a[:, 1]))
    p = np.where(swap[:, None], b, a)
    q = np.where(swap[:, None], a, b)
    origin = np.array(LATTICE_ORIGIN)
    up = (p - origin) / spacing
    uq = (q - origin) / spacing
    fam_p = np.column_stack([up[:, 0], up[:, 1], up[:, 0] - up[:, 1]])
    fam_q = np.column_stack([uq[:, 0], uq[:, 1], uq[:, 0] - uq[:, 1]])

    edge_list: list[NDArray[np.int64]] = []
    t_list: list[FloatArray] = []
    n_edges = len(starts)
    for fam in range(3):
        lo = np.minimum(fam_p[:, fam], fam_q[:, fam])
        hi = np.maximum(fam_p[:, fam], fam_q[:, fam])
        kmin = np.floor(lo) + 1.0
        kmax = np.ceil(hi) - 1.0
        count = np.maximum(kmax - kmin + 1.0, 0.0).astype(np.int64)
        total = int(count.sum())
        if total == 0:
            continue
        edge = np.repeat(np.arange(n_edges), count)
        first = np.cumsum(count) - count
        k = kmin[edge] + (np.arange(total) - first[edge])
        denom = fam_q[edge, fam] - fam_p[edge, fam]
        edge_list.append(edge)
        t_list.append((k - fam_p[edge, fam]) / denom)
    if edge_list:
        edges = np.concatenate(edge_list)
        ts = np.concatenate(t_list)
    else:
        edges = np.zeros(0, dtype=np.int64)
        ts = np.zeros(0)
    length = np.hypot(*(q - p).T)
    # Drop crossings that coincide with an end or with each other (lattice nodes, float noise).
    eps = 1e-12 / np.maximum(length[edges], 1e-300)
    keep = (ts > eps) & (ts < 1.0 - eps)
    edges, ts = edges[keep], ts[keep]
    order = np.lexsort((ts, edges))
    edges, ts = edges[order], ts[order]
    if len(ts) > 1:
        dup = np.zeros(len(ts), dtype=bool)
        dup[1:] = (edges[1:] == edges[:-1]) & ((ts[1:] - ts[:-1]) * length[edges[1:]] < 1e-12)
        edges, ts = edges[~dup], ts[~dup]
    inserted = p[edges] + ts[:, None] * (q - p)[edges]
    # Position along the edge in its original direction, for ordering within the ring.
    along = np.where(swap[edges], 1.0 - ts, ts)

    # Original vertices keep their exact coordinates: key (position in coords, 0.0);
    # inserted points: key (start vertex of their edge, along).
    all_pos = np.concatenate([np.arange(len(coords)), starts[edges]])
    all_along = np.concatenate([np.zeros(len(coords)), along])
    order = np.lexsort((all_along, all_pos))
    pts = np.concatenate([coords, inserted])[order]
    ids = np.concatenate([ring_ids, ring_ids[starts[edges]]])[order]
    return pts, ids


def roughen(
    polygons: Sequence[Polygon], *, spacing_deg: float, amplitude_deg: float, seed: int
) -> list[Polygon]:
    """Densify every edge on the global lattice and displace every vertex by the field of ``seed``.

    Polygons that tile a region still tile its image; the same ``(spacing_deg, amplitude_deg,
    seed)`` must be used for every level.  Raises ``ValueError`` for bad arguments or if a
    result is invalid (which the slope bound rules out up to float rounding).
    """
    _check_rough_args(spacing_deg, amplitude_deg)
    if not polygons:
        return []
    geoms = np.asarray(list(polygons), dtype=object)
    for g in geoms:
        if not isinstance(g, Polygon) or g.is_empty:
            raise ValueError("roughen takes non-empty Polygons")
    rings, poly_of_ring = shapely.get_rings(geoms, return_index=True)
    coords, ring_ids = shapely.get_coordinates(rings, return_index=True)
    pts, ids = _densify(coords, ring_ids.astype(np.int64), spacing_deg)
    fld = _field(spacing_deg, amplitude_deg, seed)
    moved = pts + _displace(pts, fld, spacing_deg)
    new_rings = np.asarray(shapely.linearrings(moved, indices=ids), dtype=object)
    out = np.asarray(shapely.polygons(new_rings, indices=poly_of_ring), dtype=object)
    bad = np.flatnonzero(~shapely.is_valid(out))
    if len(bad):
        raise ValueError(f"roughening made {len(bad)} polygon(s) invalid (first: #{bad[0]})")
    result: list[Polygon] = out.tolist()
    return result


def roughen_tree(root: Cell, *, spacing_deg: float, amplitude_deg: float, seed: int) -> Cell:
    """:func:`roughen` applied to every cell of the tree (one call, same field)."""
    cells = [cell for _, _, cell in iter_cells(root)]
    rough = iter(
        roughen([c.polygon for c in cells], spacing_deg=spacing_deg, amplitude_deg=amplitude_deg, seed=seed)
    )

    def rebuild(cell: Cell) -> Cell:
        polygon = next(rough)
        return Cell(cell.key, polygon, tuple(rebuild(child) for child in cell.children))

    return rebuild(root)


# --------------------------------------------------------------------------------------------------
# Whole tree


def build_tree(
    plans: Sequence[Plan],
    *,
    seed: int,
    root_key: str = "441900",
    outline: Polygon | None = None,
    spacing_deg: float = DEFAULT_SPACING_DEG,
    amplitude_deg: float = DEFAULT_AMPLITUDE_DEG,
    rough: bool = True,
) -> Cell:
    """Partition ``outline`` (default :func:`city_outline`) recursively along ``plans``.

    Every node gets its own generator, ``SeedSequence(seed, spawn_key=path)`` where ``path`` is the
    node's index path, so a subtree does not depend on how many random numbers its siblings used.
    With ``rough`` all levels are roughened with the same field (``seed`` again); without, edges
    stay long and straight in lon/lat, which a geodesic validator sees as slivers at T-junctions
    (``amplitude_deg=0`` densifies without moving anything instead).  Base grids are numbered last,
    on their final polygons, by :func:`~zhiwang.grids.numbering.reading_order` of their
    representative points (``point_on_surface``).
    """
    root = _split(root_key, outline if outline is not None else city_outline(), plans, seed, ())
    if rough:
        root = roughen_tree(root, spacing_deg=spacing_deg, amplitude_deg=amplitude_deg, seed=seed)
    return _number_grids(root, plans)


def _node_rng(seed: int, path: tuple[int, ...]) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=path))


def _split(key: str, polygon: Polygon, plans: Sequence[Plan], seed: int, path: tuple[int, ...]) -> Cell:
    if not plans:
        return Cell(key, polygon)
    weights = [p.weight for p in plans]
    uniform = all(w == weights[0] for w in weights)
    parts = partition(polygon, len(plans), _node_rng(seed, path), None if uniform else weights)
    children: list[Cell] = []
    for idx, (plan, part) in enumerate(zip(plans, parts, strict=True)):
        sub = (*path, idx)
        if plan.grids > 0:
            grids = partition(part, plan.grids, _node_rng(seed, sub))
            # Provisional keys; _number_grids assigns codes once the polygons are final.
            children.append(Cell(plan.key, part, tuple(Cell(f"#{g}", poly) for g, poly in enumerate(grids))))
        else:
            children.append(_split(plan.key, part, plan.children, seed, sub))
    return Cell(key, polygon, tuple(children))


def _number_grids(cell: Cell, plans: Sequence[Plan]) -> Cell:
    out: list[Cell] = []
    for plan, child in zip(plans, cell.children, strict=True):
        if plan.grids > 0:
            points = shapely.get_coordinates(shapely.point_on_surface([g.polygon for g in child.children]))
            order = reading_order([(float(x), float(y)) for x, y in points])
            grids = tuple(
                Cell(grid_code(plan.key, seq), child.children[i].polygon)
                for seq, i in enumerate(order, start=1)
            )
            out.append(Cell(child.key, child.polygon, grids))
        else:
            out.append(_number_grids(child, plan.children))
    return Cell(cell.key, cell.polygon, tuple(out))
