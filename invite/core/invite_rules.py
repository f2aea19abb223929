"""The invite form's rules for an address and its role labels, without Flask: shared by the form and bulk invites.

The form (invite/invites/forms.py) puts EMAIL_FILTERS and EMAIL_VALIDATORS on its email field; bulk invites
check each row with email_errors(), which runs the very same filters and validators through a plain
WTForms form, so a row is valid exactly when the form would accept the same address.
"""

from __future__ import annotations

from wtforms import Form, StringField
from wtforms.validators import DataRequired, Email, Length

from invite.junction.models import ROLES

ROLE_LABELS = {
    "org_admin": "Org admin",
    "team_admin": "Team admin",
    "no_role": "No role",
}
assert set(ROLE_LABELS) == set(ROLES)

# An address is at most 320 characters (64 local + @ + 255 domain).
MAX_EMAIL_CHARS = 320


def strip_text(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


EMAIL_FILTERS = (strip_text,)
EMAIL_VALIDATORS = (
    DataRequired("Enter the email address to invite."),
    Length(max=MAX_EMAIL_CHARS, message="That address is longer than an email address can be."),
    Email("Enter a valid email address, like name@example.com."),
)


class _EmailOnly(Form):
    email = StringField("Email", filters=EMAIL_FILTERS, validators=EMAIL_VALIDATORS)


def email_errors(value: str) -> list[str]:
    """The form's messages for this address (empty when the form would accept it)."""
    form = _EmailOnly(data={"email": value})
    form.validate()
    return list(form.email.errors)
