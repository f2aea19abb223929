"""The task queue that wakes bulk workers: Huey on SQLite in instance/ by default, on Redis with REDIS_URL.

A message carries only a job id; the database says what is left to do, so a lost or repeated message
costs nothing (run_job returns at once when another runner holds the job). A periodic sweep wakes every
running job, so a job survives even a lost message; the worker also sweeps when it starts.

The same consumer runs the reminders' check (issue 26) every INVITE_REMINDERS_CHECK_EVERY, when reminders
are on. Each worker process's scheduler enqueues it; two checks at once send nothing twice (the reminders'
tokens, invite/services/reminders.py).

And, with ACCESS_FILE set, the access drift check (issue 27) every ACCESS_DRIFT_CHECK_EVERY: it only reads
Junction and the file and keeps a report (invite/services/access_drift.py), so two at once cost a second read.

And the copy of the org's members and invitations a long bulk list's preview reads (issue 25), every
INVITE_ORG_SNAPSHOT_EVERY unless it is off, and once when the worker starts: one worker at a time walks Junction
(a lease in the database), and a copy younger than half the period is left alone
(invite/services/org_snapshot.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab

from invite.adapters.unit_of_work import FLASK
from invite.config import Settings


class BulkQueue:
    def __init__(self, app: Flask, settings: Settings):
        self.app = app
        self.huey = make_huey(settings, Path(app.instance_path))
        self._run_job = self.huey.task(name="bulk.run_job")(self._run)
        self.huey.periodic_task(crontab(minute="*"), name="bulk.sweep")(self.sweep)
        if settings.reminders.on:
            every = max(1, int(settings.reminders.check_every.total_seconds() // 60))
            self.huey.periodic_task(every_minutes(every), name="reminders.check")(self.check_reminders)
        if settings.access_file is not None:
            every = max(1, int(settings.access_drift_check_every.total_seconds() // 60))
            self.huey.periodic_task(every_minutes(every), name="access.drift_check")(self.check_access_drift)
        self._refresh_org_snapshot = None
        if settings.org_snapshot_every is not None:
            every = max(1, int(settings.org_snapshot_every.total_seconds() // 60))
            self.huey.periodic_task(every_minutes(every), name="org_snapshot.refresh")(self.refresh_org_snapshot)
            self._refresh_org_snapshot = self.huey.task(name="org_snapshot.refresh_now")(self.refresh_org_snapshot)

    def _run(self, job_id: int) -> str:
        from invite.bulk.in_app import run_job

        return run_job(self.app, job_id)

    def wake(self, job_id: int) -> None:
        self._run_job(job_id)

    def sweep(self) -> list[int]:
        """Wake every job that should be running (after a restart, a lost message, a dead runner)."""
        from invite.bulk.jobs import active_job_ids

        with self.app.app_context():
            ids = active_job_ids(FLASK)
        for job_id in ids:
            self.wake(job_id)
        return ids


    def check_reminders(self) -> dict[str, int]:
        """One reminders' check, within the same rules as every channel; its outcomes by kind."""
        from invite.services import reminders

        settings = self.app.extensions["settings"]
        upstream = self.app.extensions["upstream"]
        with self.app.app_context():
            result = reminders.run_check(FLASK, upstream.client, self.app.secret_key, upstream.limits,
                                         settings.reminders,
                                         upstream.team_names(),
                                         in_doubt_after=reminders.in_doubt_after(settings.timeout_seconds))
        return dict(result.outcomes)

    def check_access_drift(self) -> int:
        """One drift check of the org against ACCESS_FILE; how many members and invitations differ."""
        from invite.services import access_drift

        settings = self.app.extensions["settings"]
        with self.app.app_context():
            result = access_drift.check(self.app.extensions["upstream"].client, settings.access_file)
        return result.differ


    def refresh_org_snapshot(self, fresh_for: float | None = None) -> str:
        """One refresh of the org's copy, unless another worker is at it or the copy is younger than
        `fresh_for` seconds (default: half of INVITE_ORG_SNAPSHOT_EVERY). "refreshed", "skipped" or "failed"."""
        from datetime import timedelta

        from invite.adapters.unit_of_work import FLASK
        from invite.services import org_snapshot

        settings = self.app.extensions["settings"]
        if fresh_for is None:
            fresh_for = (settings.org_snapshot_every or timedelta(0)).total_seconds() / 2
        with self.app.app_context():
            result = org_snapshot.refresh(FLASK, self.app.extensions["upstream"].client,
                                          fresh_for=timedelta(seconds=fresh_for))
        return result.outcome

    def refresh_org_snapshot_soon(self) -> bool:
        """Queue one refresh now (a worker starting: the copy may be missing or old); False when it is off."""
        if self._refresh_org_snapshot is None:
            return False
        self._refresh_org_snapshot()
        return True


def every_minutes(every: int):
    """Huey's periodic test for "every `every` minutes", counted from the epoch (so 15 falls on the quarter
    hours): the consumer asks once a minute, and at its start, with the moment in UTC (naive)."""
    def due(moment: datetime) -> bool:
        minutes = int(moment.replace(tzinfo=UTC).timestamp() // 60)
        return minutes % every == 0
    return due


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
