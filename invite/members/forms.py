"""The member pages' POST forms: a change of role and teams, a removal, each with a one-time token.

CSRF is checked globally (CSRFProtect); templates put {{ csrf_token() }} in each form. The one-time token is
issued by the server (invite.core.tokens, the "row" channel the support desk's row actions use), bound to the
action, the member and the person it was issued to, so a token made up or issued for someone or something
else reads as an expired form. The form also carries the role and teams the page showed ("seen_*"): the core
compares them with what Junction lists now and applies nothing when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from invite.core import tokens
from invite.junction import ROLES

MAX_TEAMS = 500
TEAM_ADMIN_NEEDS_A_TEAM = ("A Team admin needs at least one team: pick the teams they should manage, or "
                           "choose another role.")


def issue_member_token(secret: str, action: str, member_id: str, actor_email: str) -> str:
    return tokens.issue(secret, "row", action, member_id, actor_email.strip().lower())


def token_is_valid(secret: str, token: str, action: str, member_id: str, actor_email: str) -> bool:
    return tokens.verify(secret, "row", token, action, member_id, actor_email.strip().lower())


def _ids(form: MultiDict[str, str], name: str) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in form.getlist(name)[:MAX_TEAMS] if v.strip()))


@dataclass
class MemberChange:
    role: str
    team_ids: list[str]
    seen_role: str
    seen_team_ids: list[str]
    token: str
    confirm_self: bool
    errors: dict[str, list[str]] = field(default_factory=dict)


def read_change(form: MultiDict[str, str], known_team_ids: set[str] | None) -> MemberChange:
    """The posted change with its field errors (role, teams); teams are kept only for a Team admin."""
    role = (form.get("role") or "").strip()
    change = MemberChange(role=role, team_ids=_ids(form, "teams"), seen_role=(form.get("seen_role") or "").strip(),
                          seen_team_ids=_ids(form, "seen_teams"),
                          token=(form.get("submission_token") or "").strip(),
                          confirm_self=form.get("confirm_self") == "y")
    if role not in ROLES:
        change.errors["role"] = ["Choose a role: Org admin, Team admin or No role."]
    if role != "team_admin":
        change.team_ids = []
    elif not change.team_ids:
        change.errors["teams"] = [TEAM_ADMIN_NEEDS_A_TEAM]
    elif known_team_ids and any(t not in known_team_ids for t in change.team_ids):
        change.errors["teams"] = ["Some chosen teams are not in the org's team list any more; choose again."]
    return change
