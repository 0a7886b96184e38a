"""`zhiwang worker`: periodic jobs and queued tasks in one process."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from zhiwang.accounts.models import User
from zhiwang.common import periodic
from zhiwang.notifications.models import Notification, OutboxMessage, OutboxStatus
from zhiwang.notifications.services import notify

# The worker runs tasks and jobs on its own connections: the data must really be committed.
pytestmark = pytest.mark.django_db(transaction=True)

calls: list[str] = []


@task()
def shout(word: str) -> str:
    calls.append(f"task:{word}")
    return word.upper()


def tick() -> None:
    calls.append("job:tick")


def broken() -> None:
    calls.append("job:broken")
    raise RuntimeError("this job always fails")


@pytest.fixture(autouse=True)
def _fresh_calls() -> Iterator[None]:
    calls.clear()
    yield
    for name in ("tests.tick", "tests.broken", "tests.stop"):
        periodic.unregister(name)


def test_worker_once_runs_the_periodic_jobs_and_the_queued_tasks(make_user: Callable[..., User]) -> None:
    periodic.register("tests.tick", every_seconds=3600)(tick)
    shout.enqueue("hello")
    with transaction.atomic():
        notify(recipients=[make_user()], subject="案件超期", body="案件 DG-3 已超期，已升级。")
    assert DBTaskResult.objects.count() == 2  # ours, and the delivery task enqueued on commit

    out = StringIO()
    call_command("worker", "--once", stdout=out)

    assert calls == ["job:tick", "task:hello"]
    assert "notifications.deliver_due" in {job.name for job in periodic.jobs()}  # discovered
    results = {r.task_path.rsplit(".", 1)[1]: r for r in DBTaskResult.objects.all()}
    assert {name: r.status for name, r in results.items()} == {
        "shout": "SUCCESSFUL",
        "deliver_outbox": "SUCCESSFUL",
    }
    assert results["shout"].return_value == "HELLO"
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert Notification.objects.count() == 1
    assert "and 2 task(s)" in out.getvalue()


def test_a_failing_job_is_logged_and_the_rest_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    periodic.register("tests.broken", every_seconds=60)(broken)
    periodic.register("tests.tick", every_seconds=60)(tick)
    shout.enqueue("still")
    with pytest.raises(CommandError, match=r"tests\.broken"):
        call_command("worker", "--once", stdout=StringIO())
    assert calls == ["job:broken", "job:tick", "task:still"]
    assert "Periodic job tests.broken failed" in caplog.text and "this job always fails" in caplog.text


def test_the_worker_stops_cleanly_on_sigterm() -> None:
    """Runs the real loop (tasks in a thread, beat here) until a job sends the process SIGTERM."""
    shout.enqueue("before-stop")
    term_handler = signal.getsignal(signal.SIGTERM)

    def stop_when_done() -> None:
        calls.append("job:stop")
        if DBTaskResult.objects.filter(status="SUCCESSFUL").exists():
            os.kill(os.getpid(), signal.SIGTERM)

    periodic.register("tests.stop", every_seconds=1)(stop_when_done)

    # Should the worker not stop, a double SIGTERM forces it out (and the test fails).
    def force_stop() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)

    watchdog = threading.Timer(30, force_stop)
    watchdog.start()
    try:
        call_command("worker", "--interval", "0.05", stdout=StringIO())
    finally:
        watchdog.cancel()
    assert "task:before-stop" in calls and "job:stop" in calls
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    assert signal.getsignal(signal.SIGTERM) == term_handler  # the previous handlers are back


def test_a_tasks_only_worker_runs_no_periodic_job() -> None:
    periodic.register("tests.tick", every_seconds=3600)(tick)
    shout.enqueue("quiet")

    out = StringIO()
    call_command("worker", "--once", "--no-periodic", stdout=out)

    assert calls == ["task:quiet"]
    assert "Ran 0 periodic job(s) and 1 task(s)." in out.getvalue()
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


class _FlakyWorker:
    """Stands in for the task worker: the database is gone for its first `outages` runs."""

    def __init__(self, outages: int, error: type[Exception]) -> None:
        self.outages, self.error, self.runs, self.running = outages, error, 0, True

    def run(self) -> None:
        self.runs += 1
        if self.runs <= self.outages:
            raise self.error("connection failed: the database system is shutting down")


def test_the_task_worker_outlives_a_database_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import InterfaceError, OperationalError

    from zhiwang.notifications.management.commands import worker as command

    monkeypatch.setattr(command, "RETRY_FIRST_S", 0.01)
    for error in (OperationalError, InterfaceError):
        flaky = _FlakyWorker(outages=3, error=error)
        command._run_tasks(flaky, threading.Event())  # type: ignore[arg-type]
        assert flaky.runs == 4  # three failed tries, then it ran until stopped
    # Asked to stop while waiting for the database: it stops without another try.
    stop = threading.Event()
    stop.set()
    gone = _FlakyWorker(outages=100, error=OperationalError)
    command._run_tasks(gone, stop)  # type: ignore[arg-type]
    assert gone.runs == 0
    # Anything else is a real failure: the thread ends (and the process with it).
    broken_worker = _FlakyWorker(outages=1, error=ValueError)
    command._run_tasks(broken_worker, threading.Event())  # type: ignore[arg-type]
    assert broken_worker.runs == 1
