"""The invite form. Its rules mirror Junction's schema; the one addition is guidance, with an override."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Regexp, ValidationError
from wtforms.widgets import HiddenInput

from invite.core import tokens
from invite.core.invite_rules import EMAIL_FILTERS, EMAIL_VALIDATORS, ROLE_LABELS
from invite.junction import ROLES, Team

ROLE_HELP = {
    "org_admin": "Access to every team in the org.",
    "team_admin": "Access only to the teams picked below.",
    "no_role": "Joins the org without access to any team until someone gives them a role.",
}
assert set(ROLE_LABELS) == set(ROLES)

# Any action token, as the result page's address carries it (today's server-issued ones, invite.core.tokens,
# and the older ones still in the trail).
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HIDDEN_INPUT = Markup('<input id="%s" name="%s" type="hidden" value="%s">')  # % escapes each value


# The choices of the last team list seen, and its ids: the same until the list is reloaded, and building them
# for every post was O(teams) work on every send (an org may have thousands of teams).
_team_choices: tuple[list[Team], list[SelectChoice], frozenset[str]] | None = None


def team_choices(teams: list[Team]) -> tuple[list[SelectChoice], frozenset[str]]:
    global _team_choices
    kept = _team_choices
    if kept is None or kept[0] is not teams:
        kept = _team_choices = (teams, [SelectChoice(t.id, t.name) for t in teams], frozenset(t.id for t in teams))
    return kept[1], kept[2]


class InviteForm(FlaskForm):
    class Meta:
        def render_field(self, field, render_kw):
            # The two hidden tokens go out on every render: the same markup WTForms' HiddenInput writes,
            # without its general attribute builder, which cost 62 us a page (bench/README.md).
            widget = field.widget
            if type(widget) is HiddenInput and not (render_kw or field.render_kw) \
                    and not any(getattr(field.flags, attr) for attr in widget.validation_attrs):
                return _HIDDEN_INPUT % (field.id, field.name, field._value())
            return super().render_field(field, render_kw)

    # The same rule bulk invites apply to each row (invite/core/invite_rules.py).
    email = StringField("Email", filters=EMAIL_FILTERS, validators=list(EMAIL_VALIDATORS))
    # No default: least privilege means the person sending picks the role, never Enter (README: "The form").
    role = SelectField("Role", choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES], default=None,
                       validate_choice=False)
    # Each team once: a crafted POST repeating one id thousands of times must not reach Junction or the trail.
    teams = SelectMultipleField("Teams", choices=[], validate_choice=False,
                                filters=[lambda ids: list(dict.fromkeys(ids)) if ids else ids])
    confirm_no_teams = BooleanField("Invite as a team admin of no team anyway")
    # Issued by the server for the signed-in person (invite.core.tokens); routes.py checks it is.
    submission_token = HiddenField(validators=[Regexp(tokens.TOKEN_PATTERN, message="This form has expired.")])

    def set_teams(self, teams: list[Team], *, available: bool) -> None:
        self.teams.choices, self._team_ids = team_choices(teams)
        self._teams_available = available

    def validate_email(self, field: StringField) -> None:
        # A browser turns bytes it could not encode (a lone surrogate, a bad paste) into U+FFFD; such an
        # address is not the one the person meant, and Junction would happily invite it.
        if any(ch == "\ufffd" or "\ud800" <= ch <= "\udfff" for ch in field.data or ""):
            raise ValidationError("That address contains a character that could not be read (shown as �). "
                                  "Type the address again.")

    def validate_role(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Choose a role: Org admin, Team admin or No role.")
        if field.data not in ROLES:
            raise ValidationError("Choose one of the roles listed.")

    def validate_teams(self, field: SelectMultipleField) -> None:
        known = getattr(self, "_team_ids", None) or {choice.value for choice in field.choices}
        unknown = [v for v in field.data or [] if v not in known]
        if unknown and getattr(self, "_teams_available", True):
            raise ValidationError(
                "Some chosen teams are not in the org's team list any more; refresh the list and choose again."
            )
        if self.role.data == "team_admin" and not field.data and not self.confirm_no_teams.data:
            raise ValidationError(
                "A team admin with no team cannot see anything in Junction. Pick the teams they should "
                "manage, or tick “Invite as a team admin of no team anyway”."
            )
