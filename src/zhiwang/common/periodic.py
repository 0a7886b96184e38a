"""A tiny registry of periodic jobs, run by the deployment's one background process (`zhiwang worker`).

A job is a plain function without arguments::

    from zhiwang.common import periodic

    @periodic.register("cases.scan_deadlines", every_seconds=60)
    def scan_deadlines() -> None: ...

Discovery rule: the worker imports the module ``periodic_jobs`` of every installed app that has one
(`autodiscover`, the way the admin finds ``admin`` modules), so an app registers its jobs in
``<app>/periodic_jobs.py``. Nothing else needs to import that module.

Timing: a job runs when the worker starts and then whenever ``every_seconds`` have passed since it
last started (checked every worker tick, one second by default). Jobs run one after another; a job
that raises is logged and runs again at its next turn. So keep jobs short and idempotent, and move
long work into a task. Each worker process keeps its own schedule in memory: run one worker per
deployment, or make the jobs safe to run twice (for example with row locks).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

logger = logging.getLogger("zhiwang.periodic")

DISCOVERY_MODULE = "periodic_jobs"

F = TypeVar("F", bound=Callable[[], object])


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: int
    func: Callable[[], object]

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.every_seconds)

    def is_due(self, now: datetime, last_run: datetime | None) -> bool:
        # A clock set back (last run "in the future") must not silence the job until it catches up.
        return last_run is None or last_run > now or now - last_run >= self.interval


_registry: dict[str, PeriodicJob] = {}


def _qualname(func: Callable[[], object]) -> str:
    return f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', repr(func))}"


def register(name: str, every_seconds: int) -> Callable[[F], F]:
    """Register the decorated function as the periodic job `name`, run every `every_seconds`.

    Returns the function unchanged. Registering the same function again (a module imported twice)
    is harmless; another function under a name already taken is an error.
    """
    if not name:
        raise ValueError("A periodic job needs a name.")
    if int(every_seconds) != every_seconds or every_seconds < 1:
        raise ValueError(f"every_seconds must be a whole number of seconds >= 1, got {every_seconds!r}")

    def decorator(func: F) -> F:
        existing = _registry.get(name)
        if existing is not None and _qualname(existing.func) != _qualname(func):
            raise ValueError(
                f"A periodic job named {name!r} is already registered ({_qualname(existing.func)})."
            )
        _registry[name] = PeriodicJob(name=name, every_seconds=int(every_seconds), func=func)
        return func

    return decorator


def unregister(name: str) -> None:
    _registry.pop(name, None)


def jobs() -> list[PeriodicJob]:
    """Every registered job, by name."""
    return [_registry[name] for name in sorted(_registry)]


def due_jobs(now: datetime, last_runs: Mapping[str, datetime]) -> list[PeriodicJob]:
    """The jobs due at `now`, given when each last started (absent: never), by name."""
    return [job for job in jobs() if job.is_due(now, last_runs.get(job.name))]


def run_job(job: PeriodicJob, *, now: datetime, last_runs: MutableMapping[str, datetime]) -> bool:
    """Run one job, recording its start in `last_runs`; log and swallow its failure. True if it passed."""
    last_runs[job.name] = now
    started = time.monotonic()
    try:
        job.func()
    except Exception:
        logger.exception("Periodic job %s failed.", job.name)
        return False
    logger.debug("Periodic job %s took %.3f s.", job.name, time.monotonic() - started)
    return True


def run_jobs(
    selected: Iterable[PeriodicJob],
    *,
    now: datetime,
    last_runs: MutableMapping[str, datetime],
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, bool]:
    """Run `selected` one after another (stopping early when `should_stop()`); name -> passed."""
    results: dict[str, bool] = {}
    for job in selected:
        if should_stop():
            break
        results[job.name] = run_job(job, now=now, last_runs=last_runs)
    return results


def autodiscover() -> None:
    """Import ``<app>.periodic_jobs`` of every installed app that has one."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules(DISCOVERY_MODULE)
