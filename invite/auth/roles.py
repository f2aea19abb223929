"""Who may do what: the roles, their permissions, and which role an identity's address and groups give.

Plain tables and one function, with nothing of Flask: the pages check them per request
(invite.auth.permissions), and the command line decides an --as person's role with them.
"""

from __future__ import annotations

from collections.abc import Iterable

from invite.auth.settings import AuthSettings, normalise_email

__all__ = ["ALL_PERMISSIONS", "PERMISSIONS", "PERMISSION_LABELS", "role_for"]

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"send", "resend", "revoke", "view", "change_member", "remove_member", "switch_reminders",
                        "pause_reminders", "manage_access"}),
    "support": frozenset({"resend", "view", "switch_reminders"}),
}
ALL_PERMISSIONS = frozenset().union(*PERMISSIONS.values())

# For the 403 page: "Your role cannot <label>."
PERMISSION_LABELS = {
    "send": "send new invitations",
    "resend": "resend invitations",
    "revoke": "revoke invitations",
    "view": "look up invitations and members",
    "change_member": "change a member's role and teams",
    "remove_member": "remove members from the org",
    "switch_reminders": "switch reminders off or on for an invitation",
    "pause_reminders": "pause or resume all reminders",
    "manage_access": "plan and apply the org's access file (who has which role and teams)",
}


def role_for(email: str, groups: Iterable[str], settings: AuthSettings) -> str | None:
    """Admin wins when both roles match; None means signed in but without access.

    Emails are compared in normalise_email()'s form; an address without one matches no allow-list.
    """
    email = normalise_email(email) or ""
    groups = set(groups)
    if email in settings.admin_emails or groups.intersection(settings.admin_groups):
        return "admin"
    if email in settings.support_emails or groups.intersection(settings.support_groups):
        return "support"
    return None
