"""Point → grid lookup over WGS-84 (lon, lat) grid polygons.

:class:`GridIndex` answers "which grid is this point in?" for case intake (one point at a
time) and for batch work (millions of points, e.g. re-assigning historical cases after a
redraw). It is pure shapely/numpy and knows nothing about Django.

Membership and tie-break rule
-----------------------------
Grids are *closed* polygons: a grid covers a point when the point lies in its interior or
on its boundary (shapely ``covers`` semantics, computed as ``intersects_xy``, which is the
same thing for a point). Then:

* a point covered by exactly one grid belongs to that grid: this includes a point in the
  interior and a point on the outer boundary of a grid that has no neighbour there;
* a point covered by several grids (on a border or corner shared by neighbours, or inside
  overlapping overlay polygons) belongs to the grid with the smallest ``code``, compared
  as Python strings. National grid codes are fixed-width digit strings, so this is the
  numeric order, i.e. the west/north-most grid by the numbering rule. If two grids had
  the same code the smaller ``id`` wins, so the order is total and every answer is
  deterministic;
* a point covered by no grid (or with a non-finite coordinate) has no grid: ``None`` from
  :meth:`GridIndex.lookup`, ``-1`` from :meth:`GridIndex.lookup_many`.

:meth:`GridIndex.lookup_all` returns every covering grid in that same order, so
``lookup(x, y) == (lookup_all(x, y) or [None])[0]`` always holds, and ``lookup_many``
gives the same answer as ``lookup`` for every point.

How it is fast
--------------
The single lookup queries an ``STRtree`` for bounding-box candidates and tests each with
``shapely.intersects_xy`` against prepared geometries.

The batch lookup first consults a coarse raster built once with numpy: a regular grid of
cells over the extent, each cell either *resolved* (no grid boundary passes through it, so
every point in it is covered by the same set of grids: exactly one grid, or none) or
*unresolved* (some boundary crosses it, or it is covered by two or more grids, or it lies
in the bounding box of an invalid geometry). Points in resolved cells are answered by
array indexing; only points in unresolved cells (a thin band along the borders) go through
the tree + ``intersects_xy`` path. Cell edges are exact floats and a point is binned with
``searchsorted`` against them, boundary cells are marked conservatively, so the raster
never changes an answer, it only avoids work.

Geometries passed in are prepared in place (``shapely.prepare``) and each prepared
geometry is exercised once at build time: GEOS builds the point-in-area index lazily and
that lazy build is not thread-safe, so after construction a ``GridIndex`` can be shared
by threads for reading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Polygon

__all__ = ["GridIndex"]

_NONE = -1  # resolved raster cell covered by no grid
_UNRESOLVED = -2  # raster cell that needs an exact test

# Raster sizing: aim for this many cells across a typical grid's bounding box, but never
# build more than _MAX_CELLS cells (int32 table: 4 bytes a cell).
_CELLS_PER_GRID = 32
_MAX_CELLS = 4_000_000

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Raster:
    xedges: FloatArray  # nx + 1 strictly increasing cell edges
    yedges: FloatArray  # ny + 1
    table: npt.NDArray[np.int32]  # (ny, nx): grid position, _NONE or _UNRESOLVED

    def classify(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Grid position, ``_NONE`` or ``_UNRESOLVED`` for each point."""
        nx = self.table.shape[1]
        ix = _bin(self.xedges, x)
        iy = _bin(self.yedges, y)
        inside = (ix >= 0) & (iy >= 0)
        out = np.full(x.shape, _NONE, dtype=np.int64)
        out[inside] = self.table.ravel()[iy[inside] * nx + ix[inside]]
        return out


def _bin(edges: FloatArray, v: FloatArray) -> IntArray:
    """Index ``i`` with ``edges[i] <= v < edges[i + 1]``, or -1 (outside, NaN).

    Arithmetic first guess, then exact correction against the stored edge floats, so the
    answer is exactly ``searchsorted(edges, v, side="right") - 1`` (cheaper for big inputs).
    """
    n = edges.size - 1
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN inputs are handled below
        guess = (v - edges[0]) * (n / (edges[-1] - edges[0]))
    np.nan_to_num(guess, copy=False, nan=-1.0)
    i: IntArray = np.floor(np.clip(guess, 0, n - 1)).astype(np.int64)
    i -= v < edges[i]
    np.clip(i, 0, n - 1, out=i)
    i += v >= edges[i + 1]
    np.clip(i, 0, n - 1, out=i)
    ok = (edges[i] <= v) & (v < edges[i + 1])  # False for NaN and for points off the raster
    off = ~ok
    if off.any():
        j = np.searchsorted(edges, v[off], side="right") - 1
        j[(j < 0) | (j >= n)] = -1  # NaN sorts last -> n -> -1
        i[off] = j
    return i


class GridIndex:
    """Spatial index answering point → grid id queries under the module's tie-break rule."""

    def __init__(
        self,
        ids: Sequence[int],
        codes: Sequence[str],
        geometries: Sequence[Polygon | MultiPolygon],
    ) -> None:
        if not len(ids) == len(codes) == len(geometries):
            raise ValueError(
                f"ids, codes and geometries differ in length ({len(ids)}, {len(codes)}, {len(geometries)})"
            )
        id_list = [int(i) for i in ids]
        if len(set(id_list)) != len(id_list):
            raise ValueError("grid ids must be unique")
        code_list = [str(c) for c in codes]
        for pos, geom in enumerate(geometries):
            if not isinstance(geom, Polygon | MultiPolygon):
                raise TypeError(
                    f"grid {id_list[pos]} ({code_list[pos]}): expected Polygon or MultiPolygon, "
                    f"got {type(geom).__name__}"
                )

        # Store everything in tie-break order, so that "smallest position" == "wins".
        order = sorted(range(len(id_list)), key=lambda i: (code_list[i], id_list[i]))
        self._ids: IntArray = np.array([id_list[i] for i in order], dtype=np.int64)
        self._code_of = dict(zip(id_list, code_list, strict=True))
        geoms = np.empty(len(order), dtype=object)
        geoms[:] = [geometries[i] for i in order]
        self._geoms: npt.NDArray[np.object_] = geoms

        shapely.prepare(geoms)
        _warm_up(geoms)
        self._tree = shapely.STRtree(geoms)
        self._raster = _build_raster(geoms)

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"<GridIndex of {len(self)} grids>"

    # -- single point -------------------------------------------------------------

    def lookup(self, lon: float, lat: float) -> int | None:
        """Id of the grid the point belongs to, or ``None`` when no grid covers it."""
        hits = self._covering(lon, lat)
        return int(self._ids[hits[0]]) if hits.size else None

    def lookup_all(self, lon: float, lat: float) -> list[int]:
        """Ids of every grid covering the point, in tie-break order (smallest code first)."""
        return [int(i) for i in self._ids[self._covering(lon, lat)]]

    def code_of(self, grid_id: int) -> str:
        """The code of a grid in this index."""
        return self._code_of[grid_id]

    def _covering(self, lon: float, lat: float) -> npt.NDArray[np.intp]:
        """Sorted positions (== tie-break order) of the grids covering the point."""
        lon = float(lon)
        lat = float(lat)
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return np.empty(0, dtype=np.intp)
        candidates = np.sort(self._tree.query(shapely.Point(lon, lat)))
        if candidates.size == 0:
            return candidates
        hit = shapely.intersects_xy(self._geoms[candidates], lon, lat)
        return candidates[hit]

    # -- batch --------------------------------------------------------------------

    def lookup_many(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> IntArray:
        """Grid id for every point (``-1`` where no grid covers it), same shape as the input.

        Agrees with :meth:`lookup` point for point; vectorised, no Python loop per point.
        """
        x = np.asarray(lons, dtype=np.float64)
        y = np.asarray(lats, dtype=np.float64)
        if x.shape != y.shape:
            raise ValueError(f"lons and lats differ in shape: {x.shape} vs {y.shape}")
        shape = x.shape
        x = x.ravel()
        y = y.ravel()

        if self._raster is not None:
            pos = self._raster.classify(x, y)
            slow = np.flatnonzero(pos == _UNRESOLVED)
        else:
            pos = np.full(x.shape, _UNRESOLVED, dtype=np.int64)
            slow = np.arange(x.size)
        if slow.size:
            pos[slow] = self._resolve(x[slow], y[slow])

        out = np.full(x.shape, -1, dtype=np.int64)
        found = pos >= 0
        out[found] = self._ids[pos[found]]
        return out.reshape(shape)

    def _resolve(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Exact path: winning grid position per point, ``_NONE`` where nothing covers it."""
        n_grids = len(self._ids)
        best = np.full(x.shape, n_grids, dtype=np.int64)
        finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if finite.size and n_grids:
            fx = x[finite]
            fy = y[finite]
            point_idx, grid_pos = self._tree.query(shapely.points(fx, fy))
            hit = shapely.intersects_xy(self._geoms[grid_pos], fx[point_idx], fy[point_idx])
            np.minimum.at(best, finite[point_idx[hit]], grid_pos[hit])
        best[best == n_grids] = _NONE
        return best


def _warm_up(geoms: npt.NDArray[np.object_]) -> None:
    """Make GEOS build each prepared geometry's point locator now (see module docstring)."""
    nonempty = ~shapely.is_empty(geoms)
    if not nonempty.any():
        return
    b = shapely.bounds(geoms[nonempty])
    shapely.intersects_xy(geoms[nonempty], (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)


def _expand(counts: IntArray) -> tuple[IntArray, IntArray]:
    """For run lengths ``counts``: (run number, offset within run) of every element."""
    run = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    return run, np.arange(run.size, dtype=np.int64) - starts[run]


def _build_raster(geoms: npt.NDArray[np.object_]) -> _Raster | None:
    """Resolve as many raster cells as possible; see the module docstring."""
    nonempty = ~shapely.is_empty(geoms)
    if not nonempty.any():
        return None
    bounds = shapely.bounds(geoms[nonempty])
    if not np.isfinite(bounds).all():
        return None
    minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
    maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
    sizes = np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    typical = float(np.median(sizes))
    if not typical > 0:
        return None
    cell = typical / _CELLS_PER_GRID
    width, height = maxx - minx, maxy - miny
    while (width / cell + 3) * (height / cell + 3) > _MAX_CELLS:
        cell *= 1.25
    # One spare cell on every side: the raster strictly contains every grid's bbox, so a
    # point outside the raster is covered by no grid.
    nx = math.ceil(width / cell) + 2
    ny = math.ceil(height / cell) + 2
    xedges = (minx - cell) + cell * np.arange(nx + 1, dtype=np.float64)
    yedges = (miny - cell) + cell * np.arange(ny + 1, dtype=np.float64)
    if not (np.all(np.diff(xedges) > 0) and np.all(np.diff(yedges) > 0)):
        return None  # degenerate extent (cell below float resolution)
    xcent = (xedges[:-1] + xedges[1:]) / 2
    ycent = (yedges[:-1] + yedges[1:]) / 2

    # Every ring segment, split so that none is longer than half a cell.
    parts, part_grid = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    rings = shapely.segmentize(rings, cell / 2)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    same_ring = coord_ring[:-1] == coord_ring[1:]
    ax, ay = coords[:-1, 0][same_ring], coords[:-1, 1][same_ring]
    bx, by = coords[1:, 0][same_ring], coords[1:, 1][same_ring]
    seg_grid = part_grid[ring_part[coord_ring[:-1][same_ring]]].astype(np.int64)

    # 1. Boundary cells: every cell a segment's bbox (slightly grown) touches. The margin
    #    dwarfs rounding in segmentize and in the crossing arithmetic below.
    eps = cell * 1e-3
    ix0 = np.clip(np.searchsorted(xedges, np.minimum(ax, bx) - eps, side="right") - 1, 0, nx - 1)
    ix1 = np.clip(np.searchsorted(xedges, np.maximum(ax, bx) + eps, side="right") - 1, 0, nx - 1)
    iy0 = np.clip(np.searchsorted(yedges, np.minimum(ay, by) - eps, side="right") - 1, 0, ny - 1)
    iy1 = np.clip(np.searchsorted(yedges, np.maximum(ay, by) + eps, side="right") - 1, 0, ny - 1)
    span_x = ix1 - ix0 + 1
    seg, k = _expand(span_x * (iy1 - iy0 + 1))
    boundary = np.zeros(ny * nx, dtype=bool)
    boundary[(iy0[seg] + k // span_x[seg]) * nx + ix0[seg] + k % span_x[seg]] = True

    # 2. How many grids cover each cell centre, and which (sum of positions, meaningful
    #    when the count is 1): even-odd scanline over every grid's rings at the row
    #    centres, accumulated as per-row difference arrays. An edge crosses row centre yc
    #    when min(y) <= yc < max(y) (the usual half-open rule, so crossings pair up).
    ylo, yhi = np.minimum(ay, by), np.maximum(ay, by)
    j0 = np.searchsorted(ycent, ylo, side="left")
    j1 = np.searchsorted(ycent, yhi, side="left")
    seg, k = _expand((j1 - j0).astype(np.int64))
    row = j0[seg] + k
    t = (ycent[row] - ay[seg]) / (by[seg] - ay[seg])
    xcross = ax[seg] + t * (bx[seg] - ax[seg])
    col = np.searchsorted(xcent, xcross, side="left")  # first cell whose centre is >= xcross
    grid = seg_grid[seg]
    order = np.lexsort((xcross, row, grid))
    col, row, grid = col[order], row[order], grid[order]
    # Each (grid, row) group has an even number of crossings; inside = [1st, 2nd), [3rd, 4th)...
    if col.size % 2 or not (
        np.array_equal(row[0::2], row[1::2]) and np.array_equal(grid[0::2], grid[1::2])
    ):  # pragma: no cover - closed rings always pair up; refuse to guess otherwise
        return None
    lo, hi, row, grid = col[0::2], col[1::2], row[0::2], grid[0::2]
    width_d = nx + 1
    count = np.zeros(ny * width_d, dtype=np.int32)
    total = np.zeros(ny * width_d, dtype=np.int64)
    np.add.at(count, row * width_d + lo, 1)
    np.add.at(count, row * width_d + hi, -1)
    np.add.at(total, row * width_d + lo, grid)
    np.add.at(total, row * width_d + hi, -grid)
    count_c = np.cumsum(count.reshape(ny, width_d), axis=1)[:, :nx].ravel()
    total_c = np.cumsum(total.reshape(ny, width_d), axis=1)[:, :nx].ravel()

    table = np.full(ny * nx, _NONE, dtype=np.int32)
    one = count_c == 1
    table[one] = total_c[one]
    table[count_c >= 2] = _UNRESOLVED
    table[boundary] = _UNRESOLVED
    table2d = table.reshape(ny, nx)

    # 3. Invalid geometries: the scanline may disagree with GEOS, so leave them to GEOS.
    invalid = np.flatnonzero(~shapely.is_valid(geoms) & ~shapely.is_empty(geoms))
    if invalid.size:
        ib = shapely.bounds(geoms[invalid])
        bx0 = np.clip(np.searchsorted(xedges, ib[:, 0] - eps, side="right") - 1, 0, nx - 1)
        bx1 = np.clip(np.searchsorted(xedges, ib[:, 2] + eps, side="right") - 1, 0, nx - 1)
        by0 = np.clip(np.searchsorted(yedges, ib[:, 1] - eps, side="right") - 1, 0, ny - 1)
        by1 = np.clip(np.searchsorted(yedges, ib[:, 3] + eps, side="right") - 1, 0, ny - 1)
        for i in range(invalid.size):
            table2d[by0[i] : by1[i] + 1, bx0[i] : bx1[i] + 1] = _UNRESOLVED

    return _Raster(xedges=xedges, yedges=yedges, table=table2d)
