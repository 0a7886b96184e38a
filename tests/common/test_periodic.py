"""The registry of periodic jobs run by `zhiwang worker`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from zhiwang.common import periodic

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ran: list[str] = []


def every_minute() -> None:
    ran.append("minute")


def every_hour() -> None:
    ran.append("hour")


def failing() -> None:
    ran.append("failing")
    raise ValueError("boom")


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    ran.clear()
    yield
    for name in ("test.minute", "test.hour", "test.failing"):
        periodic.unregister(name)


def _register() -> None:
    periodic.register("test.minute", every_seconds=60)(every_minute)
    periodic.register("test.hour", every_seconds=3600)(every_hour)


def _names(jobs: list[periodic.PeriodicJob]) -> list[str]:
    return [job.name for job in jobs if job.name.startswith("test.")]


def test_register_returns_the_function_and_lists_the_job() -> None:
    assert periodic.register("test.minute", every_seconds=60)(every_minute) is every_minute
    (job,) = [j for j in periodic.jobs() if j.name == "test.minute"]
    assert job.func is every_minute and job.every_seconds == 60 and job.interval == timedelta(minutes=1)


def test_due_jobs_follow_their_interval() -> None:
    _register()
    assert _names(periodic.due_jobs(T0, {})) == ["test.hour", "test.minute"]  # never run: due
    last_runs = {"test.minute": T0, "test.hour": T0}
    assert _names(periodic.due_jobs(T0 + timedelta(seconds=59), last_runs)) == []
    assert _names(periodic.due_jobs(T0 + timedelta(seconds=60), last_runs)) == ["test.minute"]
    assert _names(periodic.due_jobs(T0 + timedelta(hours=1), last_runs)) == ["test.hour", "test.minute"]
    # A clock set back does not silence a job until it catches up.
    assert _names(periodic.due_jobs(T0 - timedelta(hours=2), last_runs)) == ["test.hour", "test.minute"]


def test_run_jobs_records_the_start_and_survives_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    _register()
    periodic.register("test.failing", every_seconds=60)(failing)
    last_runs: dict[str, datetime] = {}
    selected = [j for j in periodic.due_jobs(T0, last_runs) if j.name.startswith("test.")]
    results = periodic.run_jobs(selected, now=T0, last_runs=last_runs)
    assert results == {"test.failing": False, "test.hour": True, "test.minute": True}
    assert ran == ["failing", "hour", "minute"]
    assert last_runs == {"test.failing": T0, "test.hour": T0, "test.minute": T0}  # a failure waits its turn
    assert "Periodic job test.failing failed" in caplog.text and "boom" in caplog.text
    assert _names(periodic.due_jobs(T0 + timedelta(seconds=30), last_runs)) == []


def test_run_jobs_stops_when_asked() -> None:
    _register()
    selected = [j for j in periodic.jobs() if j.name.startswith("test.")]
    results = periodic.run_jobs(selected, now=T0, last_runs={}, should_stop=lambda: bool(ran))
    assert list(results) == ["test.hour"] and ran == ["hour"]


def test_names_are_unique_and_intervals_whole_seconds() -> None:
    _register()
    periodic.register("test.minute", every_seconds=60)(every_minute)  # the same function again: fine
    with pytest.raises(ValueError, match="already registered"):
        periodic.register("test.minute", every_seconds=60)(every_hour)
    with pytest.raises(ValueError):
        periodic.register("test.zero", every_seconds=0)
    with pytest.raises(ValueError):
        periodic.register("", every_seconds=5)


def test_autodiscover_imports_each_apps_periodic_jobs_module() -> None:
    periodic.autodiscover()
    assert "notifications.deliver_due" in {job.name for job in periodic.jobs()}
    job = next(j for j in periodic.jobs() if j.name == "notifications.deliver_due")
    assert job.every_seconds == 30
