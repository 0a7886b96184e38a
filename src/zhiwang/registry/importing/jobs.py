"""Imports queued from the console and run in the background by `zhiwang worker`.

A file of a million residents takes minutes to check and write, longer than a web request may
last, so the console hands it over: `job_queue` checks who imports what, keeps the file sealed
(`crypto.seal_file`, it holds personal data in clear) under MEDIA_ROOT/imports/ and queues
`tasks.run_import_job` after commit; `job_run` opens it into a private temporary file, imports it
with `import_file` (the same checks, all or nothing, the same batch and report as the API and the
command line) and deletes it. While it runs, the rows checked so far go to a small progress file
beside it (the import's own transaction hides everything else until it ends), which the console's
page reads. The outcome is the batch: applied, or refused with its row-by-row report; a file that
never became a batch (columns that do not fit, not a table) leaves its reason on the job.

A worker stopped during an import (a deployment, a crash) rolls the import back, but leaves its job
"running". While it runs, a heartbeat thread touches the progress file every few seconds, also
through the long silent steps (index builds, the commit); `sweep_interrupted` (a periodic job of
`zhiwang worker`) queues a running job whose heartbeat stopped again, its sealed file being still
there, up to `MAX_ATTEMPTS` runs, then gives it up with its reason.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from zhiwang.accounts.models import User
from zhiwang.audit.services import audit_record
from zhiwang.common.errors import ApplicationError, ValidationFailed
from zhiwang.common.origin import Origin
from zhiwang.notifications.services import notify
from zhiwang.registry import crypto
from zhiwang.registry.importing import IMPORT_KINDS, import_file, unknown_kind
from zhiwang.registry.importing.tables import require_collector
from zhiwang.registry.models import ImportBatch, ImportJob, ImportJobStatus, ImportStatus
from zhiwang.registry.permissions import Actor
from zhiwang.registry.tasks import run_import_job

logger = logging.getLogger("zhiwang.registry.imports")

SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
IN_MEMORY_BYTES = 32 << 20  # a larger file opens into a private temporary file on disk
PROGRESS_SECONDS = 1.0  # the progress file is rewritten at most this often
HEARTBEAT_SECONDS = 10.0  # a running import touches its progress file at least this often
STALE_SECONDS = 120.0  # a running job whose progress file is older than this was interrupted
MAX_ATTEMPTS = 3  # runs of one job before it is given up (a file that stops the worker every time)


def jobs_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def _sealed_path(job_id: int) -> Path:
    return jobs_dir() / f"{job_id}.sealed"


def _progress_path(job_id: int) -> Path:
    return jobs_dir() / f"{job_id}.progress"


def _discard_files(job_id: int) -> None:
    """The job's sealed upload and progress file, once it needs them no more."""
    _sealed_path(job_id).unlink(missing_ok=True)
    _progress_path(job_id).unlink(missing_ok=True)


def _label(job_id: int) -> str:
    return f"registry.import_job:{job_id}"


def job_queue(
    *,
    actor: Actor,
    stream: IO[bytes],
    filename: str,
    kind: str,
    origin: Origin,
    mapping: Mapping[str, str] | None = None,
) -> ImportJob:
    """Keeps the file sealed and queues its import; the job, queued."""
    if kind not in IMPORT_KINDS:
        raise unknown_kind()
    require_collector(actor, "files")
    if not filename.lower().endswith(SUFFIXES):
        raise ValidationFailed("Upload a CSV file or an Excel workbook (.xlsx).", code="bad_file_type")
    assert isinstance(actor, User)
    jobs_dir().mkdir(parents=True, exist_ok=True)
    path: Path | None = None
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                actor=actor,
                kind=kind,
                filename=filename[:200],
                mapping=dict(mapping or {}),
                origin_ip=origin.ip,
            )
            path = _sealed_path(job.pk)
            partial = path.with_suffix(".partial")
            with partial.open("wb") as target:
                job.size = crypto.seal_file(stream, target, _label(job.pk))
            os.replace(partial, path)
            job.save(update_fields=["size"])
            audit_record(
                actor=actor,
                action="registry.import_queued",
                origin=origin,
                obj=job,
                details={"kind": kind, "bytes": job.size},
            )
            transaction.on_commit(functools.partial(run_import_job.enqueue, job.pk))
    except BaseException:
        if path is not None:
            for leftover in (path, path.with_suffix(".partial")):
                leftover.unlink(missing_ok=True)
        raise
    return job


def job_run(job_id: int) -> str:
    """Imports a queued job's file; its status afterwards ("skipped" when it was not queued)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id, status=ImportJobStatus.QUEUED).first()
        if job is None:
            return "skipped"
        job.status, job.started_at = ImportJobStatus.RUNNING, timezone.now()
        job.attempts += 1
        job.save(update_fields=["status", "started_at", "attempts"])
    progress = _ProgressFile(job.pk)
    progress.write(0)
    beating = threading.Event()
    heartbeat = threading.Thread(target=progress.beat, args=(beating,), name=f"import-{job.pk}", daemon=True)
    heartbeat.start()
    try:
        with (
            _sealed_path(job.pk).open("rb") as sealed,
            tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES, dir=None) as clear,
        ):
            for chunk in crypto.open_sealed_file(sealed, _label(job.pk)):
                clear.write(chunk)
            clear.seek(0)
            batch = import_file(
                kind=job.kind,
                actor=job.actor,
                stream=clear,
                filename=job.filename,
                origin=Origin(channel="web", ip=job.origin_ip),
                mapping=job.mapping or None,
                progress=progress.write,
            )
        _finish(job, batch=batch)
    except ApplicationError as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        refused = ImportBatch.objects.filter(pk=int(details.get("batch_id") or 0), actor=job.actor).first()
        if refused is not None:
            _finish(job, batch=refused)
        else:
            _finish(job, code=exc.code, message=exc.message)
    except (OSError, crypto.DecryptionError) as exc:
        logger.exception("import job %s: the uploaded file could not be read", job.pk)
        _finish(job, code="file_lost", message=f"The uploaded file could not be read ({type(exc).__name__}).")
    except Exception:
        logger.exception("import job %s failed", job.pk)
        _finish(
            job,
            code="internal_error",
            message="The import stopped on an unexpected error; nothing was imported.",
        )
    finally:
        beating.set()
        heartbeat.join()
        _discard_files(job.pk)
    return job.status


def _finish(job: ImportJob, *, batch: ImportBatch | None = None, code: str = "", message: str = "") -> None:
    """Records the outcome and tells the importer (in the app), who may have left the page."""
    job.status = ImportJobStatus.DONE if batch is not None else ImportJobStatus.FAILED
    job.batch, job.error_code, job.error_message = batch, code[:40], message[:500]
    job.finished_at = timezone.now()
    if batch is None:
        subject, body = "导入失败", f"文件 {job.filename} 未能导入，请打开导入页面查看原因。"
    elif batch.status == ImportStatus.APPLIED:
        subject, body = "导入完成", f"文件 {job.filename} 已导入 {batch.rows_imported:,} 行。"
    else:
        subject = "导入未通过"
        body = f"文件 {job.filename} 有 {batch.error_count:,} 处问题，未导入任何数据，请查看逐行报告。"
    with transaction.atomic():
        job.save(update_fields=["status", "batch", "error_code", "error_message", "finished_at"])
        notify(
            recipients=[job.actor],
            subject=subject,
            body=body,
            link=f"/console/registry/imports/{job.pk}/",
            object_type="registry.import_job",
            object_id=str(job.pk),
        )


class _ProgressFile:
    """The rows checked so far, for other processes to read while the import's transaction runs."""

    def __init__(self, job_id: int) -> None:
        self.path = _progress_path(job_id)
        self.last = 0.0

    def write(self, rows: int) -> None:
        now = time.monotonic()
        if rows and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        partial = self.path.with_suffix(".progress-partial")
        partial.write_text(json.dumps({"rows": rows}), encoding="utf-8")
        os.replace(partial, self.path)

    def beat(self, stop: threading.Event) -> None:
        """Touches the file every HEARTBEAT_SECONDS until `stop` is set: the import is alive."""
        while not stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError):
                os.utime(self.path)


def sweep_interrupted() -> dict[str, int]:
    """Running jobs whose heartbeat stopped: queued again while their file is there and they have
    runs left, given up otherwise. Counts of each."""
    requeued = given_up = 0
    now = time.time()
    for pk in ImportJob.objects.filter(status=ImportJobStatus.RUNNING).values_list("pk", flat=True):
        try:
            beat = _progress_path(pk).stat().st_mtime
        except FileNotFoundError:
            beat = 0.0  # never written, or removed: judged by when the run started
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().filter(pk=pk, status=ImportJobStatus.RUNNING).first()
            started = job.started_at.timestamp() if job is not None and job.started_at else 0.0
            if job is None or now - max(beat, started) < STALE_SECONDS:
                continue
            if _sealed_path(job.pk).exists() and job.attempts < MAX_ATTEMPTS:
                job.status = ImportJobStatus.QUEUED
                job.save(update_fields=["status"])
                transaction.on_commit(functools.partial(run_import_job.enqueue, job.pk))
                requeued += 1
                continue
        _discard_files(job.pk)
        _finish(
            job,
            code="interrupted",
            message="The import was interrupted (the background worker stopped) and could not be resumed.",
        )
        given_up += 1
    return {"requeued": requeued, "given_up": given_up}


def job_progress(job: ImportJob) -> int | None:
    """The rows a running job has checked, when it has said."""
    if job.status != ImportJobStatus.RUNNING:
        return None
    try:
        return int(json.loads(_progress_path(job.pk).read_text(encoding="utf-8"))["rows"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
