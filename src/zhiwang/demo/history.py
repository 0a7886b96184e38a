"""A city's synthetic case history, drawn in batches with numpy: which grid, category and channel
each report has, when it came in (more in the May–June 龙舟水 rainy season, mostly by day) and how
far it went (outcomes near the published 95% handling rate, some late, parked, reworked, rated).

Pure: no Django. `zhiwang.demo.bulk` turns the batches into rows and loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

DAYS = 915  # 2.5 years
LOCAL_OFFSET_S = 8 * 3600  # Asia/Shanghai, no daylight saving
WALL_PER_WORKING = 24 / 7.5  # deadlines approximated in wall-clock time (a 7.5-hour working day)
RAINY_MONTHS = (5, 6)  # 龙舟水: half again as many reports
RAINY_FACTOR = 1.5
RECENT_DAYS = 3  # reports of the last days are still on their way through the workflow

# Stages, in workflow order; every case stops at one of them.
REPORTED, ACCEPTED, DISPATCHED, SIGNED, HANDLED, REVISIT, CLOSED, REJECTED, PARKED = range(9)
STATUS = np.array(
    ["reported", "accepted", "dispatched", "signed", "handled", "revisit", "closed", "rejected", "parked"]
)
# How reports reach the platform: mostly grid workers' own patrols (巡查上报).
CHANNELS = np.array(["grid_worker", "hotline", "resident", "machine", "department"])
CHANNEL_SHARES = np.array([0.70, 0.14, 0.08, 0.05, 0.03])
# Where a recent case still stands: (share, stage it stopped at so far).
RECENT_STAGES = np.array([REPORTED, ACCEPTED, DISPATCHED, SIGNED, HANDLED, REVISIT, CLOSED])
RECENT_SHARES = np.array([0.12, 0.08, 0.15, 0.25, 0.10, 0.05, 0.25])


@dataclass(frozen=True)
class Mix:
    """The shares that shape the history (defaults: near Dongguan's published figures)."""

    rejected: float = 0.05
    self_handled: float = 0.08
    handled: float = 0.95  # of the accepted cases
    parked: float = 0.02  # of the accepted cases
    closed: float = 0.97  # of the handled cases
    late_dispatch: float = 0.03
    reworked: float = 0.06
    rated: float = 0.85  # of the closed cases


@dataclass
class Batch:
    """`n` cases as parallel arrays; timestamps in seconds since the epoch (UTC), NaN for none."""

    place: Ints
    kind: Ints
    channel: npt.NDArray[np.str_]
    stage: Ints
    self_handled: Bools
    limit: Ints
    rework: Ints
    rating: Ints
    reported: Floats
    accepted: Floats
    dispatch_due: Floats
    dispatched: Floats
    signed: Floats
    due: Floats
    handled: Floats
    verified: Floats
    closed: Floats
    paused: Floats

    def __len__(self) -> int:
        return len(self.place)


def day_weights(first: date, days: int = DAYS) -> Floats:
    """The chance of a report falling on each day, more in the rainy season."""
    months = np.array([(first + timedelta(days=d)).month for d in range(days)])
    weights = np.where(np.isin(months, RAINY_MONTHS), RAINY_FACTOR, 1.0)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def first_day(until: date, days: int = DAYS) -> date:
    return until - timedelta(days=days)


def _midnight_utc(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() - LOCAL_OFFSET_S


def draw(
    rng: np.random.Generator,
    n: int,
    *,
    places: int,
    kind_weights: Floats,
    kind_limits: Ints,
    until: date,
    mix: Mix | None = None,
) -> Batch:
    """Draw `n` cases reported over the DAYS local days before `until`."""
    mix = mix or Mix()
    start = first_day(until)
    day = rng.choice(DAYS, size=n, p=day_weights(start))
    # Reports come by day: around 14:00 local time, few at night.
    hour = np.clip(rng.normal(13.5, 3.5, n), 0.0, 23.99)
    reported = _midnight_utc(start) + day * 86400.0 + hour * 3600.0
    kind = rng.choice(len(kind_weights), size=n, p=kind_weights / kind_weights.sum())
    stage, self_handled = _stages(rng, n, mix, recent=day >= DAYS - RECENT_DAYS)
    limit = kind_limits[kind]
    return _timestamps(
        rng,
        mix,
        place=rng.integers(0, places, n),
        kind=kind,
        channel=rng.choice(CHANNELS, size=n, p=CHANNEL_SHARES),
        stage=stage,
        self_handled=self_handled,
        limit=limit,
        reported=reported,
        end=_midnight_utc(until),
    )


def _stages(rng: np.random.Generator, n: int, mix: Mix, recent: Bools) -> tuple[Ints, Bools]:
    fate = rng.random(n)
    outcome = rng.random(n)
    rejected = fate < mix.rejected
    self_handled = (fate >= mix.rejected) & (fate < mix.rejected + mix.self_handled)
    handled = outcome < mix.handled
    parked = (outcome >= mix.handled) & (outcome < mix.handled + mix.parked)
    closed = rng.random(n) < mix.closed
    stage = np.where(handled, np.where(closed, CLOSED, REVISIT), np.where(parked, PARKED, SIGNED))
    stage = np.where(rejected, REJECTED, np.where(self_handled, CLOSED, stage))
    # A recent case has not got further than where the recent shares put it.
    cap = rng.choice(RECENT_STAGES, size=n, p=RECENT_SHARES)
    workflow = ~rejected & ~self_handled & (stage != PARKED)
    stage = np.where(recent & workflow, np.minimum(stage, cap), stage)
    return stage.astype(np.int64), self_handled


def _timestamps(
    rng: np.random.Generator,
    mix: Mix,
    *,
    stage: Ints,
    self_handled: Bools,
    limit: Ints,
    reported: Floats,
    end: float,
    **fields: npt.NDArray[np.generic],
) -> Batch:
    n = len(stage)
    nan = np.full(n, np.nan)
    workflow = ~self_handled & (stage != REJECTED)
    reached = {s: workflow & ((stage >= s) & (stage <= CLOSED) | (stage == PARKED)) for s in (1, 2, 3)}
    done = {s: workflow & (stage >= s) & (stage <= CLOSED) for s in (HANDLED, REVISIT, CLOSED)}

    def until_end(values: Floats, after: Floats) -> Floats:
        """No later than the end of the history, unless the step before it already is."""
        return np.maximum(np.minimum(values, end - 60.0), after)

    accepted = reported + rng.uniform(300, 2400, n)
    late = rng.random(n) < mix.late_dispatch
    dispatched = accepted + np.where(late, 4 * 3600.0, rng.uniform(600, 1800, n))
    signed = dispatched + rng.uniform(300, 1800, n)
    due = dispatched + limit * WALL_PER_WORKING
    work = limit * WALL_PER_WORKING * rng.lognormal(-1.0, 0.8, n)
    handled = until_end(signed + work, signed)
    verified = until_end(handled + rng.uniform(1800, 4 * 3600, n), handled)
    closed = until_end(verified + rng.uniform(3600, 48 * 3600, n), verified)
    rated = done[CLOSED] & (rng.random(n) < mix.rated)
    rating = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.02, 0.03, 0.10, 0.25, 0.60])
    rejected = stage == REJECTED
    return Batch(
        stage=stage,
        self_handled=self_handled,
        limit=np.where(reached[DISPATCHED], limit, 0),
        rework=(done[HANDLED] & (rng.random(n) < mix.reworked)).astype(np.int64),
        rating=np.where(rated, rating, 0),
        reported=reported,
        accepted=np.where(reached[ACCEPTED], accepted, nan),
        dispatch_due=reported + 3600.0,
        dispatched=np.where(reached[DISPATCHED], dispatched, nan),
        signed=np.where(reached[SIGNED], signed, nan),
        due=np.where(reached[DISPATCHED], due, nan),
        handled=np.where(self_handled, reported, np.where(done[HANDLED], handled, nan)),
        verified=np.where(self_handled, reported, np.where(done[REVISIT], verified, nan)),
        closed=np.where(
            self_handled,
            reported,
            np.where(done[CLOSED], closed, np.where(rejected, accepted, nan)),
        ),
        paused=np.where(stage == PARKED, signed + 3600.0, nan),
        **fields,  # type: ignore[arg-type]
    )


def utc_text(values: Floats) -> list[str | None]:
    """Timestamps as 'YYYY-MM-DD HH:MM:SS' in UTC (what Django stores on SQLite), None for NaN."""
    seconds = np.nan_to_num(values, nan=0.0).astype("datetime64[s]")
    text = np.char.replace(np.datetime_as_string(seconds, unit="s"), "T", " ").tolist()
    missing = np.isnan(values).tolist()
    return [None if gone else t for t, gone in zip(text, missing, strict=True)]


def local_day_text(values: Floats) -> list[str]:
    """The local (UTC+8) day of each timestamp as 'YYYYMMDD', the prefix of a case number."""
    days = ((values + LOCAL_OFFSET_S) // 86400).astype("datetime64[D]")
    return np.char.replace(np.datetime_as_string(days, unit="D"), "-", "").tolist()  # type: ignore[no-any-return]
