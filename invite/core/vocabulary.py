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
# A person's decision the dashboard recorded without calling Junction (reminders switched off, paused …):
# never a send, never a Junction call, in no count of either.
RECORDED = "recorded"


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
    Outcome(RECORDED, "Recorded", RECORDED,
            "A decision about reminders (switched off or on for one invitation, all paused or resumed), recorded "
            "by the dashboard; Junction was not called and nothing was sent."),
)}

GROUPS = (SUCCEEDED, FAILED, HELD_BACK, UNKNOWN, RECORDED)
GROUP_LABELS = {SUCCEEDED: "Succeeded", FAILED: "Failed", HELD_BACK: "Held back", UNKNOWN: "Unknown",
                RECORDED: "Recorded (no call to Junction)"}
# Each group's kinds, in OUTCOMES' order: what a filter by group matches.
KINDS_BY_GROUP = {g: tuple(o.kind for o in OUTCOMES.values() if o.group == g) for g in GROUPS}


# The actions that only record a person's decision about reminders (issue 26): rows of the trail, written in
# the same transaction as the decision, that call nobody; their outcome is always RECORDED.
REMINDER_SWITCHES = ("reminders_off", "reminders_on", "reminders_pause", "reminders_resume")
# What each action of the trail is called, on /activity, in the exports' action_words and on the command line.
ACTION_WORDS = {
    "send": "Invited", "resend": "Resent", "revoke": "Revoked", "update_member": "Changed role and teams",
    "remove_member": "Removed from the org",
    "reminders_off": "Switched reminders off", "reminders_on": "Switched reminders on",
    "reminders_pause": "Paused all reminders", "reminders_resume": "Resumed all reminders",
}
# Where an action came from (the trail's channel column), as the filters offer it.
CHANNEL_WORDS = {"web": "The pages", "cli": "The command line", "reminder": "Reminders", "access": "Access as code"}
# Names a filter may use for several actions at once (/activity's Action filter, `invite activity --action`).
ACTION_GROUPS = {"reminder_switches": REMINDER_SWITCHES}
ACTION_GROUP_WORDS = {"reminder_switches": "Reminders switched or paused (all four)"}


def action_words(action: str | None) -> str:
    """The words for an action of the trail; an action this version does not know reads as its stored name."""
    return ACTION_WORDS.get(action or "", action or "")


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


def reason(text: str | None, action: str | None = "send") -> str | None:
    """A failure's own explanation, to show beside label(): without the "Not sent: " it may open with, which the
    label already says ("Not sent: conflict" then "Junction refused this invitation as a conflict.", not "Not
    sent: conflict" then "Not sent: Junction refused …")."""
    if not text:
        return text
    prefix = f"Not {_DONE.get(action or '', 'done')}: "
    if not text.startswith(prefix):
        return text
    rest = text[len(prefix):].lstrip()
    # "the dashboard could not …" opens a sentence now; an address ("ada@example.org was sent …") stays as typed.
    return rest[:1].upper() + rest[1:] if rest.split(" ", 1)[0].rstrip(".,;:").isalpha() else rest
