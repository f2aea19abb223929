"""/bulk: paste or upload a list, preview every row, confirm once, then watch the job the worker runs.

Web requests never send rows themselves: confirming starts the job in the database and wakes a worker.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from invite.activity.export import safe_cell
from invite.adapters.storage import LARGEST_ID
from invite.adapters.unit_of_work import FLASK, UnitOfWork
from invite.adapters.upstream import for_this_request
from invite.auth import require
from invite.bulk import drafts, jobs, progress
from invite.bulk.forms import ROLES_LEAST_FIRST, BulkListForm, ConfirmForm, JobControlForm
from invite.bulk.in_app import waker
from invite.bulk.models import DRAFT, SKIPPED
from invite.bulk.parser import MAX_BYTES, TEMPLATE_CSV, BulkInputError, InputRow, parse_bulk
from invite.bulk.preview import VERDICTS, checked_against
from invite.core.invite_rules import ROLE_LABELS
from invite.core.safe_text import fit
from invite.junction import JunctionError
from invite.services.actions import Actor
from invite.web import current_actor

bp = Blueprint("bulk", __name__)


@bp.url_value_preprocessor
def _job_id_in_range(_endpoint: str | None, values: dict | None) -> None:
    # An id past what the database holds names no job: a 404 page, before a query the database would
    # refuse (PostgreSQL's integer, SQLite's 64 bits) became a 500. A max= on the route's converter would
    # make the GET and POST rules of one path answer 405 instead.
    if values and values.get("job_id", 0) > LARGEST_ID:
        abort(404)

VERDICT_LABELS = jobs.VERDICT_WORDS
STATE_WORDS = jobs.STATE_WORDS


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge):
    return _render_list_page(BulkListForm(formdata=None), status=413, error=(
        f"The list is larger than {MAX_BYTES:,} bytes (1 MB), the most that can be read at once: split it into "
        "smaller files and send them one after the other."))


def _who() -> Actor:  # the person acting, as the audit trail records them
    return current_actor()


def _render_list_page(form: BulkListForm, *, error: str | None = None, status: int = 200):
    return render_template("bulk/index.html", form=form, error=error, jobs=jobs.list_jobs(FLASK),
                           state_words=STATE_WORDS, page_has_errors=bool(error)), status


@bp.get("/bulk")
@require("send")
def index():
    return _render_list_page(BulkListForm(formdata=None))


@bp.get("/bulk/template.csv")
@require("send")
def template_csv():
    return Response(TEMPLATE_CSV, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="bulk-invite-template.csv"'})


def _as_csv(rows: list[InputRow]) -> str:
    """The list as CSV lines for the edit box, whatever it came in as: each row on the line of its number
    (a header on line 1 when the rows start below it, an empty line for a row taken out), so "Row 7" of
    the preview is line 7 of the box, as it was of the file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    line = 1
    if rows and rows[0].number > 1:
        writer.writerow(["email", "role", "teams"])
        line = 2
    for row in rows:
        buffer.write("\n" * max(row.number - line, 0))
        line = max(row.number, line) + 1
        writer.writerow([row.email, row.role_text, ";".join(row.teams)] if row.role_text or row.teams else [row.email])
    return buffer.getvalue()


PROBLEM_VERDICTS = drafts.PROBLEM_VERDICTS


@bp.post("/bulk/preview")
@require("send")
def preview():
    form = BulkListForm()
    if not form.validate():
        return _render_list_page(form, error="The form had expired or was incomplete; check it and preview again.",
                                 status=400)
    upload = form.file.data
    data: bytes | str = form.text.data or ""
    source = "pasted"
    if upload is not None and upload.filename:
        data = upload.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:  # only the first MAX_BYTES + 1 were read: say the file's own size
            upload.stream.seek(0, io.SEEK_END)
            return _render_list_page(form, status=422, error=(
                f"The file is {upload.stream.tell():,} bytes and at most {MAX_BYTES:,} bytes (1 MB) can be read "
                "at once: split it into smaller lists."))
        # Shown on this page and the job's, and stored: as any other outside text, without control or
        # bidi characters (a U+202E turns the name around on screen) and cut to its column.
        source = fit(upload.filename, 255)
    try:
        rows = parse_bulk(data)
    except BulkInputError as exc:
        return _render_list_page(form, error=exc.message, status=422)
    return _preview_page(form, rows, form.default_role.data, source)


def _preview_page(form: BulkListForm, rows: list[InputRow], default_role: str, source: str,
                  notice: str | None = None, notice_title: str = "Checked again",
                  box_rows: list[InputRow] | None = None, use_copy: bool = True):
    """Check the rows against Junction (or the worker's copy of the org, for a long list, unless `use_copy` is
    False), store them as a draft to confirm, and show its first page (the edit box below holds `box_rows`,
    the rows as typed, when given)."""
    try:
        settings = current_app.extensions["settings"]
        result = jobs.preview_list(FLASK, current_app.extensions["upstream"], rows, default_role,
                                   copy_max_age=settings.org_snapshot_max_age if use_copy else None,
                                   on_thread=for_this_request)
    except JunctionError as exc:
        return _render_list_page(form, status=502, error=(
            f"The list could not be checked against Junction ({exc.message}) Nothing was sent or stored; "
            "preview again in a minute."))
    cooldown = current_app.extensions["settings"].resend_cooldown_minutes
    draft = jobs.create_draft(FLASK, jobs.draft_rows(result, cooldown), _who(), source=source,
                              checked_as_of=result.as_of)
    form.text.data = _as_csv(box_rows or rows)
    return _render_draft(draft, 1, form=form, notice=notice, notice_title=notice_title)


def _render_draft(draft, page: int, *, form: BulkListForm | None = None, notice: str | None = None,
                  notice_title: str = "Checked again", marked: int | None = None):
    """A page of a stored preview: its rows a page at a time (problems first), each row with its own small
    form to fix or remove it, and the whole list in the edit box below."""
    shown = drafts.draft_page(draft, page)
    if form is None:
        form = BulkListForm(formdata=None)
        teams = current_app.extensions["upstream"].teams.get().value
        form.text.data = _as_csv(drafts.as_list_text_rows(drafts.stored_rows(draft), teams))
    return render_template(
        "bulk/preview.html", form=form, shown=shown, draft=draft, ready=shown.ready, resendable=shown.resendable,
        confirm=ConfirmForm(formdata=None, token=draft.token), verdicts=VERDICTS, verdict_labels=VERDICT_LABELS,
        role_labels=ROLE_LABELS, roles=ROLES_LEAST_FIRST, source=draft.source or "pasted", notice=notice,
        notice_title=notice_title, problem_verdicts=PROBLEM_VERDICTS, marked=marked,
        checked=checked_against(draft.checked_as_of, draft.created_at,
                                current_app.extensions["settings"].org_snapshot_every),
        page_url=lambda number: url_for("bulk.draft_view", job_id=draft.id, page=number) + "#rows",
    )


@bp.get("/bulk/preview/<int:job_id>")
@require("send")
def draft_view(job_id: int):
    """A stored preview, a page at a time; where a fix lands. Once confirmed, its job's page. Only the
    person who previewed the list sees its preview (as only they can confirm it)."""
    draft = jobs.get_job(FLASK, job_id)
    if draft is not None and draft.state != DRAFT:
        return redirect(url_for("bulk.job_page", job_id=draft.id), code=303)
    if draft is None or draft.created_by.strip().lower() != _who().email.strip().lower():
        abort(404)
    notice = next((m for c, m in get_flashed_messages(with_categories=True) if c == "notice"), None)
    return _render_draft(draft, request.args.get("page", 1, type=int) or 1, notice=notice,
                         notice_title="List changed", marked=request.args.get("row", type=int))


def _revised(draft, rows: list[InputRow], changed: set[int], notice: str, *, row: int | None = None,
             page: int | None = None):
    """Store the changed list as a new draft (asking Junction only about what changed) and show it: the
    row's page, at the row, or the page the person was on."""
    upstream = current_app.extensions["upstream"]
    try:
        revision = drafts.revise(draft, rows, changed, _who(), client=upstream.client,
                                 teams=upstream.teams.get().value,
                                 cooldown_minutes=current_app.extensions["settings"].resend_cooldown_minutes,
                                 on_thread=for_this_request)
    except JunctionError as exc:
        flash(f"The changed row could not be checked against Junction ({exc.message}) Nothing was changed; "
              "try again in a minute.", "notice")
        return redirect(url_for("bulk.draft_view", job_id=draft.id, page=page or 1) + "#fix-notice", code=303)
    new = revision.draft
    fixed = drafts.row_at(new, row) if row is not None else None
    if fixed is not None:
        verdict = fixed.verdict
        notice = (f"Row {row} was checked again and is ready to send." if verdict == "ready" else
                  f"Row {row} was checked again: {VERDICT_LABELS.get(verdict, verdict)}. {fixed.preview_message or ''}")
    flash(notice.strip(), "notice")
    there = drafts.page_of(new, row) if row is not None else None
    if there is not None and (page is None or there == page):
        # row= marks the row on the page (a script's fetch does not see the URL's fragment).
        return redirect(url_for("bulk.draft_view", job_id=new.id, page=there, row=row) + f"#row-{row}", code=303)
    return redirect(url_for("bulk.draft_view", job_id=new.id, page=page or 1) + "#fix-notice", code=303)


def _draft_from_form():
    form = ConfirmForm()
    return jobs.draft_for(FLASK, form.token.data or "", _who()) if form.validate() else None


def _expired():
    flash("That preview had expired or was already sent. Preview the list again.", "error")
    return redirect(url_for("bulk.index"), code=303)


@bp.post("/bulk/fix")
@require("send")
def fix():
    """The preview's quick fixes: take out the rows with problems, or take each unknown team's closest name.
    The rows keep their numbers, so the new preview still matches the file."""
    draft = _draft_from_form()
    if draft is None:
        return _expired()
    stored = drafts.stored_rows(draft)
    if request.form.get("fix") == "accept":
        notice = "The closest team name was used for each unknown team; check the rows and confirm."
        changed = {row.position for row in stored if drafts.suggests(row)}
        rows = [drafts.with_suggestions(row) if row.position in changed else drafts.as_input(row) for row in stored]
    else:
        removed = [row.position for row in stored if row.verdict in PROBLEM_VERDICTS]
        notice = (f"Took out {len(removed)} {'row' if len(removed) == 1 else 'rows'} with problems "
                  f"(row {', '.join(map(str, removed))}); the others keep their row numbers.")
        rows = [drafts.as_input(row) for row in stored if row.verdict not in PROBLEM_VERDICTS]
        changed = set()
    if not rows:
        flash("Every row had a problem, so none is left to preview. Correct the list and preview it again.", "error")
        return redirect(url_for("bulk.index"), code=303)
    return _revised(draft, rows, changed, notice)


@bp.post("/bulk/row")
@require("send")
def fix_row():
    """One row of a preview fixed in place: its cells changed and checked again, its suggested teams taken,
    or the row removed. The other rows keep their numbers and their checks; Junction is asked only about
    the row (and a row that stops being its duplicate)."""
    draft = _draft_from_form()
    if draft is None:
        return _expired()
    number = request.form.get("row", type=int)
    page = request.form.get("page", type=int)
    stored = drafts.stored_rows(draft)
    target = next((row for row in stored if row.position == number), None)
    if target is None:
        which = f"Row {number}" if number is not None else "That row"
        flash(f"{which} is not in this preview any more; the list is as shown.", "notice")
        return redirect(url_for("bulk.draft_view", job_id=draft.id, page=page or 1) + "#fix-notice", code=303)
    action = request.form.get("change", "check")
    if action == "remove":
        rows = [drafts.as_input(row) for row in stored if row is not target]
        if not rows:
            flash("That was the list's last row, so nothing is left to preview. Paste or upload the list again.",
                  "error")
            return redirect(url_for("bulk.index"), code=303)
        return _revised(draft, rows, set(), f"Removed row {number} ({target.email or 'no address'}); the other rows "
                        "keep their numbers.", page=page)
    if action == "accept":
        changed_row = drafts.with_suggestions(target)
    else:
        changed_row = drafts.typed_row(number, request.form.get("email", ""), request.form.get("role", ""),
                                       request.form.get("teams", ""))
    rows = [changed_row if row is target else drafts.as_input(row) for row in stored]
    return _revised(draft, rows, {number}, f"Row {number} was checked again.", row=number, page=page)


PROBLEM_COLUMNS = ("email", "role", "teams", "row", "problem", "suggestion")


@bp.get("/bulk/<int:job_id>/problems.csv")
@require("send")
def problems_csv(job_id: int):
    """The rows with problems as they were typed, with what is wrong: to fix in a spreadsheet and upload
    again (the email, role and teams columns come first, as the list's own)."""
    job = jobs.get_job(FLASK, job_id)
    if job is None or (job.state == DRAFT and job.created_by.strip().lower() != _who().email.strip().lower()):
        abort(404)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PROBLEM_COLUMNS)
    for row in jobs.job_rows(FLASK, job_id):
        if row.verdict not in PROBLEM_VERDICTS:
            continue
        suggestions = "; ".join(name for t in row.teams for name in t.get("suggestions", [])[:1])
        values = (row.email, row.role or "", ";".join(row.team_names), row.position,
                  VERDICT_LABELS.get(row.verdict, row.verdict) + ": " + (row.preview_message or ""), suggestions)
        writer.writerow([safe_cell(v) for v in values])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="bulk-{job_id}-problem-rows.csv"'})


@bp.post("/bulk/confirm")
@require("send")
def confirm():
    form = ConfirmForm()
    if not form.validate():
        flash("That confirmation had expired. Preview the list again.", "error")
        return redirect(url_for("bulk.index"), code=303)
    try:
        job, started = jobs.confirm_job(FLASK, form.token.data, _who(), waker=waker(),
                                        resend_pending=request.form.get("resend") == "1")
    except jobs.StaleDraft as stale:
        stored = drafts.stored_rows(stale.job)
        box = drafts.as_list_text_rows(stored, current_app.extensions["upstream"].teams.get().value)
        return _preview_page(BulkListForm(formdata=None), [drafts.as_input(row) for row in stored], "no_role",
                             stale.job.source or "pasted", notice=str(stale), box_rows=box, use_copy=False)
    except jobs.JobError as refused:
        flash(str(refused), "error")
        return redirect(url_for("bulk.index"), code=303)
    if job is None:
        abort(404)
    if not started:
        flash("This list was already confirmed: this is its job, started once.", "info")
    return redirect(url_for("bulk.job_page", job_id=job.id), code=303)


def _job_or_404(job_id: int):
    status = jobs.job_status(FLASK, job_id)
    if status is None or status.job.state == DRAFT:
        abort(404)
    return status


# Each count group's tone, as the preview's pills: sent is good, not sent a failure, unknown to be checked.
GROUP_TONES = {"sent": "succeeded", "not_sent": "failed", "unknown": "unknown", "held_back": "held_back"}
ATTENTION_GROUPS = progress.ATTENTION_GROUPS
ENDED_STATES = ("done", "cancelled")


def _row_group(row) -> str:
    return jobs.count_group(row.state, row.outcome_kind)


def _summary(status: jobs.JobStatus) -> str | None:
    """One sentence for a job that has ended: what went out and what needs a look."""
    if status.job.state not in ENDED_STATES:
        return None
    counts = status.counts
    sent = counts["sent"]
    if status.job.is_access:
        words = [f"{sent} of {status.total} {'change' if status.total == 1 else 'changes'} made"]
    else:
        words = [f"{sent} of {status.total} {'invitation' if status.total == 1 else 'invitations'} sent"]
    labels = jobs.count_labels(status.job)
    attention = [f"{counts[g]} {labels[g].lower()}" for g in ATTENTION_GROUPS if counts[g]]
    sentence = ("Finished: " if status.job.state == "done" else "Cancelled: ") + words[0]
    if counts["already_member"]:
        members = counts["already_member"]
        sentence += f", {members} already {'a member' if members == 1 else 'members'}"
    if counts["cancelled"]:
        sentence += f", {counts['cancelled']} cancelled before sending"
    sentence += "."
    if attention:
        sentence += f" {' and '.join(attention)} {'needs' if sum(counts[g] for g in ATTENTION_GROUPS) == 1 else 'need'}"
        sentence += " your attention; listed first."
    if counts["skipped"]:
        skipped = counts["skipped"]
        sentence += f" {skipped} {'row was' if skipped == 1 else 'rows were'} skipped in the preview."
    return sentence


@bp.get("/bulk/<int:job_id>")
@require("send")
def job_page(job_id: int):
    status = _job_or_404(job_id)
    show = request.args.get("show")
    show = show if show in jobs.COUNT_GROUPS else None
    # A page of rows, those needing attention first, sorted and filtered by the database: a job of 5,000
    # rows is not a page of 5,000 rows.
    shown = progress.rows_page(job_id, show=show, page=request.args.get("page", 1, type=int) or 1)
    return render_template(
        "bulk/job.html", status=status, rows=shown.rows, shown=shown, row_words=jobs.row_words, row_group=_row_group,
        change_words=jobs.change_words, count_labels=jobs.count_labels(status.job), count_groups=jobs.COUNT_GROUPS,
        state_words=STATE_WORDS,
        control=JobControlForm(formdata=None), unknown=jobs.unknown_count(FLASK, job_id), role_labels=ROLE_LABELS,
        verdict_labels=VERDICT_LABELS, skipped=SKIPPED, group_tones=GROUP_TONES, show=show,
        summary=_summary(status), ended=status.job.state in ENDED_STATES, cursor=progress.cursor_now(),
        filter_url=lambda key: url_for("bulk.job_page", job_id=job_id, show=None if key == "all" else key),
        page_url=lambda number: url_for("bulk.job_page", job_id=job_id, show=show, page=number) + "#rows",
    )


@bp.get("/bulk/<int:job_id>.json")
@require("send")
def job_json(job_id: int):
    """The job's figures and its rows; with ?since=CURSOR (from the page or the last poll) only the rows that
    changed since, and the cursor for the next poll."""
    until = progress.cursor_moment()  # the next poll's cursor: rows finished after it go out with that poll
    status = _job_or_404(job_id)
    body = status.as_json()
    body["state_words"] = STATE_WORDS.get(status.job.state, status.job.state)
    since = progress.decode_cursor(request.args.get("since"))
    body["rows"] = [{"id": row.id, "outcome": jobs.row_words(row), "message": row.message or "",
                     "tone": GROUP_TONES.get(_row_group(row), "neutral"), "field_errors": row.field_errors or {}}
                    for row in progress.changed_rows(job_id, since, until) if row.state != SKIPPED]
    body["cursor"] = progress.encode_cursor(until)
    return body


def _control(job_id: int, act) -> Response:
    form = JobControlForm()
    if form.validate():
        try:
            act(FLASK, job_id, _who())
        except jobs.JobError as exc:
            flash(str(exc), "error")
    else:
        flash("That button's page had expired; try again.", "error")
    return redirect(url_for("bulk.job_page", job_id=job_id), code=303)


@bp.post("/bulk/<int:job_id>/pause")
@require("send")
def pause(job_id: int):
    return _control(job_id, jobs.pause)


@bp.post("/bulk/<int:job_id>/resume")
@require("send")
def resume(job_id: int):
    return _control(job_id, lambda uow, job_id, who: jobs.resume(uow, job_id, who, waker=waker()))


@bp.post("/bulk/<int:job_id>/cancel")
@require("send")
def cancel(job_id: int):
    return _control(job_id, jobs.cancel)


@bp.get("/bulk/<int:job_id>/retry-unknown")
@require("send")
def retry_unknown_confirm(job_id: int):
    status = _job_or_404(job_id)
    return render_template("bulk/retry.html", status=status, unknown=jobs.unknown_count(FLASK, job_id),
                           control=JobControlForm(formdata=None))


@bp.post("/bulk/<int:job_id>/retry-unknown")
@require("send")
def retry_unknown(job_id: int):
    def act(uow: UnitOfWork, job_id: int, who: Actor) -> None:
        count = jobs.retry_unknown(uow, job_id, who, waker=waker())
        flash(f"Sending the {count} unknown {'row' if count == 1 else 'rows'} again." if count
              else "No row is unknown any more.", "info")

    return _control(job_id, act)


RESULT_COLUMNS = ("row", "email", "role", "teams", "outcome", "message", "invite_id", "time_utc")


@bp.get("/bulk/<int:job_id>.csv")
@require("send")
def results_csv(job_id: int):
    _job_or_404(job_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(RESULT_COLUMNS)
    for row in jobs.job_rows(FLASK, job_id):
        message = row.message or (row.preview_message if row.state == SKIPPED else "")
        errors = "; ".join(f"{name}: {m}" for name, messages in (row.field_errors or {}).items() for m in messages)
        values = (row.position, row.email, row.role, "; ".join(row.team_names), jobs.row_words(row),
                  " ".join(filter(None, [message, errors])), row.invite_id,
                  row.finished_at.isoformat() if isinstance(row.finished_at, datetime) else "")
        writer.writerow([safe_cell(v) for v in values])
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="bulk-job-{job_id}-results.csv"'})
