"""The bulk pages' forms: the list (pasted or uploaded) with a default role, the confirm, and job controls."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Regexp, ValidationError

from invite.core.invite_rules import ROLE_LABELS
from invite.junction import ROLES

# Least privilege first, and the default: a row that names no role never silently becomes an Org admin
# (issue #8 decided the same for the form).
DEFAULT_ROLE = "no_role"
ROLES_LEAST_FIRST = ("no_role", "team_admin", "org_admin")
assert set(ROLES_LEAST_FIRST) == set(ROLES)


class BulkListForm(FlaskForm):
    text = TextAreaField("Addresses", description="One address per line, or CSV lines: email, role, teams.")
    file = FileField("Or upload a file", description="CSV or TSV, UTF-8 or Excel's exports; at most 1 MB and "
                                                     "5,000 rows.")
    default_role = SelectField("Role for rows that name none",
                               choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES_LEAST_FIRST],
                               default=DEFAULT_ROLE)

    def validate_default_role(self, field: SelectField) -> None:
        if field.data not in ROLES:
            raise ValidationError("Choose one of the roles listed.")


class ConfirmForm(FlaskForm):
    """The one-time confirm: its token is the draft job's, so a repeat finds the job already started."""

    token = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])


class JobControlForm(FlaskForm):
    """Pause, resume, cancel, retry: a CSRF token is all they carry."""
