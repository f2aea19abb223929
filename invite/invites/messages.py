"""Junction's validation messages in plain words, each with what to do about it.

Junction validates with pydantic v2, whose message text is fixed per error `type` (pydantic-core's
templates: `value_error` on an EmailStr is "value is not a valid email address: …", a validator's
ValueError is "Value error, …", `missing` is "Field required", and so on). The form keeps only that text
(invite/core/field_errors.py, prefixed with the team for a team's error), so the text is what is
recognised here. A pure function: anything it does not recognise comes back unchanged and untranslated,
so a new or odd message is still shown, never lost. Junction's own words stay available (`raw`) for
support.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROLE_WORDS = {"org_admin": "Org admin", "team_admin": "Team admin", "no_role": "No role"}

# field_errors.py prefixes a team's error with the team: “Team “Cardiology”: …”, “Team <id>: …”, “Team #3: …”.
_TEAM_PREFIX = re.compile(r"^Team (?:“(?P<name>[^”]*)”|(?P<id>[0-9A-Fa-f-]{8,})|#(?P<number>\d+)): (?P<rest>.*)$",
                          re.DOTALL)
# field_errors.py suffixes a form-level error with where Junction put it.
_WHERE = re.compile(r"^(?P<rest>.*) \(at (?P<where>[^()]*)\)$", re.DOTALL)


@dataclass(frozen=True)
class PlainMessage:
    text: str
    fix: str = ""
    # Junction's own words when `text` is a translation of them; empty when nothing was translated.
    raw: str = ""


def _roles(literal_message: str) -> str:
    names = [ROLE_WORDS.get(value, value) for value in re.findall(r"'([^']*)'", literal_message)]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def _translate(field: str, message: str, team: str | None) -> tuple[str, str] | None:
    """(plain text, fix) for a message of a known type, else None."""
    subject = f"The team {team}" if team else "This team"
    untick = f"Untick {team}, or refresh the team list." if team else "Untick it, or refresh the team list."
    lowered = message.lower()
    if lowered.startswith("value is not a valid email address"):  # value_error from EmailStr
        return ("This is not an email address Junction can send to.",
                "Check it for typos (a missing dot, a space, a comma), then send again.")
    if "does not belong to this org" in lowered or ("not found" in lowered and team is not None):
        return (f"{subject} is no longer one of the org's teams in Junction.", untick)
    if lowered.startswith("value error, team is archived") or lowered == "team is archived":
        return (f"{subject} is archived in Junction, so nobody can be invited to it.", untick)
    if lowered == "field required":  # missing
        return ("Junction needs this and it was empty.", "Fill it in, then send again.")
    if lowered.startswith("input should be '"):  # literal_error
        if field == "role":
            allowed = _roles(message)
            return (f"Junction only accepts {allowed} here." if allowed else "Junction does not accept this role.",
                    "Choose another role, or untick the teams if the person needs none.")
        return ("Junction does not accept this value.", "Choose one of the options offered.")
    if lowered.startswith("input should be a valid uuid"):  # uuid_parsing
        return (f"{subject} has an id Junction cannot read." if field == "teams" else
                "Junction could not read an id the dashboard sent.",
                untick if field == "teams" else "Reload the page and try again.")
    if lowered.startswith(("input should be a valid list", "input should be a valid string",
                           "input should be a valid dictionary")):  # list_type, string_type, dict_type
        return ("Junction expected a different kind of value here.",
                "Reload the form and send again; if it keeps happening, tell whoever runs the dashboard.")
    if lowered.startswith("string should have at most"):  # string_too_long
        limit = re.search(r"\d+", message)
        return (f"This is longer than Junction accepts{f' ({limit.group()} characters at most)' if limit else ''}.",
                "Shorten it, then send again.")
    if lowered == "extra inputs are not permitted":  # extra_forbidden
        return ("The dashboard sent something Junction does not know.",
                "Nothing was sent. Tell whoever runs the dashboard; the details below help them.")
    if lowered.startswith("value error, "):  # any other validator's ValueError: its own words are plain
        words = message[len("value error, "):].strip().rstrip(".")
        return (f"{words}." if words else "Junction rejected this value.", untick if field == "teams" else "")
    return None


def plain_message(field: str, message: str) -> PlainMessage:
    """`field` is the form field the message is under ("email", "role", "teams"), or "" for the top."""
    if not message.strip():
        return PlainMessage("Junction rejected this value.")
    team = None
    rest = message
    if field == "teams" and (match := _TEAM_PREFIX.match(message)):
        team = match["name"] or match["id"] or f"number {match['number']}"
        rest = match["rest"]
    elif not field and (match := _WHERE.match(message)):
        rest = match["rest"]
    translated = _translate(field, rest.strip(), team)
    if translated is None:
        return PlainMessage(message)
    text, fix = translated
    return PlainMessage(text, fix, raw=message)


def flagged_team_name(message: str) -> str | None:
    """The team a teams error names (“Team “Cardiology”: …” -> "Cardiology"), if it names one by name."""
    match = _TEAM_PREFIX.match(message)
    return match["name"] if match else None
