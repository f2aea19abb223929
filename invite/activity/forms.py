"""The activity page's filters: a GET form, so a filtered view is a link that can be shared."""

from __future__ import annotations

from wtforms import DateField, Form, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from invite.storage import ACTIONS

OUTCOME_GROUPS = {
    "succeeded": ("invite_created", "invite_resent", "already_in_org", "confirmed_pending", "revoked"),
    "failed": ("validation_error", "conflict", "rate_limited", "unreachable", "key_rejected", "not_found",
               "rejected", "already_gone", "invalid_id"),
    "unknown": ("unknown",),
}
OUTCOME_LABELS = {
    "invite_created": "Invitation sent",
    "invite_resent": "Sent again",
    "already_in_org": "Already a member",
    "confirmed_pending": "Sent (confirmed after a timeout)",
    "revoked": "Revoked",
    "validation_error": "Rejected by validation",
    "conflict": "Conflict",
    "rate_limited": "Rate limited",
    "unreachable": "Junction unreachable",
    "key_rejected": "Key rejected",
    "not_found": "Org not found",
    "rejected": "Rejected",
    "already_gone": "Already gone",
    "invalid_id": "Invalid id",
    "unknown": "Unknown",
}


def outcome_group(kind: str) -> str:
    for group, kinds in OUTCOME_GROUPS.items():
        if kind in kinds:
            return group
    return "unknown"


class ActivityFilterForm(Form):
    who = StringField("Who", validators=[Optional()])
    target = StringField("Target email", validators=[Optional()])
    action = SelectField("Action", choices=[SelectChoice("", "Any")] + [SelectChoice(a, a.capitalize())
                                                                         for a in ACTIONS], default="")
    outcome = SelectField("Outcome", default="", choices=[SelectChoice("", "Any")]
                          + [SelectChoice(g, g.capitalize()) for g in OUTCOME_GROUPS]
                          + [SelectChoice(k, label) for k, label in OUTCOME_LABELS.items()])
    date_from = DateField("From (UTC)", validators=[Optional()])
    date_to = DateField("To (UTC)", validators=[Optional()])
    job = IntegerField("Bulk job", validators=[Optional()])

    def validate_job(self, field: IntegerField) -> None:
        if field.data is not None and field.data < 1:
            raise ValidationError("A bulk job number is 1 or more.")

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("“To” must be on or after “From”.")
