"""/reminders: what the next 7 days will send, pause and resume all reminders, the stale invitations (with a
"Revoke these" behind a confirmation, through the core's revoke); and the switch of one invitation's reminders
that /invitations shows on each row. Nothing is ever revoked without a person confirming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from invite.adapters.unit_of_work import FLASK
from invite.adapters.upstream import get_upstream
from invite.auth import require
from invite.core import reminders as rules
from invite.core import rows as views
from invite.core import vocabulary, when
from invite.core.reminders import DUE, LATER, ReminderPolicy
from invite.junction import JunctionError
from invite.reminder_pages import forms
from invite.services import actions, reminders
from invite.services.invitations import canonical_uuid, find_invite, teams_of
from invite.support.forms import issue_row_token
from invite.web import current_actor

bp = Blueprint("reminders", __name__)

WEEK = timedelta(days=7)


def _policy() -> ReminderPolicy:
    policy: ReminderPolicy = current_app.extensions["settings"].reminders
    return policy


def _back(default: str) -> str:
    """Where a switch returns to: a local path only (never another site)."""
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else default


@bp.get("/reminders")
@require("view")
def overview():
    policy = _policy()
    now = datetime.now(UTC)
    problem = None
    planned: list[reminders.Planned] = []
    try:
        planned = reminders.plan(FLASK, get_upstream().client, policy, now)
    except JunctionError as exc:
        problem = views.failure(exc, "Could not load the invitations")
    week = sorted((p for p in planned if p.decision.state in (DUE, LATER) and p.decision.due_at is not None
                   and p.decision.due_at <= now + WEEK and not p.decision.reason),
                  key=lambda p: (p.decision.due_at, p.invite.email.lower()))
    stale = sorted((p for p in planned if p.decision.stale), key=lambda p: p.invite.invited_at)
    return render_template(
        "reminders/overview.html", nav_section="reminders", policy=policy, policy_words=rules.describe_policy(policy),
        now=now, week=week,
        stale=stale, problem=problem, paused=reminders.paused_by(FLASK), trail=reminders.switch_trail(FLASK),
        pause_token=forms.issue(current_app.secret_key, "pause"),
        resume_token=forms.issue(current_app.secret_key, "resume"), ago=when.ago,
        words=rules.words, due_state=DUE, notice=request.args.get("notice"))


@bp.post("/reminders/pause")
@require("pause_reminders")
def pause():
    return _pause(True)


@bp.post("/reminders/resume")
@require("pause_reminders")
def resume():
    return _pause(False)


def _pause(paused: bool):
    action = "pause" if paused else "resume"
    if not forms.verified(request.form, current_app.secret_key, action):
        return redirect(url_for("reminders.overview", notice="expired"), code=303)
    # A second click (or tab) changes nothing and records nothing: set_paused decides, in the same transaction.
    reminders.set_paused(FLASK, paused, current_actor(), form_token=request.form.get("submission_token"))
    return redirect(url_for("reminders.overview", notice=action + "d"), code=303)


@bp.post("/invitations/<invite_id>/reminders")
@require("switch_reminders")
def switch(invite_id: str):
    """Reminders off (or on again) for one invitation; back to where the form was."""
    invite_id = canonical_uuid(invite_id) or ""
    action = request.form.get("action", "")
    back = _back(url_for("support.invitations"))
    if not invite_id or action not in forms.SWITCH_ACTIONS or not forms.switch_verified(
            request.form, current_app.secret_key, action, invite_id):
        return redirect(url_for("support.invitations", notice="expired"), code=303)
    # The address is the one the token was issued for (switch_verified): the trail records what the page showed.
    email = (request.form.get("email") or "").strip()[:320] or None
    # A second click changes nothing and records nothing: set_switch decides, in the same transaction.
    reminders.set_switch(FLASK, invite_id, action == "reminders_off", current_actor(), email,
                         form_token=request.form.get("submission_token"))
    return redirect(back, code=303)


# ------------------------------------------------------------------------------------------ stale


def _stale_now() -> tuple[list[reminders.Planned], dict[str, Any] | None]:
    try:
        planned = reminders.plan(FLASK, get_upstream().client, _policy())
    except JunctionError as exc:
        return [], views.failure(exc, "Could not load the invitations")
    return sorted((p for p in planned if p.decision.stale), key=lambda p: p.invite.invited_at), None


@bp.get("/reminders/stale/revoke")
@require("revoke")
def revoke_stale_confirm():
    """Name every stale invitation before revoking them: one server-issued token per invitation."""
    stale, problem = _stale_now()
    names = get_upstream().team_names()
    rows = [(views.invite_row(p.invite, names), issue_row_token(current_app.secret_key, "revoke", p.invite.id))
            for p in stale]
    return render_template("reminders/revoke_stale.html", nav_section="reminders", rows=rows, problem=problem,
                           ago=when.ago)


@bp.post("/reminders/stale/revoke")
@require("revoke")
def revoke_stale():
    """Revoke each confirmed invitation through the core's revoke (its write-ahead row and one-time token)."""
    client = get_upstream().client
    names = get_upstream().team_names()
    results = []
    for invite_id, token in zip(request.form.getlist("invite_id"), request.form.getlist("submission_token"),
                                strict=False):
        invite_id = canonical_uuid(invite_id) or ""
        email = (request.form.get(f"email-{invite_id}") or "").strip()[:320]
        if not invite_id or not forms.verified_token(token, current_app.secret_key, "revoke", invite_id):
            results.append((email or invite_id, "The form had expired: not revoked."))
            continue
        try:
            invite = find_invite(client, invite_id, email)
        except JunctionError as exc:
            results.append((email, views.failure(exc, "Not revoked")["title"]))
            continue
        if invite is None:
            results.append((email, "No longer pending: nothing to revoke."))
            continue
        try:
            claim = actions.revoke_invite(FLASK, client, token, current_actor(), invite_id=invite.id,
                                          email=invite.email, role=invite.role, teams=teams_of(invite, names))
        except actions.TokenClash:
            results.append((email, "The form had expired: not revoked."))
            continue
        results.append((invite.email, vocabulary.label(claim.action.outcome_kind, "revoke")))
    return render_template("reminders/revoked.html", nav_section="reminders", results=results)
