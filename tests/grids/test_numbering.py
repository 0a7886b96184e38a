"""Base-grid numbering: reading order (rows north→south, west→east within a row) and 15-digit codes."""

from __future__ import annotations

import math
import random

import pytest

from zhiwang.grids.numbering import MAX_SEQ, grid_code, reading_order, typical_spacing


def _lattice(rows: int, cols: int, dx: float = 1.0, dy: float = 1.0) -> list[tuple[float, float]]:
    """Points in reading order: row 0 is the northernmost, column 0 the westernmost."""
    return [(113.0 + c * dx, 23.0 - r * dy) for r in range(rows) for c in range(cols)]


def _ranks_in_order(points: list[tuple[float, float]], permutation: list[int]) -> list[int]:
    """Shuffle ``points`` by ``permutation`` and return, in reading order, their original ranks."""
    shuffled = [points[k] for k in permutation]
    return [permutation[i] for i in reading_order(shuffled)]


def test_three_by_three_lattice_in_input_order() -> None:
    assert reading_order(_lattice(3, 3)) == [0, 1, 2, 3, 4, 5, 6, 7, 8]


def test_three_by_three_lattice_shuffled() -> None:
    points = _lattice(3, 3)
    permutation = [4, 8, 0, 6, 2, 7, 1, 5, 3]
    assert _ranks_in_order(points, permutation) == list(range(9))


def test_reverse_input_order() -> None:
    points = list(reversed(_lattice(3, 3)))
    assert reading_order(points) == [8, 7, 6, 5, 4, 3, 2, 1, 0]


def test_three_by_three_lattice_tolerates_jitter() -> None:
    spacing = 0.004  # ~400 m, a typical base grid
    base = _lattice(3, 3, spacing, spacing)
    for seed in range(200):
        rng = random.Random(seed)
        jitter = 0.2 * spacing  # up to ±20 % of the spacing on each axis
        points = [(x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in base]
        permutation = list(range(9))
        rng.shuffle(permutation)
        assert _ranks_in_order(points, permutation) == list(range(9)), seed


def test_rectangular_lattices() -> None:
    for rows, cols, dx, dy in [(4, 3, 2.0, 1.0), (3, 5, 1.0, 1.5), (2, 7, 0.5, 0.4), (6, 2, 1.0, 1.0)]:
        points = _lattice(rows, cols, dx, dy)
        permutation = list(range(len(points)))
        random.Random(rows * 100 + cols).shuffle(permutation)
        assert _ranks_in_order(points, permutation) == list(range(len(points)))


def test_single_row_and_single_column() -> None:
    row = [(113.3, 23.0), (113.1, 23.0), (113.2, 23.0)]
    assert reading_order(row) == [1, 2, 0]
    column = [(113.0, 22.8), (113.0, 23.0), (113.0, 22.9)]
    assert reading_order(column) == [1, 2, 0]


def test_trivial_inputs() -> None:
    assert reading_order([]) == []
    assert reading_order([(113.0, 23.0)]) == [0]
    # Coincident points: a stable, deterministic order by index.
    assert reading_order([(113.0, 23.0)] * 3) == [0, 1, 2]


def test_rows_never_taller_than_half_the_spacing() -> None:
    # A south-west → north-east diagonal: the 4 × 4 bounding box and 5 points give d ≈ 3.24, so a
    # row spans at most 1.62 in latitude and takes two points; no chaining into one long row
    # (sorting by longitude alone would start from the south-west point 0).
    diagonal = [(113.0 + k, 23.0 + k) for k in range(5)]
    assert typical_spacing(diagonal) == pytest.approx((8 + math.sqrt(320)) / 8)
    assert reading_order(diagonal) == [3, 4, 1, 2, 0]


def test_result_is_a_permutation_for_irregular_points() -> None:
    rng = random.Random(7)
    points = [(rng.uniform(113.5, 113.6), rng.uniform(22.9, 23.0)) for _ in range(40)]
    order = reading_order(points)
    assert sorted(order) == list(range(40))
    assert order == reading_order(list(points))
    # The first row: every point within half the typical spacing of the northernmost, west first.
    top = max(p[1] for p in points)
    half = typical_spacing(points) / 2
    first_row = sorted((i for i in range(40) if points[i][1] >= top - half), key=lambda i: points[i][0])
    assert order[: len(first_row)] == first_row
    assert set(order[len(first_row) :]) == set(range(40)) - set(first_row)


def test_non_finite_points_are_rejected() -> None:
    with pytest.raises(ValueError):
        reading_order([(113.0, 23.0), (math.nan, 23.0)])
    with pytest.raises(ValueError):
        reading_order([(113.0, math.inf)])


def test_typical_spacing_is_exact_for_lattices() -> None:
    assert typical_spacing(_lattice(3, 3)) == pytest.approx(1.0)
    assert typical_spacing(_lattice(1, 5, 0.25)) == pytest.approx(0.25)
    assert typical_spacing(_lattice(4, 1, 1.0, 0.5)) == pytest.approx(0.5)
    assert typical_spacing(_lattice(5, 4, 0.01, 0.01)) == pytest.approx(0.01)
    assert typical_spacing([(113.0, 23.0)]) == 0.0
    assert typical_spacing([]) == 0.0


def test_grid_code() -> None:
    assert grid_code("441900003001", 1) == "441900003001001"
    assert grid_code("441900003001", 42) == "441900003001042"
    assert grid_code("441900129217", MAX_SEQ) == "441900129217999"
    assert len(grid_code("441900101200", 7)) == 15
    assert MAX_SEQ == 999


@pytest.mark.parametrize("seq", [0, -1, 1000, 12345])
def test_grid_code_rejects_sequence_out_of_range(seq: int) -> None:
    with pytest.raises(ValueError):
        grid_code("441900003001", seq)


@pytest.mark.parametrize("seq", [True, 1.0, "1"])
def test_grid_code_rejects_non_int_sequence(seq: object) -> None:
    with pytest.raises(ValueError):
        grid_code("441900003001", seq)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "code",
    [
        "",
        "44190000300",  # 11 digits
        "4419000030011",  # 13 digits
        "441900003",  # a town code
        "44190000300a",
        " 441900003001",
        "441900003001\n",
        "４４１９００００３００１",  # full-width digits
        "٤٤١٩٠٠٠٠٣٠٠١",  # Arabic-Indic digits
    ],
)
def test_grid_code_rejects_malformed_community_code(code: str) -> None:
    with pytest.raises(ValueError):
        grid_code(code, 1)


def test_grid_code_rejects_non_string_community_code() -> None:
    with pytest.raises(ValueError):
        grid_code(441900003001, 1)  # type: ignore[arg-type]
