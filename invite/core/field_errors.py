"""Where each of Junction's 422 errors belongs on the invite form.

A pure function of the errors and of what was submitted, so it is tested on its own.
The rules, from pydantic v2's `loc` paths:
- the leading "body" is skipped; the next segment names the API field, which maps to a form field;
- an integer after `team_role_bindings` indexes the submitted teams, so the message names that team;
- deeper segments (union tags such as "literal['no_role']", nested keys) stay on the same field;
- anything naming no form field (path, query, header, unknown fields, odd shapes) goes to the top
  of the form, prefixed with where Junction said the problem was, so nothing is ever dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from invite.junction.models import ValidationIssue

API_FIELD_TO_FORM_FIELD = {
    "email": "email",
    "role": "role",
    "team_role_bindings": "teams",
}


@dataclass
class FormErrors:
    fields: dict[str, list[str]] = field(default_factory=dict)
    form: list[str] = field(default_factory=list)
    # The submitted teams Junction named by index, so only their checkboxes are marked invalid.
    invalid_team_ids: list[str] = field(default_factory=list)

    def add_field(self, name: str, message: str) -> None:
        messages = self.fields.setdefault(name, [])
        if message not in messages:
            messages.append(message)

    def add_form(self, message: str) -> None:
        if message not in self.form:
            self.form.append(message)

    def __len__(self) -> int:
        return sum(len(m) for m in self.fields.values()) + len(self.form)


def _message(issue: ValidationIssue) -> str:
    text = str(issue.msg).strip() if issue.msg is not None else ""
    return text or "Junction rejected this value."


def _where(loc: Sequence[object]) -> str:
    return ".".join(str(part) for part in loc) if loc else ""


def map_issues_to_fields(
    issues: Iterable[ValidationIssue],
    submitted_team_ids: Sequence[str] = (),
    team_names: Mapping[str, str] | None = None,
) -> FormErrors:
    team_names = team_names or {}
    result = FormErrors()
    for issue in issues:
        loc = issue.loc if isinstance(issue.loc, (list, tuple)) else ()
        message = _message(issue)
        if len(loc) >= 2 and loc[0] == "body" and isinstance(loc[1], str) and loc[1] in API_FIELD_TO_FORM_FIELD:
            form_field = API_FIELD_TO_FORM_FIELD[loc[1]]
            index = loc[2] if len(loc) >= 3 else None
            if form_field == "teams" and isinstance(index, int) and not isinstance(index, bool):
                message = f"{_team_label(index, submitted_team_ids, team_names)}: {message}"
                if 0 <= index < len(submitted_team_ids) and submitted_team_ids[index] not in result.invalid_team_ids:
                    result.invalid_team_ids.append(submitted_team_ids[index])
            result.add_field(form_field, message)
            continue
        where = _where(loc)
        result.add_form(f"{message} (at {where})" if where else message)
    return result


def _team_label(index: int, submitted_team_ids: Sequence[str], team_names: Mapping[str, str]) -> str:
    if 0 <= index < len(submitted_team_ids):
        team_id = submitted_team_ids[index]
        return f"Team “{team_names[team_id]}”" if team_id in team_names else f"Team {team_id}"
    return f"Team #{index + 1}"
