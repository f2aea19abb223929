"""The member pages (issue 24): a member's page, changing their role and teams, removing them.

Support people see a member's page; only admins see and use the actions. Every change re-reads the member
from Junction for the page, carries what the page showed, and goes through invite.services.actions with a one-time
token, so a reload or a double click changes once and a member changed meanwhile is left alone.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from invite.activity import history
from invite.adapters.storage import PENDING, get_action, get_action_to_show
from invite.adapters.unit_of_work import FLASK
from invite.adapters.upstream import get_upstream
from invite.auth import require
from invite.auth.permissions import can, current_identity
from invite.core import member_outcomes as words
from invite.core import rows as views
from invite.core import vocabulary
from invite.core.invite_rules import ROLE_LABELS
from invite.invites.forms import ROLE_HELP
from invite.junction import ROLES, JunctionError, Member, Team
from invite.members import forms
from invite.services import actions
from invite.services.invitations import canonical_uuid
from invite.web import current_actor

bp = Blueprint("members", __name__)

_ACTIONS = ("update_member", "remove_member")


def _teams() -> list[Team]:
    try:
        return list(get_upstream().teams.get().value)
    except JunctionError:
        return []


class _MemberMissing(Exception):
    """No member to show: not in the org (problem None), or Junction could not be asked (problem says why)."""

    def __init__(self, member_id: str, problem: dict[str, Any] | None):
        super().__init__(member_id)
        self.member_id, self.problem = member_id, problem


def _load(raw_id: str) -> tuple[str, Member]:
    """(member id, the member as Junction lists them now); every view's page for a missing member otherwise."""
    member_id = canonical_uuid(raw_id)
    if member_id is None:
        abort(404)
    try:
        member = get_upstream().client.get_member(member_id)
    except JunctionError as exc:
        raise _MemberMissing(member_id, views.message(
            "error", "The member could not be loaded from Junction.",
            f"{exc.message} Nothing was changed. Try again in a minute.", exc)) from None
    if member is None:
        raise _MemberMissing(member_id, None)
    return member_id, member


def _is_self(member: Member) -> bool:
    return member.email.strip().casefold() == current_identity().email.strip().casefold()


def _seen(role: str, team_ids: list[str], names: dict[str, str]) -> dict[str, Any]:
    return words.snapshot(role, [{"id": t, "name": names.get(t, t)} for t in team_ids])


def history_detail(row: Any) -> str:
    """What one trail row did to the person, in words: "No role → Team admin of Cardiology"."""
    outcome = row.outcome or {}
    if row.action == "update_member":
        return f"{words.describe(outcome.get('before'))} → {words.describe(words.snapshot(row.role, row.teams))}"
    if row.action == "remove_member":
        return f"was {words.describe(outcome.get('before'))}"
    if row.action in ("send", "resend"):
        return f"as {words.describe(words.snapshot(row.role, row.teams))}"
    return ""


@bp.errorhandler(_MemberMissing)
def _missing(error: _MemberMissing):
    return _render_missing(error.member_id, error.problem)


def _render_missing(member_id: str, problem: dict[str, Any] | None):
    status = 502 if problem else 404
    if problem is None:
        problem = views.message("warning", "No such member in the org.",
                                "They may have been removed, or the link is wrong. Look them up in Members.")
    return render_template("members/missing.html", problem=problem, member_id=member_id,
                           nav_section="members"), status


@bp.get("/members/<member_id>")
@require("view")
def member_page(member_id: str):
    member_id, member = _load(member_id)
    names = get_upstream().team_names()
    rows = history.history(member.email)
    return render_template(
        "members/member.html", member=member, row=views.member_row(member, names, ""),
        invited_by=history.invited_by(member.email), rows=rows, label=vocabulary.label, group=vocabulary.group,
        detail=history_detail,
        can_change=can("change_member"), can_remove=can("remove_member"), is_self=_is_self(member),
        nav_section="members")


def _change_form(member: Member, *, role: str, team_ids: list[str], errors: dict[str, list[str]] | None = None,
                 alert: dict[str, Any] | None = None, seen: tuple[str, list[str]] | None = None, status: int = 200):
    teams = _teams()
    seen_role, seen_teams = seen or (member.role, list(member.team_ids))
    return render_template(
        "members/change.html", member=member, teams=teams, role=role, selected=set(team_ids),
        errors=errors or {}, alert=alert, role_labels=ROLE_LABELS, role_help=ROLE_HELP, roles=ROLES,
        seen_role=seen_role, seen_teams=seen_teams, nav_section="members"), status


@bp.get("/members/<member_id>/change")
@require("change_member")
def change_form(member_id: str):
    member_id, member = _load(member_id)
    # The "already a member" result offers this pre-filled with what the invitation asked for.
    role = request.args.get("role") if request.args.get("role") in ROLES else member.role
    team_ids = request.args.getlist("teams") if request.args.get("role") in ROLES else list(member.team_ids)
    return _change_form(member, role=role, team_ids=team_ids)


@bp.post("/members/<member_id>/change")
@require("change_member")
def change_review(member_id: str):
    """The change as posted, checked; then a confirmation showing it as before → after."""
    member_id, member = _load(member_id)
    names = {t.id: t.name for t in _teams()}
    change = forms.read_change(request.form, set(names))
    seen = (change.seen_role or member.role, change.seen_team_ids if change.seen_role else list(member.team_ids))
    if change.errors:
        return _change_form(member, role=change.role, team_ids=change.team_ids, errors=change.errors, seen=seen,
                            status=422)
    before, after = _seen(*seen, names), _seen(change.role, change.team_ids, names)
    if words.same(before, after):
        nothing = views.message("info", "Nothing to change.", f"{member.name} is already {words.describe(before)}.")
        return _change_form(member, role=change.role, team_ids=change.team_ids, seen=seen, status=422, alert=nothing)
    token = forms.issue_member_token(current_app.secret_key, "update_member", member_id, current_identity().email)
    return render_template("members/confirm_change.html", member=member, before=before, after=after, change=change,
                           seen_role=seen[0], seen_teams=seen[1], token=token, is_self=_is_self(member),
                           describe=words.describe, nav_section="members")


@bp.post("/members/<member_id>/change/confirm")
@require("change_member")
def change_confirm(member_id: str):
    member_id = canonical_uuid(member_id) or abort(404)
    names = {t.id: t.name for t in _teams()}
    change = forms.read_change(request.form, None)
    if not forms.token_is_valid(current_app.secret_key, change.token, "update_member", member_id,
                                current_identity().email):
        return redirect(url_for("members.member_page", member_id=member_id, notice="expired"), code=303)
    if (existing := get_action(FLASK, change.token)) is not None:
        return redirect(url_for("members.done", member_id=member_id, token=existing.token), code=303)
    _, member = _load(member_id)
    if change.errors:
        return _change_form(member, role=change.role, team_ids=change.team_ids, errors=change.errors, status=422)
    before, after = _seen(change.seen_role, change.seen_team_ids, names), _seen(change.role, change.team_ids, names)
    if _is_self(member) and not change.confirm_self:
        return render_template("members/confirm_change.html", member=member, before=before, after=after,
                               change=change, seen_role=change.seen_role, seen_teams=change.seen_team_ids,
                               token=change.token, is_self=True, describe=words.describe, self_missing=True,
                               nav_section="members"), 422
    try:
        claim = actions.update_member(FLASK, get_upstream().client, change.token, current_actor(), member_id=member_id,
                                      email=member.email, name=member.name, before=before, role=change.role,
                                      teams=after["teams"])
    except actions.TokenClash:
        return redirect(url_for("members.member_page", member_id=member_id, notice="expired"), code=303)
    outcome = claim.action.outcome or {}
    if claim.is_new and claim.action.outcome_kind == "validation_error" and outcome.get("field_errors"):
        # Junction's 422 under the fields it names, on the form as it was posted (the change was not made).
        alert = views.message("error", outcome.get("title", ""), outcome.get("text", ""))
        return _change_form(member, role=change.role, team_ids=change.team_ids, errors=outcome["field_errors"],
                            seen=(change.seen_role, change.seen_team_ids), alert=alert, status=422)
    return redirect(url_for("members.done", member_id=member_id, token=claim.action.token), code=303)


@bp.get("/members/<member_id>/remove")
@require("remove_member")
def remove_confirm(member_id: str):
    member_id, member = _load(member_id)
    names = get_upstream().team_names()
    token = forms.issue_member_token(current_app.secret_key, "remove_member", member_id, current_identity().email)
    return render_template("members/remove.html", member=member, row=views.member_row(member, names, ""),
                           token=token, is_self=_is_self(member), nav_section="members")


@bp.post("/members/<member_id>/remove")
@require("remove_member")
def remove(member_id: str):
    member_id = canonical_uuid(member_id) or abort(404)
    token = (request.form.get("submission_token") or "").strip()
    if not forms.token_is_valid(current_app.secret_key, token, "remove_member", member_id, current_identity().email):
        return redirect(url_for("members.member_page", member_id=member_id, notice="expired"), code=303)
    if (existing := get_action(FLASK, token)) is not None:
        return redirect(url_for("members.done", member_id=member_id, token=existing.token), code=303)
    _, member = _load(member_id)
    names = get_upstream().team_names()
    seen_role = (request.form.get("seen_role") or member.role).strip()
    seen_teams = [t for t in request.form.getlist("seen_teams") if t] if request.form.get("seen_role") \
        else list(member.team_ids)
    if _is_self(member) and request.form.get("confirm_self") != "y":
        return render_template("members/remove.html", member=member, row=views.member_row(member, names, ""),
                               token=token, is_self=True, self_missing=True, nav_section="members"), 422
    try:
        claim = actions.remove_member(FLASK, get_upstream().client, token, current_actor(), member_id=member_id,
                                      email=member.email, name=member.name,
                                      before=_seen(seen_role, seen_teams, names))
    except actions.TokenClash:
        return redirect(url_for("members.member_page", member_id=member_id, notice="expired"), code=303)
    return redirect(url_for("members.done", member_id=member_id, token=claim.action.token), code=303)


@bp.get("/members/<member_id>/done/<token>")
@require("view")
def done(member_id: str, token: str):
    action = get_action_to_show(FLASK, token)
    outcome = (action.outcome or {}) if action is not None else {}
    if action is None or action.action not in _ACTIONS or outcome.get("member_id") != canonical_uuid(member_id):
        abort(404)
    return render_template("members/done.html", action=action, outcome=outcome, member_id=outcome["member_id"],
                           still_working=action.state == PENDING, label=vocabulary.label, describe=words.describe,
                           nav_section="members")
