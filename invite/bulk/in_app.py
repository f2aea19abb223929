"""The bulk jobs' service (invite/bulk/jobs.py) as the channels in an app context call it: the app's queue as
its waker, and a runner whose sender threads each run in an app context of their own.

jobs.py takes a unit of work and a waker and knows nothing of Flask; the pages, the command line and the
worker pass unit_of_work.FLASK and what is made here from the app.
"""

from __future__ import annotations

from flask import Flask, current_app

from invite.adapters.unit_of_work import FLASK
from invite.bulk import jobs


def waker(app: Flask | None = None) -> jobs.Waker:
    """Wake a worker through the app's queue (`app`, else the current one, read when a job is woken)."""

    def wake(job_id: int) -> None:
        jobs.wake(lambda job: (app or current_app).extensions["bulk_queue"].wake(job), job_id)

    return wake


def runner(app: Flask) -> jobs.Runner:
    """Junction, the secret and BULK_CONCURRENCY from the app; each sender thread in an app context of its own
    (Flask-SQLAlchemy's session is the app context's)."""
    return jobs.Runner(upstream=app.extensions["upstream"], secret=app.secret_key,
                       concurrency=app.extensions["settings"].bulk_concurrency, in_thread=app.app_context)


def run_job(app: Flask, job_id: int) -> str:
    """jobs.run_job in an app context of `app`: what the worker's queue task runs."""
    with app.app_context():
        return jobs.run_job(FLASK, job_id, runner(app))
