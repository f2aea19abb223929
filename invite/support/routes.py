"""Support pages: pending invitations (search, cursor pages, resend, revoke) and members.

Every view is its own function (so each can carry its own permission decorator), and every page view
costs exactly one List call to Junction; team names come from the cached team list. Resend and revoke
re-read the invitation from Junction and act on what Junction holds, never on values from the form, and
go through invite.services.actions with the form's one-time token, so a double click acts once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from invite.activity import queries
from invite.adapters.storage import PENDING, Action, get_action
from invite.adapters.unit_of_work import FLASK
from invite.adapters.upstream import get_upstream
from invite.auth import require
from invite.core import rows as views
from invite.core import when
from invite.core.reminders import words as reminder_words
from invite.junction import Invite, JunctionClient, JunctionError, Page
from invite.reminder_pages.forms import switch_token
from invite.services import actions, reminders
from invite.services.invitations import find_invite, last_sent_within, teams_of
from invite.support.forms import RowAction, canonical_uuid, confirmation_for, issue_row_token, read_row_action
from invite.support.paging import AGE_FILTERS, MAX_QUERY_CHARS, ROLE_FILTERS, Pager
from invite.web import current_actor

T = TypeVar("T")

bp = Blueprint("support", __name__)


# ------------------------------------------------------------------------------------------ helpers


def _client() -> JunctionClient:
    return get_upstream().client


def _cooldown_minutes() -> float:
    return current_app.extensions["settings"].resend_cooldown_minutes


def _row_token(action: str, invite_id: str) -> str:
    return issue_row_token(current_app.secret_key, action, invite_id)


def dashboard_senders(invites: tuple[Invite, ...]) -> dict[str, tuple[str | None, str | None]]:
    """Invite id -> (who in the company sent it, who last resent it), from our own trail (Junction only
    knows "management key")."""
    return {invite_id: (created.actor_email if created else None, resent.actor_email if resent else None)
            for invite_id, (created, resent) in queries.senders(invites).items()}


class RowLinks:
    """The row actions' addresses, built from one url_for each (url_for per row is most of a page's render)."""

    def __init__(self, q: str):
        placeholder = "00000000-0000-0000-0000-000000000000"
        self._resend = url_for("support.resend", invite_id=placeholder).split(placeholder)
        self._revoke = url_for("support.revoke_confirm", invite_id=placeholder).split(placeholder)
        self._q = q

    def resend(self, row: views.InviteRow) -> str:
        return quote(row.id, safe="-").join(self._resend)

    def revoke(self, row: views.InviteRow) -> str:
        query = urlencode({"email": row.email, **({"q": self._q} if self._q else {})})
        return f"{quote(row.id, safe='-').join(self._revoke)}?{query}"


def _list_url(q: str = "", **extra: str) -> str:
    return url_for("support.invitations", **({"q": q} if q else {}), **extra)


def _not_an_invite():
    return render_template("support/not_found.html"), 404


def _after_existing(action: Action, q: str):
    """A token that already did something: show what it did instead of doing it again."""
    if action.action == "revoke":
        return redirect(_list_url(q, done=action.token), code=303)
    return redirect(url_for("invites.result", token=action.token, q=q or None), code=303)


def _done_message(token: str | None) -> dict | None:
    """The message for ?done=<token>, read from the Action the revoke recorded."""
    if not token:
        return None
    action = get_action(FLASK, token)
    if action is None or action.action != "revoke":
        return None
    if action.state == PENDING:
        return views.message("info", f"Revoking the invitation for {action.target_email}…",
                             "Junction has not answered yet. Reload this page in a moment.")
    outcome = action.outcome or {}
    if outcome.get("kind") != "revoke":
        return None
    return views.message(outcome.get("level", "info"), outcome.get("title", ""), outcome.get("text", ""))


def find_member(email: str) -> tuple[views.MemberRow | None, str]:
    """The member with this address (their real role and teams) and where their row is:
    /members?q=<email>#member-<id>, found with one List Members call.

    Without an exact match (or when Junction cannot be asked) no member and the search alone, which
    shows the row too.
    """
    base = url_for("support.members", q=email)
    try:
        page = _client().list_members(search_query=email)
    except JunctionError:
        return None, base
    wanted = email.strip().casefold()
    for member in page.items:
        if member.email.strip().casefold() == wanted:
            row = views.member_row(member, get_upstream().team_names(), email)
            return row, url_for("support.members", q=email, _anchor=f"member-{member.id}")
    return None, base


@bp.app_context_processor
def support_links():
    # A callable, so the one List Members call happens only where a template asks for the member.
    return {"find_member": find_member}


@bp.errorhandler(CSRFError)
def expired_form(error: CSRFError):
    """An expired resend/revoke form: back to the list, which says nothing was done."""
    q = (request.form.get("q") or "").strip()[:MAX_QUERY_CHARS]
    return redirect(_list_url(q, notice="expired"), code=303)


# ------------------------------------------------------------------------------------------ pages


def _one_page(
    list_page: Callable[..., Page[T]], pager: Pager, what: str
) -> tuple[Page[T] | None, dict[str, Any] | None]:
    """The pager's page of one of Junction's lists, or else the problem to show in its place."""
    try:
        return list_page(search_query=pager.search_query, cursor=pager.cursor), None
    except JunctionError as exc:
        return None, views.failure(exc, f"Could not load the {what}", paged=pager.cursor is not None)


# Junction cannot filter List Invites by role or age (nor List Members by role): with a filter on, one view walks
# its pages from the pager's cursor until it has a page's worth of matches or reaches the end. It always looks
# at FILTERED_PAGES pages (if there are so many), then goes on while FILTER_BUDGET_SECONDS last, up to
# FILTER_MAX_PAGES: at Junction's 50 ms a page, about a second (issue 25: five pages at most, "0 of the 500
# looked at match", and ten clicks on Next). Where it stopped, the page says so and goes on from there.
FILTERED_PAGES = 5
FILTER_BUDGET_SECONDS = 0.8
FILTER_MAX_PAGES = 30


@dataclass(frozen=True)
class Walk:
    """How far a filtered view looked: how many items, and why it stopped ("full": a page's worth of matches;
    "end": the end of the list; "budget": its time or pages ran out; "failed": Junction failed midway)."""

    looked_at: int
    stopped: str


def _matches(invite: Invite, pager: Pager) -> bool:
    return ((not pager.role or invite.role == pager.role)
            and (not pager.older_than_days
                 or when.older_than(invite.resent_at or invite.invited_at, pager.older_than_days)))


def _filtered_page(client: JunctionClient, pager: Pager, *, lister: Any = None, matches: Any = _matches,
                   what: str = "invitations") -> tuple[Page[Any] | None, Walk, dict[str, Any] | None]:
    """The items matching the pager's filters among Junction's pages from the pager's cursor, as one page whose
    next_cursor goes on after the last page looked at, and how far it looked; or the problem to show."""
    found: list[Any] = []
    looked_at = pages = 0
    cursor = pager.cursor
    list_page = lister or client.list_invites
    started = time.monotonic()
    stopped = "budget"
    while pages < FILTER_MAX_PAGES and (pages < FILTERED_PAGES
                                        or time.monotonic() - started < FILTER_BUDGET_SECONDS):
        try:
            page = list_page(search_query=pager.search_query, cursor=cursor)
        except JunctionError as exc:
            if not pages:
                return None, Walk(0, "failed"), views.failure(exc, f"Could not load the {what}",
                                                                paged=pager.cursor is not None)
            stopped = "failed"  # what was found so far is shown; Next asks for the page that failed again
            break
        pages += 1
        looked_at += len(page.items)
        found.extend(item for item in page.items if matches(item, pager))
        cursor = page.next_cursor
        if cursor is None:
            stopped = "end"
            break
        if len(found) >= len(page.items):
            stopped = "full"
            break
    return Page(items=tuple(found), next_cursor=cursor), Walk(looked_at, stopped), None


@bp.get("/invitations")
@require("view")
def invitations():
    pager = Pager.from_args(request.args)
    messages = [m for m in (views.NOTICES.get(request.args.get("notice", "")),
                            _done_message(request.args.get("done"))) if m]
    upstream = get_upstream()
    names = upstream.team_names()
    walk = None
    if pager.filtered:
        page, walk, problem = _filtered_page(upstream.client, pager)
    else:
        page, problem = _one_page(upstream.client.list_invites, pager, "invitations")
    rows: list[views.InviteRow] = []
    if page is not None:
        senders = dashboard_senders(page.items)
        rows = [views.invite_row(invite, names, senders.get(invite.id, (None, None))) for invite in page.items]
    return render_template(
        "support/invitations.html",
        pager=pager,
        rows=rows,
        walk=walk,
        revoked=any(m is not None and m.get("level") == "success" for m in messages),
        role_filters=[(value, views.role_label(value)) for value in ROLE_FILTERS],
        age_filters=AGE_FILTERS,
        next_cursor=page.next_cursor if page is not None else None,
        problem=problem,
        messages=messages,
        # One token per row: each resend button is its own one-time form.
        tokens={row.id: _row_token("resend", row.id) for row in rows},
        links=RowLinks(pager.q),
        cooldown_minutes=_cooldown_minutes(),
        ago=when.ago,
        reminders=_reminder_cells(page.items if page is not None else ()),
    )


def _reminder_cells(invites: tuple[Invite, ...]) -> dict[str, dict[str, Any]]:
    """Per row: what the reminders will do (invite/core/reminders.py), and the switch's address and server-issued
    token (built here, once per page: no url_for per row). Nothing while reminders are off: no column, no cost."""
    policy = current_app.extensions["settings"].reminders
    if not invites or not policy.on:
        return {}
    now = datetime.now(UTC)
    decided = reminders.decisions(FLASK, invites, policy, now)
    placeholder = "00000000-0000-0000-0000-000000000000"
    switch_url = url_for("reminders.switch", invite_id=placeholder).split(placeholder)
    back = request.full_path if request.query_string else request.path
    cells = {}
    emails = {invite.id: invite.email for invite in invites}
    for invite_id, decision in decided.items():
        off = decision.reason is not None and decision.reason.startswith("switched off")
        action = "reminders_on" if off else "reminders_off"
        spent = decision.stale or decision.reminders_sent >= decision.max_reminders
        cells[invite_id] = {"words": reminder_words(decision, now), "state": decision.state, "off": off,
                            "switchable": off or not spent, "url": quote(invite_id, safe="-").join(switch_url),
                            "next": f"{back}#invite-{invite_id}", "action": action,
                            "token": switch_token(current_app.secret_key, action, invite_id, emails[invite_id])}
    return cells


@bp.get("/members")
@require("view")
def members():
    pager = Pager.from_args(request.args)
    upstream = get_upstream()
    names = upstream.team_names()
    walk = None
    if pager.role:  # Junction cannot filter members by role either: looked for as invitations are
        page, walk, problem = _filtered_page(upstream.client, pager, lister=upstream.client.list_members,
                                             matches=lambda member, p: member.role == p.role, what="members")
    else:
        page, problem = _one_page(upstream.client.list_members, pager, "members")
    rows = [views.member_row(member, names, pager.q) for member in page.items] if page is not None else []
    return render_template("support/members.html", pager=pager, rows=rows, walk=walk,
                           next_cursor=page.next_cursor if page is not None else None, problem=problem,
                           role_filters=[(value, views.role_label(value)) for value in ROLE_FILTERS])


# ------------------------------------------------------------------------------------------ resend


def _start_row_post(raw_id: str, action: str):
    """What every row action (resend, revoke) checks first: a real invite id, an unexpired form whose
    token this server issued for this action and invitation, and a token not used before. Returns
    (invite_id, form, None) to go on, or a response to give now."""
    invite_id = canonical_uuid(raw_id)
    if invite_id is None:
        return None, None, _not_an_invite()
    form = read_row_action(request.form, secret=current_app.secret_key, action=action, invite_id=invite_id)
    if form is None:
        q = request.form.get("q", "")[:MAX_QUERY_CHARS].strip()
        return invite_id, None, redirect(_list_url(q, notice="expired"), code=303)
    if (existing := get_action(FLASK, form.token)) is not None:
        return invite_id, form, _after_existing(existing, form.q)
    return invite_id, form, None


def _render_resend(invite_id: str, form: RowAction, *, invite: Invite | None = None, problem=None):
    return render_template(
        "support/resend.html",
        invite_id=invite_id,
        form=form,
        confirmation=confirmation_for(current_app.secret_key, form.token),
        row=views.invite_row(invite, get_upstream().team_names()) if invite else None,
        ago=when.ago(invite.resent_at or invite.invited_at) if invite else None,
        cooldown_minutes=_cooldown_minutes(),
        problem=problem,
    )


@bp.post("/invitations/<invite_id>/resend")
@require("resend")
def resend(invite_id: str):
    """Re-post the invitation's own email, role and teams as Junction holds them, once per token."""
    invite_id, form, answer = _start_row_post(invite_id, "resend")
    if answer is not None:
        return answer
    try:
        invite = find_invite(_client(), invite_id, form.email)
    except JunctionError as exc:
        return _render_resend(invite_id, form, problem=views.failure(
            exc, "Nothing was sent: the invitation could not be looked up"))
    if invite is None or (not form.confirmed and last_sent_within(invite, _cooldown_minutes())):
        # A second click that raced the first finds the first one's action by now: show its result.
        if (existing := get_action(FLASK, form.token)) is not None:
            return _after_existing(existing, form.q)
        if invite is None:
            return redirect(_list_url(form.q, notice="gone"), code=303)
        return _render_resend(invite_id, form, invite=invite)
    upstream = get_upstream()
    try:
        claim = actions.resend_invite(FLASK, _client(), form.token, current_actor(), invite, upstream.team_names(),
                                      limits=upstream.limits)
    except actions.TokenClash:
        return redirect(_list_url(form.q, notice="expired"), code=303)
    if claim.action.outcome_kind == "held_back":
        alert = (claim.action.outcome or {}).get("alert") or {}
        problem = views.message("warning", alert.get("title", ""), alert.get("text", ""))
        return _render_resend(invite_id, form, problem=problem), 429
    return _after_existing(claim.action, form.q)


# ------------------------------------------------------------------------------------------ revoke


def _render_revoke(invite_id: str, *, email: str, q: str, token: str, invite: Invite | None = None,
                   problem=None, retry_post: bool = False):
    return render_template(
        "support/revoke.html",
        invite_id=invite_id,
        email=email,
        q=q,
        token=token,
        row=views.invite_row(invite, get_upstream().team_names()) if invite else None,
        problem=problem,
        retry_post=retry_post,
    )


@bp.get("/invitations/<invite_id>/revoke")
@require("revoke")
def revoke_confirm(invite_id: str):
    """Name the email, role and teams of the invitation (as Junction holds it now) before revoking it."""
    invite_id = canonical_uuid(invite_id)
    if invite_id is None:
        return _not_an_invite()
    email = (request.args.get("email") or "").strip()[:MAX_QUERY_CHARS]
    q = (request.args.get("q") or "").strip()[:MAX_QUERY_CHARS]
    token = _row_token("revoke", invite_id)
    try:
        invite = find_invite(_client(), invite_id, email)
    except JunctionError as exc:
        return _render_revoke(invite_id, email=email, q=q, token=token, problem=views.failure(
            exc, "Could not look the invitation up"))
    if invite is None:
        return redirect(_list_url(q or email, notice="gone"), code=303)
    return _render_revoke(invite_id, email=invite.email, q=q, token=token, invite=invite)


@bp.post("/invitations/<invite_id>/revoke")
@require("revoke")
def revoke(invite_id: str):
    """DELETE the invitation, once per token, then the list with what happened."""
    invite_id, form, answer = _start_row_post(invite_id, "revoke")
    if answer is not None:
        return answer
    try:
        invite = find_invite(_client(), invite_id, form.email)
    except JunctionError as exc:
        return _render_revoke(invite_id, email=form.email, q=form.q, token=form.token, retry_post=True,
                              problem=views.failure(exc, "Nothing was revoked: the invitation could not be looked up"))
    if invite is None:
        if (existing := get_action(FLASK, form.token)) is not None:
            return _after_existing(existing, form.q)
        return redirect(_list_url(form.q, notice="gone"), code=303)

    try:
        claim = actions.revoke_invite(FLASK, _client(), form.token, current_actor(), invite_id=invite.id,
                                      email=invite.email, role=invite.role,
                                      teams=teams_of(invite, get_upstream().team_names()))
    except actions.TokenClash:
        return redirect(_list_url(form.q, notice="expired"), code=303)
    return _after_existing(claim.action, form.q)
