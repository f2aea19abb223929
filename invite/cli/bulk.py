"""`invite bulk …`: the bulk page from a terminal, on its functions (invite.bulk.jobs, parser, preview).

`invite bulk FILE` reads the list with the page's parser, prints the page's preview, asks, and starts the
same durable job as the page's confirm (a draft confirmed once with its one-time token, woken on the
queue: a worker sends the rows, never this process). `status`, `wait` and `retry-unknown` read and act on
a job as the job page does. What is ours here is printing and exit codes.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any, NoReturn

import click
from flask import current_app

from invite.adapters.storage import utcnow
from invite.adapters.unit_of_work import FLASK
from invite.bulk import jobs
from invite.bulk.in_app import waker
from invite.bulk.models import CANCELLED, DONE, SKIPPED, STOPPED
from invite.bulk.parser import MAX_BYTES, BulkInputError, parse_bulk
from invite.bulk.preview import checked_against
from invite.cli import exits
from invite.cli.acting import acting_option, as_option, cli_actor
from invite.cli.configuration import ConfiguredGroup, refuse_a_throwaway_junction
from invite.cli.terminal import Column, asked, emit_json, end, interactive, json_option, say, table
from invite.core import rows as views
from invite.core import vocabulary
from invite.core.actor import Actor
from invite.core.invite_rules import ROLE_LABELS
from invite.junction import ROLES, JunctionError

ENDED = (DONE, CANCELLED, STOPPED)
POLL_SECONDS = 0.5
PLAIN_LINE_EVERY_SECONDS = 5.0  # when not on a terminal: a line per change, at most this often (and at the end)
SEND_NOW = "send"
# A job's id is a 32-bit INTEGER column (invite/bulk/models.py): a larger number names no job, and asking the
# database for it would fail (SQLite's driver cannot bind it; PostgreSQL refuses it as out of range).
JOB_ID_MAX = 2**31 - 1


class BulkGroup(ConfiguredGroup):
    """`invite bulk FILE …` is `invite bulk send FILE …`: a first word that names no subcommand is a file."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [SEND_NOW, *args]
        return super().parse_args(ctx, args)


@click.group("bulk", cls=BulkGroup, epilog=exits.EXPLAINED)
def bulk_group() -> None:
    """Bulk invites, as on /bulk: `invite bulk FILE` previews a list and starts a job; then watch it.

    \b
    invite bulk FILE [--role ROLE] [--dry-run] [--yes] [--resend-pending] [--json]
    invite bulk status JOB [--json]
    invite bulk wait JOB [--timeout SECONDS] [--json]
    invite bulk retry-unknown JOB [--yes] [--json]
    """




def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# ------------------------------------------------------------------------------------------ the list


def _read(source: IO[bytes]) -> bytes:
    data = source.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise BulkInputError(f"The list is larger than {MAX_BYTES:,} bytes (1 MB), the most that can be read at "
                             "once: split it into smaller files and send them one after the other.")
    return data


def _will_send(row: jobs.DraftRow, resend_pending: bool) -> bool:
    return row.sendable or (row.resendable and resend_pending)


def _verdict_words(row: jobs.DraftRow, resend_pending: bool) -> str:
    words = jobs.VERDICT_WORDS[jobs.RESENDABLE if row.resendable else row.verdict]
    if row.resendable:
        return f"{words}: {'will be resent' if resend_pending else 'not resent without --resend-pending'}"
    if row.verdict == "already_pending":
        return f"{words}: inside the resend cooldown"
    return words


def _row_json(row: jobs.DraftRow, resend_pending: bool) -> dict[str, Any]:
    return {"type": "row", "row": row.position, "email": row.email, "role": row.role, "teams": row.teams,
            "verdict": jobs.RESENDABLE if row.resendable else row.verdict,
            "verdict_words": _verdict_words(row, resend_pending), "message": row.message,
            "will_send": _will_send(row, resend_pending)}


def _problems_first(rows: Sequence[jobs.DraftRow]) -> list[jobs.DraftRow]:
    return [r for r in rows if not r.sendable] + [r for r in rows if r.sendable]


def _print_preview(rows: Sequence[jobs.DraftRow], counts: dict[str, int], resend_pending: bool,
                   as_json: bool) -> None:
    ordered = _problems_first(rows)
    if as_json:
        for row in ordered:
            emit_json(_row_json(row, resend_pending))
        return
    shown = ", ".join(f"{n} {jobs.VERDICT_WORDS[verdict].lower()}" for verdict, n in counts.items() if n)
    say(f"{_plural(len(rows), 'row')}: {shown}.", "header")
    table([Column("ROW", 5), Column("VERDICT", 30), Column("EMAIL", 32), Column("ROLE", 10), Column("TEAMS", 24),
           Column("MESSAGE", None)],
          ([str(r.position), _verdict_words(r, resend_pending), r.email, ROLE_LABELS.get(r.role or "", ""),
            ", ".join(t["name"] for t in r.teams), "" if r.sendable else (r.message or "")] for r in ordered))


@bulk_group.command(SEND_NOW)
@click.argument("source", metavar="FILE", type=click.File("rb"))
@click.option("--role", type=click.Choice(ROLES), default="no_role", show_default=True,
              help="The role for rows that name none (least privilege by default, as on the page).")
@click.option("--dry-run", is_flag=True, help="Print the preview only: nothing is stored or sent (no --as needed).")
@click.option("--yes", is_flag=True, help="Do not ask before sending.")
@click.option("--resend-pending", is_flag=True,
              help="Also resend the pending invitations outside the resend cooldown (skipped by default).")
@json_option
@as_option
def send(source: IO[bytes], role: str, dry_run: bool, yes: bool, resend_pending: bool, as_json: bool,
         acting_as: str | None) -> None:
    """Preview FILE (`-` for standard input) as the bulk page does, then start the job that sends it.

    The rows are sent by the bulk worker (`python -m invite.bulk.worker`), not by this command: watch them
    with `invite bulk wait JOB`. --dry-run exits 0 when every row is ready, 1 otherwise.
    """
    actor = None if dry_run else cli_actor(acting_as)  # refused before anything is read or asked
    path = getattr(source, "name", "-")
    name = "standard input" if path in ("-", "<stdin>") else click.format_filename(path, shorten=True)
    try:
        parsed = parse_bulk(_read(source))
    except BulkInputError as exc:
        end(exits.NOT_DONE, f"{name}: {exc.message}", "Nothing was stored or sent.", as_json=as_json,
             outcome="bad_list")
    refuse_a_throwaway_junction()
    try:
        preview = jobs.preview_list(FLASK, current_app.extensions["upstream"], parsed, role,
                                    copy_max_age=current_app.extensions["settings"].org_snapshot_max_age)
    except JunctionError as exc:
        message = views.failure(exc, "The list could not be checked against Junction; nothing was stored or sent")
        end(exits.for_lookup(exc), message["title"], message["text"], as_json=as_json, outcome="lookup_failed")
    rows = jobs.draft_rows(preview, current_app.extensions["settings"].resend_cooldown_minutes)
    _print_preview(rows, preview.counts, resend_pending, as_json)
    if not as_json:  # where the members and invitations came from: Junction now, or the worker's copy
        say(checked_against(preview.as_of, utcnow(), current_app.extensions["settings"].org_snapshot_every))
    to_send = sum(_will_send(row, resend_pending) for row in rows)
    summary = {"rows": len(rows), "counts": preview.counts, "to_send": to_send, "dry_run": dry_run,
               "checked_as_of": preview.as_of.isoformat() if preview.as_of else None}
    if dry_run:
        problems = len(rows) - len(preview.ready)
        end(exits.NOT_DONE if problems else exits.DONE,
             f"Dry run: {_plural(to_send, 'invitation')} would be sent; nothing was stored or sent.",
             f"{_plural(problems, 'row')} {'is' if problems == 1 else 'are'} not ready." if problems else "",
             as_json=as_json, outcome="dry_run", job_id=None, **summary)
    if not to_send:
        end(exits.NOT_DONE, "Nothing to send: no row is ready.", "Correct the list and run it again.",
             as_json=as_json, outcome="nothing_to_send", job_id=None, **summary)
    if not yes and not asked(f"Send {_plural(to_send, 'invitation')}?"):
        end(exits.NOT_DONE, "Nothing was sent.", "Add --yes to send without being asked.", as_json=as_json,
             outcome="declined", job_id=None, **summary)
    job = _start(rows, actor, name, resend_pending, preview.as_of)
    end(exits.DONE, f"Job {job.id} started: {_plural(to_send, 'invitation')} to send.",
         f"The bulk worker sends them. Watch it with `invite bulk wait {job.id}` (or /bulk/{job.id}).",
         as_json=as_json, outcome="started", job_id=job.id, **summary)


def _start(rows: Sequence[jobs.DraftRow], actor: Actor, name: str, resend_pending: bool,
           checked_as_of: datetime | None):
    """The page's two steps at once: store the previewed list, then confirm it with its one-time token."""
    draft = jobs.create_draft(FLASK, rows, actor, source=f"{name} (command line, {actor.os_user}@{actor.host})",
                              checked_as_of=checked_as_of)
    job, _started = jobs.confirm_job(FLASK, draft.token, actor, waker=waker(), resend_pending=resend_pending)
    return job


# ------------------------------------------------------------------------------------------ a job


def _status_or_end(job_id: int, as_json: bool = False) -> jobs.JobStatus:
    status = jobs.job_status(FLASK, job_id) if 1 <= job_id <= JOB_ID_MAX else None
    if status is None or status.job.state == "draft":
        end(exits.NOT_DONE, f"There is no bulk job {job_id}.", "`invite bulk status` takes the number "
             "`invite bulk FILE` printed.", as_json=as_json, outcome="no_such_job")
    return status


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    value = round(value)
    return f"{value // 60} min {value % 60:02d} s" if value >= 60 else f"{value} s"


def progress_text(status: jobs.JobStatus) -> str:
    """Rows done, the counts that matter, the rate and the time left, on one line."""
    counts = status.counts
    labels = jobs.count_labels(status.job)
    shown = ", ".join(f"{counts[g]} {labels[g].lower()}" for g in jobs.COUNT_GROUPS
                      if counts.get(g) and g not in ("waiting", "skipped"))
    text = f"{status.finished}/{status.total} rows done"
    if shown:
        text += f" ({shown})"
    if status.rate_per_minute is not None:
        text += f", {status.rate_per_minute:g} rows/min"
    if status.eta_seconds is not None:
        text += f", about {_seconds(status.eta_seconds)} left"
    return text


def _state_words(status: jobs.JobStatus) -> str:
    return jobs.STATE_WORDS.get(status.job.state, status.job.state)


@bulk_group.command("status")
@click.argument("job_id", metavar="JOB", type=int)
@json_option
def status(job_id: int, as_json: bool) -> None:
    """Counts per outcome, state, rate and time left of bulk job JOB (exits 0 when the job exists)."""
    found = _status_or_end(job_id, as_json)
    job = found.job
    if as_json:
        extra: dict[str, Any] = {}
        if job.is_access:  # the plan it applies, and what each row changes
            extra = {"plan_id": job.plan_id, "file_sha256": job.file_sha256,
                     "rows": [_access_row_json(row) for row in jobs.job_rows(FLASK, job_id)]}
        emit_json({**found.as_json(), "state_words": _state_words(found), "created_by": job.created_by,
                   "source": job.source, "kind": job.kind, **extra,
                   "exit_code_when_ended": end_code(job_id) if _ended(found) else None})
        return
    say(f"Job {job.id}: {_state_words(found)} ({found.percent} %), started by {job.created_by} from {job.source}.",
        "header")
    labels = jobs.count_labels(job)
    say("  " + "  ".join(f"{labels[g]}: {found.counts.get(g, 0)}" for g in jobs.COUNT_GROUPS))
    say(f"  {progress_text(found)}")
    if job.message:
        say(f"  {job.message}")
    if job.is_access:
        say(f"  Plan {job.plan_id}, from a file with sha256 {job.file_sha256}.")
        rows = jobs.job_rows(FLASK, job_id)
        table([Column("ROW", 4), Column("EMAIL", 32), Column("OUTCOME", 30), Column("CHANGE", None)],
              ([str(row.position), row.email, jobs.row_words(row), jobs.change_words(row)] for row in rows))
        for row in rows:
            if row.message:
                say(f"  Row {row.position} ({row.email}): {row.message}")


def _access_row_json(row: Any) -> dict[str, Any]:
    return {"row": row.position, "operation": row.operation, "change": jobs.change_words(row), "email": row.email,
            "before": (row.change or {}).get("before"), "after": (row.change or {}).get("after"),
            "outcome": row.outcome_kind, "outcome_words": jobs.row_words(row), "message": row.message}


def _row_code(kind: str) -> int:
    """A row's exit code: the command line's table (exits.for_outcome) for the kinds it names; an access
    job's others (a member changed, removed, or left alone by a guard) by the vocabulary's group."""
    if kind in ("check_failed",):  # the check before a change could not reach Junction: nothing was done
        return exits.UNAVAILABLE
    code = exits.for_outcome(kind)
    if code != exits.UNKNOWN or kind == "unknown" or kind not in vocabulary.OUTCOMES:
        return code
    return {vocabulary.SUCCEEDED: exits.DONE, vocabulary.FAILED: exits.NOT_DONE,
            vocabulary.HELD_BACK: exits.UNAVAILABLE}.get(vocabulary.group(kind), exits.UNKNOWN)


def end_code(job_id: int) -> int:
    """An ended job's exit code: 4 stopped (the key was refused), 3 a row unknown, 5 a row not sent because
    Junction was unavailable or rate limiting, 1 a row not sent otherwise or cancelled, 0 all sent or
    already members (an access job: every change made)."""
    job = jobs.get_job(FLASK, job_id)
    if job.state == STOPPED:
        return exits.CONFIGURATION
    codes = Counter(_row_code(row.outcome_kind) if row.outcome_kind else exits.NOT_DONE
                    for row in jobs.job_rows(FLASK, job_id) if row.state != SKIPPED)
    for code in (exits.CONFIGURATION, exits.UNKNOWN, exits.UNAVAILABLE, exits.NOT_DONE):
        if codes[code]:
            return code
    return exits.DONE


def _ended(status: jobs.JobStatus) -> bool:
    """Ended, and its rows in flight recorded: what `wait` waits for."""
    return status.job.state in ENDED and not jobs.has_runner(status.job)


def _watch_with_bar(job_id: int, first: jobs.JobStatus, deadline: float | None) -> jobs.JobStatus:
    found = first
    with click.progressbar(length=max(found.total, 1), label=f"Job {job_id}", show_eta=False, show_percent=True,
                           item_show_func=lambda text: text, width=24, update_min_steps=0) as bar:
        while True:
            bar.update(found.finished - bar.pos, progress_text(found))
            if _ended(found) or (deadline is not None and time.monotonic() >= deadline):
                return found
            time.sleep(POLL_SECONDS)
            found = _status_or_end(job_id)


def _watch_with_lines(job_id: int, first: jobs.JobStatus, deadline: float | None,
                      as_json: bool = False) -> jobs.JobStatus:
    found, last_line, last_said = first, "", 0.0
    while True:
        line = f"Job {job_id}: {_state_words(found)}: {progress_text(found)}"
        ended = _ended(found) or (deadline is not None and time.monotonic() >= deadline)
        if line != last_line and (ended or time.monotonic() - last_said >= PLAIN_LINE_EVERY_SECONDS):
            if as_json:
                emit_json({"type": "progress", **found.as_json(), "state_words": _state_words(found)})
            else:
                click.echo(line, color=False)
            last_line, last_said = line, time.monotonic()
        if ended:
            return found
        time.sleep(POLL_SECONDS)
        found = _status_or_end(job_id, as_json)


@bulk_group.command("wait")
@click.argument("job_id", metavar="JOB", type=int)
@click.option("--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Stop waiting after this long (exit 1; the job goes on).")
@json_option
def wait(job_id: int, timeout: float | None, as_json: bool) -> None:
    """Wait for bulk job JOB to end, with a progress bar on a terminal (plain lines otherwise).

    Exits 0 when every row was sent or was a member already, 1 when a row was not sent (or the job was
    cancelled, or --timeout passed), 3 when a row's outcome is unknown, 4 when the job stopped because
    Junction refused the key, 5 when rows were not sent because Junction was unavailable or rate limiting.
    With --json: a progress object per change (as the plain lines), then the summary.
    """
    follow(job_id, timeout, as_json)


def follow(job_id: int, timeout: float | None, as_json: bool) -> NoReturn:
    """`invite bulk wait`: watch the job to its end (or `timeout`), then end the command with its exit code.
    `invite access apply --wait` follows its job the same way."""
    deadline = None if timeout is None else time.monotonic() + timeout
    first = _status_or_end(job_id, as_json)
    if interactive(sys.stdout) and not as_json:
        found = _watch_with_bar(job_id, first, deadline)
    else:
        found = _watch_with_lines(job_id, first, deadline, as_json)
    job = found.job
    if not _ended(found):
        end(exits.NOT_DONE, f"Job {job_id} is still {_state_words(found).lower()} after {timeout:g} s.",
             f"It goes on: `invite bulk wait {job_id}` again, or /bulk/{job_id}.", as_json=as_json,
             outcome="timeout", job_id=job_id)
    code = end_code(job_id)
    unknown = found.counts.get("unknown", 0)
    text = job.message or ""
    if unknown and job.is_access:
        them = "it" if unknown == 1 else "them"
        text = (f"{_plural(unknown, 'row')}: Junction may or may not have made the change; `invite bulk status "
                f"{job_id}` lists {them}. Look in Junction, then plan again. {text}").strip()
    elif unknown:
        text = (f"{_plural(unknown, 'row')}: Junction may or may not have sent the invitation; "
                f"`invite bulk retry-unknown {job_id}` sends {'it' if unknown == 1 else 'them'} again. {text}").strip()
    end(code, f"Job {job_id} {_state_words(found).lower()}: {progress_text(found)}.", text, as_json=as_json,
         outcome="ended", job_id=job_id, state=job.state, counts=found.counts)


@bulk_group.command("retry-unknown")
@click.argument("job_id", metavar="JOB", type=int)
@click.option("--yes", is_flag=True, help="Do not ask first.")
@json_option
@acting_option
def retry_unknown(job_id: int, yes: bool, as_json: bool, actor: Actor) -> None:
    """Send the rows of JOB whose outcome stayed unknown once more (the job page's "Retry the N unknown rows")."""
    _status_or_end(job_id, as_json)
    unknown = jobs.unknown_count(FLASK, job_id)
    if not unknown:
        end(exits.NOT_DONE, f"Nothing was sent: no row of job {job_id} is unknown.", as_json=as_json,
             outcome="nothing_unknown", job_id=job_id)
    if not yes and not asked(
            f"Retry the {unknown} unknown {'row' if unknown == 1 else 'rows'} of job {job_id}? Junction did not "
            "say whether these invitations went out, and its invitations list did not show them. Sending again "
            "may resend an invitation that did arrive."):
        end(exits.NOT_DONE, "Nothing was sent.", "Add --yes to retry without being asked.", as_json=as_json,
             outcome="declined", job_id=job_id)
    try:
        count = jobs.retry_unknown(FLASK, job_id, actor, waker=waker())
    except jobs.JobError as exc:
        end(exits.NOT_DONE, f"Nothing was sent: {exc}", as_json=as_json, outcome="refused", job_id=job_id)
    end(exits.DONE, f"Sending the {_plural(count, 'unknown row')} of job {job_id} again.",
         f"Watch it with `invite bulk wait {job_id}`.", as_json=as_json, outcome="retrying", job_id=job_id,
         rows=count)
