"""Background tasks of the registry (django-tasks, run by `zhiwang worker`)."""

from __future__ import annotations

from django_tasks import task


@task(queue_name="default")
def run_import_job(job_id: int) -> str:
    """Import a file queued on the console (`importing.jobs`)."""
    from zhiwang.registry.importing.jobs import job_run

    return job_run(job_id)
