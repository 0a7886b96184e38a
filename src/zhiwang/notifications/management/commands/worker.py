"""`zhiwang worker`: the one background process of a deployment.

It processes the queued tasks of the django-tasks database backend with django-tasks-db's own
`Worker` (in a thread) and, in the main thread, runs the beat: every periodic job registered in
`zhiwang.common.periodic` (found in each app's ``periodic_jobs`` module) when it is due. SIGINT or
SIGTERM lets the running task and job finish, then exits; a second signal exits at once.

``--once`` runs every periodic job once, then every queued task, and exits (tests, cron): its exit
status is 1 when a periodic job failed.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
from argparse import ArgumentTypeError
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from zhiwang.common import periodic

logger = logging.getLogger("zhiwang.worker")

SignalHandler = Callable[[int, FrameType | None], Any] | int | None


class TaskWorker(Worker):
    """django-tasks-db's worker, counting the tasks it runs."""

    processed = 0

    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        try:
            super().run_task(db_task_result)
        finally:
            self.processed += 1


def positive_seconds(value: str) -> float:
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ArgumentTypeError("must be a number of seconds greater than 0")
    return seconds


class Command(BaseCommand):
    help = "Run the background worker: queued tasks and periodic jobs, in one process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="run every periodic job once, process the queued tasks, then exit (tests, cron)",
        )
        parser.add_argument(
            "--interval",
            type=positive_seconds,
            default=1.0,
            metavar="SECONDS",
            help="how often to look for queued tasks and due periodic jobs (default 1)",
        )
        parser.add_argument(
            "--queues",
            default="",
            help="comma-separated task queues to process (default: every queue of the task backend)",
        )
        parser.add_argument("--worker-id", default="", help="unique id of this worker (default: random)")
        parser.add_argument(
            "--no-periodic",
            action="store_true",
            help="process queued tasks only: for every worker but one where several run",
        )

    def handle(
        self,
        *args: Any,
        once: bool,
        interval: float,
        queues: str,
        worker_id: str,
        no_periodic: bool,
        **options: Any,
    ) -> None:
        periodic.autodiscover()
        worker = self.task_worker(queues=queues, interval=interval, batch=once, worker_id=worker_id)
        if no_periodic and worker is None:
            raise CommandError(
                "With --no-periodic there is nothing to run: the task backend is not the database's."
            )
        jobs = [] if no_periodic else periodic.jobs()
        if once:
            self.run_once(worker, jobs)
        else:
            self.run_forever(worker, interval, jobs)

    def task_worker(self, *, queues: str, interval: float, batch: bool, worker_id: str) -> TaskWorker | None:
        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        if not isinstance(backend, DatabaseBackend):
            logger.warning(
                "The task backend is %s, not django_tasks_db's: only periodic jobs run here.",
                type(backend).__name__,
            )
            return None
        queue_names = [q.strip() for q in queues.split(",") if q.strip()] or sorted(backend.queues) or ["*"]
        return TaskWorker(
            queue_names=queue_names,
            interval=interval,
            batch=batch,
            backend_name=backend.alias,
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id or get_random_string(32),
            excluded_queue_names=[],
        )

    # --- once -----------------------------------------------------------------------------------

    def run_once(self, worker: TaskWorker | None, jobs: list[periodic.PeriodicJob]) -> None:
        results = periodic.run_jobs(jobs, now=timezone.now(), last_runs={})
        if worker is not None:
            worker.run()
        processed = worker.processed if worker is not None else 0
        failed = sorted(name for name, passed in results.items() if not passed)
        self.stdout.write(f"Ran {len(results)} periodic job(s) and {processed} task(s).")
        if failed:
            raise CommandError(f"Periodic job(s) failed: {', '.join(failed)} (see the log).")

    # --- forever --------------------------------------------------------------------------------

    def run_forever(
        self, worker: TaskWorker | None, interval: float, jobs: list[periodic.PeriodicJob]
    ) -> None:
        stop = threading.Event()
        tasks_thread = (
            threading.Thread(target=_run_tasks, args=(worker, stop), name="zhiwang-tasks", daemon=True)
            if worker is not None
            else None
        )
        previous = _install_signal_handlers(stop, worker)
        try:
            if tasks_thread is not None:
                tasks_thread.start()
            names = ", ".join(job.name for job in jobs) or "none"
            queues = ",".join(worker.queue_names) if worker is not None else "none"
            logger.info("Worker started: task queues %s; periodic jobs %s.", queues, names)
            last_runs: dict[str, datetime] = {}
            while not stop.is_set():
                if tasks_thread is not None and not tasks_thread.is_alive():
                    raise CommandError("The task worker stopped unexpectedly (see the log).")
                close_old_connections()
                now = timezone.now()
                if jobs:
                    periodic.run_jobs(
                        periodic.due_jobs(now, last_runs),
                        now=now,
                        last_runs=last_runs,
                        should_stop=stop.is_set,
                    )
                close_old_connections()
                stop.wait(interval)
        finally:
            stop.set()
            if worker is not None:
                worker.running = False
            if tasks_thread is not None and tasks_thread.is_alive():
                tasks_thread.join()
            _restore_signal_handlers(previous)
            logger.info("Worker stopped.")


RETRY_FIRST_S = 1.0  # after the database went away, the task worker tries again after this, doubling
RETRY_MAX_S = 30.0


def _run_tasks(worker: TaskWorker, stop: threading.Event) -> None:
    """Runs queued tasks until the worker stops. When the database goes away (a restart, a failover),
    it closes its connections and tries again, waiting longer each time, instead of ending the
    process; any other failure ends it (the main thread then exits non-zero)."""
    delay = RETRY_FIRST_S
    try:
        while not stop.is_set() and worker.running:
            try:
                worker.run()
                return
            except (OperationalError, InterfaceError):
                logger.warning("The database is unreachable; tasks resume in %.0f s.", delay, exc_info=True)
                connections.close_all()
                if stop.wait(delay):
                    return
                delay = min(delay * 2, RETRY_MAX_S)
    except Exception:
        logger.exception("The task worker failed.")
    finally:
        connections.close_all()


SIGNALS = tuple(s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGQUIT", None)) if s is not None)


def _install_signal_handlers(stop: threading.Event, worker: TaskWorker | None) -> dict[int, SignalHandler]:
    def shutdown(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            logger.warning("Received %s again: exiting now.", signal.strsignal(signum))
            raise SystemExit(1)
        logger.warning(
            "Received %s: stopping after the running task and job (again to force).", signal.strsignal(signum)
        )
        stop.set()
        if worker is not None:
            worker.running = False

    previous: dict[int, SignalHandler] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous  # signals reach the main thread only; a caller elsewhere stops us otherwise
    for signum in SIGNALS:
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, shutdown)
    return previous


def _restore_signal_handlers(previous: dict[int, SignalHandler]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
