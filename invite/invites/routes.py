"""The invite form, its submission, and the page that says what happened."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from invite.invites import outcomes
from invite.invites.field_errors import map_issues_to_fields
from invite.invites.forms import ROLE_HELP, ROLE_LABELS, TOKEN_PATTERN, InviteForm, new_submission_token
from invite.junction import InviteStatus, JunctionError, Team, ValidationError
from invite.storage import SENDING, claim_submission, complete_submission, get_submission
from invite.upstream import get_upstream
from invite.web import current_request_id

bp = Blueprint("invites", __name__)


def _load_teams() -> tuple[list[Team], str | None]:
    """The org's teams sorted for people, and a notice when the list is stale or unavailable."""
    try:
        snapshot = get_upstream().teams.get()
    except JunctionError:
        return [], ("The team list could not be loaded from Junction, so no teams can be picked right now. "
                    "Use “Refresh teams” in a minute.")
    notice = None
    if snapshot.error is not None:
        notice = "Junction could not be reached to refresh the team list; it may be out of date."
    return sorted(snapshot.value, key=lambda t: (t.name.casefold(), t.region)), notice


def _render_form(form: InviteForm, *, status: int = 200, alert=None, field_errors=None, form_errors=None,
                 teams: list[Team] | None = None, teams_notice: str | None = None, new_token: bool = False):
    if teams is None:
        teams, teams_notice = _load_teams()
        form.set_teams(teams, available=teams_notice is None or bool(teams))
    if new_token or not TOKEN_PATTERN.match(form.submission_token.data or ""):
        form.submission_token.data = new_submission_token()
    errors: dict[str, list[str]] = {}
    for name in ("email", "role", "teams"):
        messages = list(getattr(form, name).errors) + list((field_errors or {}).get(name, []))
        if messages:
            errors[name] = list(dict.fromkeys(messages))
    top = list(dict.fromkeys((form_errors or []) + [m for m in form.submission_token.errors]))
    return render_template(
        "invites/form.html",
        form=form,
        teams=teams,
        teams_notice=teams_notice,
        selected_teams=set(form.teams.data or []),
        role_labels=ROLE_LABELS,
        role_help=ROLE_HELP,
        field_errors=errors,
        form_errors=top,
        alert=alert,
    ), status


@bp.get("/")
def invite_form():
    form = InviteForm(formdata=None)
    return _render_form(form, new_token=True)


@bp.post("/teams/refresh")
def refresh_teams():
    """Reload the team list, then show the form again exactly as it was filled in."""
    with contextlib.suppress(JunctionError):  # _load_teams below says the list is unavailable
        get_upstream().teams.refresh()
    form = InviteForm()
    return _render_form(form)


def _show_stored_outcome(form: InviteForm, submission):
    outcome = submission.outcome or {}
    if submission.state == SENDING or outcome.get("kind") == "result":
        return redirect(url_for("invites.result", token=submission.token), code=303)
    return _render_form(form, status=422 if outcome.get("field_errors") else 200, alert=outcome.get("alert"),
                        field_errors=outcome.get("field_errors"), form_errors=outcome.get("form_errors"),
                        new_token=True)


@bp.post("/")
def send_invite():
    form = InviteForm()
    teams, teams_notice = _load_teams()
    form.set_teams(teams, available=teams_notice is None or bool(teams))
    if not form.validate():
        return _render_form(form, status=422, teams=teams, teams_notice=teams_notice)

    names = {team.id: team.name for team in teams}
    team_ids = list(form.teams.data or [])
    claim = claim_submission(
        form.submission_token.data,
        email=form.email.data,
        role=form.role.data,
        teams=[{"id": tid, "name": names.get(tid, tid)} for tid in team_ids],
    )
    if not claim.is_new:
        return _show_stored_outcome(form, claim.submission)

    outcome = _send(form.email.data, form.role.data, team_ids, names)
    complete_submission(claim.submission, outcome)
    return _show_stored_outcome(form, claim.submission)


def _send(email: str, role: str, team_ids: list[str], team_names: dict[str, str]) -> dict:
    client = get_upstream().client
    started_at = datetime.now(UTC)
    try:
        status = client.create_or_resend_invite(email, role, team_ids)
    except ValidationError as exc:
        mapped = map_issues_to_fields(exc.issues, team_ids, team_names)
        return outcomes.form_outcome(outcomes.validation_alert(), mapped.fields, mapped.form)
    except JunctionError as exc:
        _log_upstream_error(exc)
        if not exc.may_have_taken_effect:
            return outcomes.form_outcome(outcomes.describe_not_sent(exc))
        pending, check_error = None, None
        try:
            pending = client.find_pending_invite(email)
        except JunctionError as follow_up:
            check_error = follow_up
        return outcomes.describe_unknown(exc, email, started_at, pending, check_error)
    return outcomes.result_outcome(status)


def _log_upstream_error(exc: JunctionError) -> None:
    current_app.logger.warning(
        "junction call failed: %s", exc.message,
        extra={"fields": {"request_id": current_request_id(), "error_kind": type(exc).__name__,
                          "http_status": exc.http_status, "junction_request_id": exc.request_id}},
    )


# A row still "sending" this long after it was written belongs to a request that died mid-call.
def _abandoned_after() -> timedelta:
    return timedelta(seconds=current_app.config["JUNCTION_TIMEOUT_SECONDS"] * 3 + 10)


@bp.get("/sent/<token>")
def result(token: str):
    if not TOKEN_PATTERN.match(token):
        abort(404)
    submission = get_submission(token)
    if submission is None:
        abort(404)
    outcome = submission.outcome or {}
    still_sending = submission.state == SENDING
    abandoned = still_sending and datetime.now(UTC) - _aware(submission.created_at) > _abandoned_after()
    pending, check_failed = None, False
    if abandoned:
        try:
            pending = get_upstream().client.find_pending_invite(submission.email)
        except JunctionError:
            check_failed = True
    return render_template(
        "invites/result.html",
        submission=submission,
        outcome=outcome,
        still_sending=still_sending and not abandoned,
        abandoned=abandoned,
        pending=pending,
        check_failed=check_failed,
        statuses=InviteStatus,
        role_labels=ROLE_LABELS,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def handle_csrf_error(error: CSRFError):
    """An expired or missing CSRF token on the invite form: show it again with what was typed."""
    if request.endpoint in {"invites.send_invite", "invites.refresh_teams"}:
        form = InviteForm(meta={"csrf": False})
        alert = outcomes.alert("Not sent: this form had expired.",
                                "Your entries are kept below; check them and send again.", outcomes.NOT_SENT)
        return _render_form(form, status=400, alert=alert, new_token=True)
    return render_template("errors/error.html", error=error, request_id=current_request_id()), 400
