"""The activity page's filters: a GET form, so a filtered view is a link that can be shared."""

from __future__ import annotations

from datetime import date

from wtforms import DateField, Form, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from invite.activity.queries import Cursor
from invite.adapters.storage import ACTIONS, LARGEST_ID
from invite.core import vocabulary

# The vocabulary's groups and words (invite.core.vocabulary), as the filters offer them.
OUTCOME_GROUPS = vocabulary.KINDS_BY_GROUP
# Where an action came from (the trail's channel column).
CHANNEL_LABELS = vocabulary.CHANNEL_WORDS
OUTCOME_LABELS = {kind: vocabulary.label(kind) for kind in vocabulary.OUTCOMES}
outcome_group = vocabulary.group
outcome_label = vocabulary.label


# Far beyond any real trail, and far enough from date.min/max that a day's arithmetic never overflows.
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)
MAX_PAGE = 100_000
MAX_SEARCH_CHARS = 320


def _plain_text(form: Form, field: StringField) -> None:
    # PostgreSQL refuses NUL in a query parameter; no address holds control characters anyway.
    if field.data and any(ord(ch) < 32 or ord(ch) == 127 for ch in field.data):
        raise ValidationError("Remove the control characters from this search.")


def _in_range(form: Form, field: DateField) -> None:
    if field.data and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(f"Enter a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}.")


_SEARCH = [Optional(), Length(max=MAX_SEARCH_CHARS, message=f"Search for at most {MAX_SEARCH_CHARS} characters."),
           _plain_text]


def _cursor(field: StringField) -> None:
    if field.data:
        try:
            Cursor.parse(field.data)
        except ValueError:
            raise ValidationError("This page link is damaged or out of date: start again from the newest actions, "
                                  "then use the Newer and Older links.") from None


class ActivityFilterForm(Form):
    who = StringField("Who", validators=_SEARCH)
    target = StringField("Target email", validators=_SEARCH)
    action = SelectField("Action", default="", choices=[SelectChoice("", "Any")]
                         + [SelectChoice(a, vocabulary.action_words(a)) for a in ACTIONS]
                         + [SelectChoice(g, label) for g, label in vocabulary.ACTION_GROUP_WORDS.items()])
    outcome = SelectField("Outcome", default="", choices=[SelectChoice("", "Any")]
                          + [SelectChoice(g, vocabulary.GROUP_LABELS[g]) for g in OUTCOME_GROUPS]
                          # a group of one kind (held back) is offered once, as its group
                          + [SelectChoice(k, label) for k, label in OUTCOME_LABELS.items() if k not in OUTCOME_GROUPS])
    channel = SelectField("Channel", default="", choices=[SelectChoice("", "Any")]
                          + [SelectChoice(c, label) for c, label in CHANNEL_LABELS.items()])
    date_from = DateField("From (UTC)", validators=[Optional(), _in_range])
    date_to = DateField("To (UTC)", validators=[Optional(), _in_range])
    # Not drawn with the filters (the pager links carry it); its error is listed in the page's alert.
    page = IntegerField("Page", default=1, validators=[
        Optional(), NumberRange(1, MAX_PAGE, message=f"Page must be a whole number from 1 to {MAX_PAGE:,}.")])
    # Where the page starts (invite/activity/queries.py, Cursor): set by the Newer, Older and Oldest links.
    before = StringField("Older than", validators=[Optional()])
    after = StringField("Newer than", validators=[Optional()])
    oldest = StringField("Oldest", validators=[Optional()])

    job = IntegerField("Bulk job", validators=[Optional()])  # range checked below, before any query

    FILTERS = ("who", "target", "action", "outcome", "channel", "date_from", "date_to", "job")

    def validate_before(self, field: StringField) -> None:
        _cursor(field)

    def validate_after(self, field: StringField) -> None:
        _cursor(field)
        if field.data and self.before.data:
            raise ValidationError("A page link starts either before or after a row, not both.")

    def validate_job(self, field: IntegerField) -> None:
        if field.data is not None and not 1 <= field.data <= LARGEST_ID:
            raise ValidationError(f"A bulk job number is from 1 to {LARGEST_ID:,}.")

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("“To” must be on or after “From”.")
