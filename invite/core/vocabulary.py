"""One name and one explanation for every way an action on Junction can end.

The audit trail stores the kind; every channel (the result page, a bulk job's row, /activity, both CSVs,
the command line and its JSON) shows `label(kind)` for it and groups it by `group(kind)`, so one event
reads the same wherever it is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

SUCCEEDED = "succeeded"
FAILED = "failed"
HELD_BACK = "held_back"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Outcome:
    kind: str
    # What every page, row, file and command line shows for this kind: a failure's reason, prefixed by
    # label() with what was not done ("Not sent: conflict"); "{done}" is the action's past participle.
    label: str
    group: str  # succeeded, failed, held_back or unknown: the filters and the pills
    meaning: str  # one sentence for a reader who was not there (the docs, `invite --help`, tooltips)


OUTCOMES: dict[str, Outcome] = {o.kind: o for o in (
    Outcome("invite_created", "Invitation sent", SUCCEEDED, "Junction created the invitation and emailed it."),
    Outcome("invite_resent", "Sent again", SUCCEEDED,
            "The address had a pending invitation; Junction emailed it again."),
    Outcome("already_in_org", "Already a member", SUCCEEDED,
            "The address already belongs to a member of the org; nothing was sent."),
    Outcome("confirmed_pending", "Sent (confirmed after no answer)", SUCCEEDED,
            "Junction's answer never came, but its invitations list showed the invitation sent just then."),
    Outcome("revoked", "Revoked", SUCCEEDED, "The invitation was revoked; its link no longer works."),
    Outcome("already_gone", "Already gone", SUCCEEDED,
            "There was no pending invitation left to revoke (revoked or accepted meanwhile)."),
    Outcome("member_changed", "Role and teams changed", SUCCEEDED,
            "Junction changed the member's role and teams (the row keeps them before and after)."),
    Outcome("member_removed", "Removed from the org", SUCCEEDED,
            "Junction removed the member from the org; they lost access to all of its teams."),
    Outcome("member_gone", "no longer a member", FAILED,
            "The member had already left the org (removed elsewhere) when the change was asked; nothing was done."),
    Outcome("changed_meanwhile", "changed meanwhile", FAILED,
            "The member's role or teams had changed since the page was loaded; nothing was applied."),
    Outcome("last_admin", "the org's last Org admin", FAILED,
            "Removing or demoting the org's last Org admin is refused; nothing was done."),
    Outcome("check_failed", "could not check the member first", FAILED,
            "Reading the member from Junction before changing them failed; nothing was done."),
    Outcome("validation_error", "Junction rejected a value", FAILED,
            "Junction refused a value (its 422); nothing was done. The messages say which."),
    Outcome("conflict", "conflict", FAILED, "Junction refused it as a conflict; nothing was done."),
    Outcome("rate_limited", "rate limited", FAILED,
            "Junction asked us to slow down; nothing was done. Try again after the wait it gave."),
    Outcome("unreachable", "Junction unreachable", FAILED,
            "The dashboard could not connect to Junction; nothing was sent."),
    Outcome("key_rejected", "the key was refused", FAILED,
            "Junction refused the dashboard's Management Key; nothing was done. Check JUNCTION_MANAGEMENT_KEY."),
    Outcome("not_found", "org unknown", FAILED,
            "Junction does not know the org; nothing was done. Check JUNCTION_ORG_ID."),
    Outcome("rejected", "Junction answered with an error", FAILED,
            "Junction answered with an error that means it did nothing."),
    Outcome("invalid_id", "invalid id", FAILED, "Junction did not accept the invitation id."),
    Outcome("held_back", "Held back: sent too recently", HELD_BACK,
            "The dashboard's own send limits (INVITE_RESEND_MIN_INTERVAL_SECONDS, INVITE_RESENDS_PER_DAY) held "
            "it back; nothing was sent. It can be sent once the time given has passed."),
    Outcome("unknown", "may have been {done}", UNKNOWN,
            "Junction's answer never came or could not be read, and checking did not settle it: look before "
            "trying again."),
)}

GROUPS = (SUCCEEDED, FAILED, HELD_BACK, UNKNOWN)
GROUP_LABELS = {SUCCEEDED: "Succeeded", FAILED: "Failed", HELD_BACK: "Held back", UNKNOWN: "Unknown"}
# Each group's kinds, in OUTCOMES' order: what a filter by group matches.
KINDS_BY_GROUP = {g: tuple(o.kind for o in OUTCOMES.values() if o.group == g) for g in GROUPS}


# What each action does, as "Not sent" and "may have been sent" say it.
_DONE = {"send": "sent", "resend": "sent", "revoke": "revoked", "update_member": "changed",
         "remove_member": "removed"}


def label(kind: str | None, action: str | None = "send") -> str:
    """The words for `kind` after `action`; a kind this version does not know (a newer writer's row) reads
    as unknown."""
    outcome = OUTCOMES.get(kind or "") or OUTCOMES[UNKNOWN]
    done = _DONE.get(action or "", "done")
    words = outcome.label.replace("{done}", done)
    if outcome.group == FAILED:
        return f"Not {done}: {words}"
    if outcome.group == UNKNOWN:
        return f"Unknown: {words}"
    return words


def group(kind: str | None) -> str:
    outcome = OUTCOMES.get(kind or "")
    return outcome.group if outcome else UNKNOWN
