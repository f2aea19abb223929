"""The invite form, its submission, and the page that says what happened."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import Markup, escape

from invite.adapters.cache import Kept
from invite.adapters.storage import PENDING, Action, get_action_to_show
from invite.adapters.unit_of_work import FLASK
from invite.adapters.upstream import get_upstream
from invite.auth import can, current_identity, require
from invite.core import outcomes, tokens
from invite.invites.forms import ROLE_HELP, ROLE_LABELS, TOKEN_PATTERN, InviteForm
from invite.invites.messages import PlainMessage, flagged_team_name, plain_message
from invite.junction import InviteStatus, JunctionError, Team
from invite.services import actions
from invite.web import current_actor, current_request_id

bp = Blueprint("invites", __name__)


def new_submission_token() -> str:
    """The form's one-time token, issued for the person signed in: nobody else's post can use it."""
    return tokens.issue(current_app.secret_key, "form", current_identity().email)


def _token_is_theirs(token: str | None) -> bool:
    return tokens.verify(current_app.secret_key, "form", token or "", current_identity().email)


@bp.app_template_filter("plain")
def plain(message: str, field: str) -> PlainMessage:
    return plain_message(field, message)


def _flag_teams(teams: list[Team], invalid_team_ids: set[str], team_messages: list[str]):
    """Junction's flagged teams first, each with its own problem, then the rest (only on the error path)."""
    if not invalid_team_ids:
        return [], teams
    by_name = {flagged_team_name(m): m for m in team_messages}
    flagged = [(t, plain_message("teams", by_name.get(t.name, f"Team “{t.name}”: Junction did not accept it")))
               for t in teams if t.id in invalid_team_ids]
    return flagged, [t for t in teams if t.id not in invalid_team_ids]


# The items of a fresh form's team picker (nothing chosen, nothing flagged), with the list they were
# rendered from: the same until the team list is reloaded, and an org may have thousands of teams.
_blank_team_items: tuple[list[Team], Markup] | None = None


def _team_items(teams: list[Team], flagged_teams: list, selected_teams: set[str]) -> Markup:
    global _blank_team_items
    blank = not flagged_teams and not selected_teams
    kept = _blank_team_items
    if blank and kept is not None and kept[0] is teams:
        return kept[1]
    template = current_app.jinja_env.get_template("invites/_team_items.html")  # autoescaped, as every .html
    items = Markup(template.render(  # noqa: S704 - the template's own output, already escaped
        teams=teams, flagged_teams=flagged_teams, selected_teams=selected_teams))
    if blank:
        _blank_team_items = (teams, items)
    return items


def _load_teams() -> tuple[list[Team], str | None]:
    """The org's teams (sorted for people when loaded), and a notice when the list is stale or unavailable."""
    try:
        snapshot = get_upstream().teams.get()
    except JunctionError as exc:
        return [], (f"The team list could not be loaded from Junction ({exc.message}), so no teams can be "
                    "picked right now. Use “Refresh teams” in a moment.")
    notice = None
    if snapshot.error is not None:
        notice = "Junction could not be reached to refresh the team list; it may be out of date."
    return snapshot.value, notice


def _render_form(form: InviteForm, *, status: int = 200, alert=None, field_errors=None, form_errors=None,
                 invalid_team_ids=None, teams: list[Team] | None = None, teams_notice: str | None = None,
                 new_token: bool = False):
    if teams is None:
        # The template lists the teams itself; the form's choices only matter when validating a post.
        teams, teams_notice = _load_teams()
    if new_token or not _token_is_theirs(form.submission_token.data):
        form.submission_token.data = new_submission_token()
    errors: dict[str, list[str]] = {}
    for name in ("email", "role", "teams"):
        messages = list(getattr(form, name).errors) + list((field_errors or {}).get(name, []))
        if messages:
            errors[name] = list(dict.fromkeys(messages))
    top = list(dict.fromkeys((form_errors or []) + [m for m in form.submission_token.errors]))
    page_has_errors = bool(errors or top or alert)
    flagged_teams, other_teams = _flag_teams(teams, set(invalid_team_ids or []), errors.get("teams", []))
    return render_template(
        "invites/form.html",
        form=form,
        team_items=_team_items(other_teams, flagged_teams, set(form.teams.data or [])),
        team_count=len(teams),
        teams_notice=teams_notice,
        role_labels=ROLE_LABELS,
        role_help=ROLE_HELP,
        field_errors=errors,
        form_errors=top,
        alert=alert,
        page_has_errors=page_has_errors,
    ), status


# A blank form comes out the same for one person until the team list, the org's name or the mount point
# changes, but for its two tokens: each process keeps the page cut at them and fills in this request's. It
# is the page people open most, and building its form and rendering it was most of its cost (bench/README.md,
# the cost section). Kept per app (tests build several), for the current team list only, at most this many
# pages: with 2,000 teams a page is about 600 kB.
_BLANK_PAGES_KEPT = 16


def _cut_at(page: str, *tokens: str) -> tuple[str, ...] | None:
    """`page` split around each token in turn, or None unless each occurs exactly once, in that order."""
    parts, rest = [], page
    for token in tokens:
        if page.count(token) != 1:
            return None
        before, found, rest = rest.partition(token)
        if not found:
            return None
        parts.append(before)
    return (*parts, rest)


@bp.get("/")
@require("view")
def invite_form():
    if not can("send"):
        # Support staff start from the invitations list; the form would only refuse them.
        return redirect(url_for("support.invitations"))
    teams, teams_notice = _load_teams()
    identity = current_identity()
    key = (identity.email, identity.role, request.script_root, get_upstream().org_name(), teams_notice)
    csrf_token, submission_token = generate_csrf(), new_submission_token()
    pages = Kept.of(current_app.extensions, "invite.blank_form_pages")
    kept = pages.get(key)
    if kept is not None and kept[0] is teams:
        head, middle, tail = kept[1]
        return f"{head}{escape(csrf_token)}{middle}{escape(submission_token)}{tail}"
    form = InviteForm(formdata=None)
    form.submission_token.data = submission_token
    page, status = _render_form(form, teams=teams, teams_notice=teams_notice)
    parts = _cut_at(page, str(escape(csrf_token)), str(escape(submission_token)))
    if parts is not None:
        if any(other is not teams for other, _ in list(pages.values())):
            pages.clear()  # the team list was reloaded: every page kept so far shows the old one
        pages.keep(key, (teams, parts), _BLANK_PAGES_KEPT)
    return page, status


@bp.post("/teams/refresh")
@require("send")
def refresh_teams():
    """Reload the team list, then show the form again exactly as it was filled in."""
    with contextlib.suppress(JunctionError):  # _load_teams below says the list is unavailable
        get_upstream().teams.refresh()
    form = InviteForm()
    return _render_form(form)


def _show_stored_outcome(form: InviteForm, action: Action):
    outcome = action.outcome or {}
    if action.state == PENDING or outcome.get("kind") == "result":
        return redirect(url_for("invites.result", token=action.token), code=303)
    status = 429 if action.outcome_kind == "held_back" else 422 if outcome.get("field_errors") else 200
    return _render_form(form, status=status, alert=outcome.get("alert"),
                        field_errors=outcome.get("field_errors"), form_errors=outcome.get("form_errors"),
                        invalid_team_ids=outcome.get("invalid_team_ids"), new_token=True)


@bp.post("/")
@require("send")
def send_invite():
    form = InviteForm()
    teams, teams_notice = _load_teams()
    form.set_teams(teams, available=teams_notice is None or bool(teams))
    if not form.validate():
        return _render_form(form, status=422, teams=teams, teams_notice=teams_notice)

    if not _token_is_theirs(form.submission_token.data):
        return _expired(form, teams, teams_notice)

    names = {team.id: team.name for team in teams}
    upstream = get_upstream()
    try:
        claim = actions.send_invite(FLASK,
            upstream.client,
            form.submission_token.data,
            current_actor(),
            limits=upstream.limits,
            email=form.email.data,
            role=form.role.data,
            teams=[{"id": tid, "name": names.get(tid, tid)} for tid in form.teams.data or []],
        )
    except actions.TokenClash:
        return _expired(form, teams, teams_notice)
    return _show_stored_outcome(form, claim.action)


def _expired(form: InviteForm, teams: list[Team], teams_notice: str | None):
    """A token this server did not issue to this person, or already used for another address: send nothing,
    keep what was typed, and give a fresh token."""
    alert = outcomes.alert("Not sent: this form had expired.",
                           "Your entries are kept below; check them and send again.", outcomes.NOT_SENT)
    return _render_form(form, status=400, alert=alert, teams=teams, teams_notice=teams_notice, new_token=True)


# A row still pending this long after it was written belongs to a request that died mid-call.
def _abandoned_after() -> timedelta:
    return timedelta(seconds=current_app.config["JUNCTION_TIMEOUT_SECONDS"] * 3 + 10)


@bp.get("/sent/<token>")
@require("view")
def result(token: str):
    if not TOKEN_PATTERN.match(token):
        abort(404)
    action = get_action_to_show(FLASK, token)
    if action is None or action.action not in ("send", "resend"):
        abort(404)
    outcome = action.outcome or {}
    still_sending = action.state == PENDING
    abandoned = still_sending and datetime.now(UTC) - action.created_at > _abandoned_after()
    pending, check_failed = None, False
    if abandoned:
        try:
            pending = get_upstream().client.find_pending_invite(action.target_email)
        except JunctionError:
            check_failed = True
    return render_template(
        "invites/result.html",
        action=action,
        outcome=outcome,
        still_sending=still_sending and not abandoned,
        abandoned=abandoned,
        pending=pending,
        check_failed=check_failed,
        statuses=InviteStatus,
        role_labels=ROLE_LABELS,
        # A resend came from the invitations list: the nav says so, and "Back" keeps its search.
        nav_section="invitations" if action.action == "resend" else "invite",
        back_q=(request.args.get("q") or "").strip()[:320],
    )


def _from_our_own_page() -> bool:
    """Whether the browser says this POST came from one of our pages (Origin, else Referer).

    A forged cross-site POST also fails the CSRF check; its values must not come back pre-filled, or
    the admin would be asked to "check and send again" an attacker's invitation.
    """
    ours = urlsplit(request.host_url)
    sent = request.headers.get("Origin") or request.headers.get("Referer") or ""
    theirs = urlsplit(sent)
    return bool(sent) and sent != "null" and (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def handle_csrf_error(error: CSRFError):
    """An expired or missing CSRF token on the invite form: show it again, with what was typed only when
    the post came from our own page."""
    if request.endpoint in {"invites.send_invite", "invites.refresh_teams"}:
        if _from_our_own_page():
            form = InviteForm(meta={"csrf": False})
            text = "Your entries are kept below; check them and send again."
        else:
            form = InviteForm(formdata=None, meta={"csrf": False})
            text = "Nothing was sent. Fill the form in again if you meant to send an invitation."
        alert = outcomes.alert("Not sent: this form had expired.", text, outcomes.NOT_SENT)
        return _render_form(form, status=400, alert=alert, new_token=True)
    return render_template("errors/error.html", error=error, request_id=current_request_id()), 400
