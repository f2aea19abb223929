"""The invite form. Its rules mirror Junction's schema; the one addition is guidance, with an override."""

from __future__ import annotations

import re
import secrets

from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Regexp, ValidationError
from wtforms.widgets import HiddenInput

from invite.junction import ROLES, Team

ROLE_LABELS = {
    "org_admin": "Org admin",
    "team_admin": "Team admin",
    "no_role": "No role",
}
ROLE_HELP = {
    "org_admin": "Access to every team in the org.",
    "team_admin": "Access only to the teams picked below.",
    "no_role": "Joins the org without access to any team until someone gives them a role.",
}
assert set(ROLE_LABELS) == set(ROLES)

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HIDDEN_INPUT = Markup('<input id="%s" name="%s" type="hidden" value="%s">')  # % escapes each value


def new_submission_token() -> str:
    return secrets.token_urlsafe(18)


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

    email = StringField(
        "Email",
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        validators=[
            DataRequired("Enter the email address to invite."),
            Length(max=320, message="That address is longer than an email address can be."),
            Email("Enter a valid email address, like name@example.com."),
        ],
    )
    role = SelectField("Role", choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES], default="org_admin")
    teams = SelectMultipleField("Teams", choices=[], validate_choice=False)
    confirm_no_teams = BooleanField("Invite as a team admin of no team anyway")
    submission_token = HiddenField(validators=[Regexp(TOKEN_PATTERN, message="This form has expired.")])

    def set_teams(self, teams: list[Team], *, available: bool) -> None:
        self.teams.choices = [SelectChoice(t.id, t.name) for t in teams]
        self._teams_available = available

    def validate_role(self, field: SelectField) -> None:
        if field.data not in ROLES:
            raise ValidationError("Choose one of the roles listed.")

    def validate_teams(self, field: SelectMultipleField) -> None:
        known = {choice.value for choice in field.choices}
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
