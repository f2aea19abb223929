"""The task queue that wakes bulk workers: Huey on SQLite in instance/ by default, on Redis with REDIS_URL.

A message carries only a job id; the database says what is left to do, so a lost or repeated message
costs nothing (run_job returns at once when another runner holds the job). A periodic sweep wakes every
running job, so a job survives even a lost message; the worker also sweeps when it starts.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab

from invite.config import Settings


class BulkQueue:
    def __init__(self, app: Flask, settings: Settings):
        self.app = app
        self.huey = make_huey(settings, Path(app.instance_path))
        self._run_job = self.huey.task(name="bulk.run_job")(self._run)
        self.huey.periodic_task(crontab(minute="*"), name="bulk.sweep")(self.sweep)

    def _run(self, job_id: int) -> str:
        from invite.bulk.jobs import run_job

        return run_job(self.app, job_id)

    def wake(self, job_id: int) -> None:
        self._run_job(job_id)

    def sweep(self) -> list[int]:
        """Wake every job that should be running (after a restart, a lost message, a dead runner)."""
        from invite.bulk.jobs import active_job_ids

        with self.app.app_context():
            ids = active_job_ids()
        for job_id in ids:
            self.wake(job_id)
        return ids


def make_huey(settings: Settings, instance_path: Path) -> Huey:
    # results=False: nothing reads a task's return value; the database holds every outcome.
    if settings.redis_url:
        return RedisHuey(settings.bulk_queue_name, url=settings.redis_url, results=False)
    instance_path.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.bulk_queue_name, filename=str(instance_path / f"{settings.bulk_queue_name}.huey.db"),
                      results=False)


def init_bulk_queue(app: Flask, settings: Settings) -> BulkQueue:
    queue = BulkQueue(app, settings)
    app.extensions["bulk_queue"] = queue
    return queue
