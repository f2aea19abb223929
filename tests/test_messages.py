"""Junction's pydantic messages in plain words (invite/invites/messages.py), with the fix beside them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from invite.core.field_errors import map_issues_to_fields
from invite.invites.messages import PlainMessage, flagged_team_name, plain_message
from invite.junction.models import ValidationIssue

TEAM = "5f9d2c1e-0000-4000-8000-000000000001"


def test_a_bad_email_address_is_said_plainly_and_junctions_words_are_kept():
    raw = "value is not a valid email address: The part after the @-sign is not valid. It should have a period."
    message = plain_message("email", raw)
    assert message.text == "This is not an email address Junction can send to."
    assert "typos" in message.fix
    assert message.raw == raw


def test_a_team_that_left_the_org_names_the_team_and_offers_the_way_out():
    # Exactly what field_errors.py makes of the sandbox's (and Junction's) 422 for a foreign team.
    [issue] = [ValidationIssue(loc=("body", "team_role_bindings", 0, "team_id"), type="value_error",
                               msg=f"Value error, Team {TEAM} does not belong to this org")]
    mapped = map_issues_to_fields([issue], [TEAM], {TEAM: "Diabetes Program"})
    [shown] = mapped.fields["teams"]
    message = plain_message("teams", shown)
    assert message.text == "The team Diabetes Program is no longer one of the org's teams in Junction."
    assert message.fix == "Untick Diabetes Program, or refresh the team list."
    assert message.raw == shown
    assert flagged_team_name(shown) == "Diabetes Program"


def test_a_team_known_only_by_id_or_position_is_still_named():
    assert plain_message("teams", f"Team {TEAM}: Value error, Team {TEAM} does not belong to this org").fix == \
        f"Untick {TEAM}, or refresh the team list."
    assert plain_message("teams", "Team #3: Team is archived").text == \
        "The team number 3 is archived in Junction, so nobody can be invited to it."
    assert flagged_team_name("Team #3: Team is archived") is None


def test_a_role_literal_error_names_the_roles_in_the_pages_words():
    message = plain_message("role", "Input should be 'org_admin' or 'team_admin'")
    assert message.text == "Junction only accepts Org admin or Team admin here."
    assert plain_message("role", "Input should be 'no_role'").text == "Junction only accepts No role here."


def test_other_known_types():
    assert plain_message("email", "Field required").text == "Junction needs this and it was empty."
    assert "320 characters at most" in plain_message("email", "String should have at most 320 characters").text
    assert plain_message("teams", "Input should be a valid list").text.startswith("Junction expected")
    top = plain_message("", "Extra inputs are not permitted (at body.nickname)")
    assert top.text == "The dashboard sent something Junction does not know."
    assert top.raw == "Extra inputs are not permitted (at body.nickname)"
    assert plain_message("", "Value error, Invalid cursor (at query.next_cursor)").text == "Invalid cursor."


def test_our_own_messages_and_unknown_ones_come_back_unchanged_without_details():
    ours = "Enter a valid email address, like name@example.com."
    assert plain_message("email", ours) == PlainMessage(ours)
    odd = "Something pydantic may say one day"
    assert plain_message("role", odd) == PlainMessage(odd)


@given(field=st.sampled_from(["", "email", "role", "teams"]), message=st.text(max_size=200))
def test_any_message_gives_text_and_never_loses_junctions_words(field, message):
    plain = plain_message(field, message)
    assert plain.text
    if plain.raw:
        assert plain.raw == message
    elif message.strip():
        assert plain.text == message
