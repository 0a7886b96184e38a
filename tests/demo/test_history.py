"""The synthetic case history the bulk loader draws: pure numpy, no database."""

from __future__ import annotations

from datetime import date

import numpy as np

from zhiwang.demo import history

UNTIL = date(2026, 1, 1)


def test_drawn_history_follows_the_workflow_order() -> None:
    rng = np.random.default_rng(1)
    batch = history.draw(
        rng,
        20_000,
        places=5,
        kind_weights=np.array([1.0, 3.0]),
        kind_limits=np.array([3600, 27000], dtype=np.int64),
        until=UNTIL,
    )
    stage = batch.stage
    # Each step happens after the one before it, and only if the case got that far.
    for earlier, later in [
        ("reported", "accepted"),
        ("accepted", "dispatched"),
        ("dispatched", "signed"),
        ("signed", "handled"),
        ("handled", "verified"),
        ("verified", "closed"),
    ]:
        a, b = getattr(batch, earlier), getattr(batch, later)
        both = ~np.isnan(a) & ~np.isnan(b)
        assert (b[both] >= a[both]).all(), (earlier, later)
    assert np.isnan(batch.accepted[stage == history.REPORTED]).all()
    assert np.isnan(batch.handled[stage == history.SIGNED]).all()
    assert (~np.isnan(batch.paused[stage == history.PARKED])).all()
    assert (batch.rating[stage != history.CLOSED] == 0).all()
    # Self-handled cases close at once; rejected ones are never accepted.
    own = batch.self_handled
    assert (batch.closed[own] == batch.reported[own]).all() and (stage[own] == history.CLOSED).all()
    assert np.isnan(batch.accepted[stage == history.REJECTED]).all()
    # The category weights shape the mix: the second kind is three times as common.
    assert 2.7 < (batch.kind == 1).sum() / (batch.kind == 0).sum() < 3.3
