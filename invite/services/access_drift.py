"""Access as code (issue 27): the drift check. How far the org has moved from the reviewed file ACCESS_FILE:
the file read, the org read once (invite.services.access.read_state), the plan computed as `invite access plan`
would (invite.core.access.compute_plan), and the report kept (invite.adapters.access_records) for /access and
/metrics. Nothing is ever changed: a person reads the report and applies a plan, or fixes the file.

The worker runs it every ACCESS_DRIFT_CHECK_EVERY (invite/bulk/tasks.py); it knows nothing of Huey or Flask
beyond the database session, so a test calls it as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from invite.adapters import access_records
from invite.core.access import Plan, compute_plan
from invite.core.access_file import AccessFileError, parse_access_file
from invite.junction import JunctionClient, JunctionError
from invite.services.access import read_state

log = logging.getLogger("invite.access")

# How many of a file's problems the report names, one by one; the rest are counted.
PROBLEMS_NAMED = 5


@dataclass(frozen=True)
class DriftResult:
    source: str
    plan: Plan | None  # None when the file and the org could not be compared
    problem: str | None = None

    @property
    def differ(self) -> int:
        return len(self.plan.changes) if self.plan is not None else 0


def file_problems_text(source: str, error: AccessFileError) -> str:
    """A file's problems in one paragraph, each with its line: what /access and the log say about it."""
    problems = list(error.problems)
    named = "; ".join(f"line {p.line}: {p.message.rstrip('.')}" if p.line else p.message.rstrip(".")
                      for p in problems[:PROBLEMS_NAMED])
    more = len(problems) - PROBLEMS_NAMED
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return (f"{source} has {count}: {named}" + (f"; and {more} more" if more > 0 else "")
            + ". Fix the file; open /access to see every problem.")


def check(client: JunctionClient, path: Path) -> DriftResult:
    """Compare the org with the file at `path` and keep the report; the result, whatever happened."""
    source = path.name
    result = _compare(client, path, source)
    plan = result.plan
    access_records.record_drift(source=source, problem=result.problem,
                                counts=plan.counts() if plan is not None else None,
                                plan=plan.as_json() if plan is not None else None)
    if plan is not None:
        log.info("access drift check: %d differ from %s %s", result.differ, source, plan.counts(),
                 extra={"fields": {"access_drift": plan.counts(), "source": source}})
    else:
        log.warning("access drift check: not compared: %s", result.problem,
                    extra={"fields": {"access_drift_problem": result.problem, "source": source}})
    return result


def _compare(client: JunctionClient, path: Path, source: str) -> DriftResult:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return DriftResult(source, None, f"ACCESS_FILE could not be read ({exc.strerror or exc}): {path}")
    try:
        state = read_state(client)
    except JunctionError as exc:
        return DriftResult(source, None, f"Junction could not be read: {exc.message} The next check tries again.")
    try:
        wanted = parse_access_file(data, state.teams, filename=source)
    except AccessFileError as exc:
        return DriftResult(source, None, file_problems_text(source, exc))
    return DriftResult(source, compute_plan(wanted, state, source=source))
