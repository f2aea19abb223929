"""The loc → form field mapping, on its own: no app, no HTTP."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from invite.core.field_errors import map_issues_to_fields
from invite.junction import ValidationIssue

TEAM_A = "6f1c0c39-9a55-4b7e-8d0c-1a2b3c4d5e6f"
TEAM_B = "0b7e5a1e-3f0a-4c1d-9e2f-aabbccddeeff"
NAMES = {TEAM_A: "Cardiology", TEAM_B: "Sleep Lab"}


def issue(loc, msg="bad", type_="value_error"):
    return ValidationIssue(loc=tuple(loc), msg=msg, type=type_)


def test_body_prefix_is_skipped_and_field_named():
    errors = map_issues_to_fields([issue(["body", "email"], "value is not a valid email address")])
    assert errors.fields == {"email": ["value is not a valid email address"]}
    assert errors.form == []


def test_union_tags_stay_on_the_role_field_and_both_messages_show():
    errors = map_issues_to_fields([
        issue(["body", "role", "literal['org_admin','team_admin']"], "Input should be 'org_admin' or 'team_admin'"),
        issue(["body", "role", "literal['no_role']"], "Input should be 'no_role'"),
    ])
    assert errors.fields == {"role": ["Input should be 'org_admin' or 'team_admin'", "Input should be 'no_role'"]}


def test_team_index_names_the_submitted_team():
    errors = map_issues_to_fields(
        [issue(["body", "team_role_bindings", 1, "team_id"], "Input should be a valid UUID")],
        submitted_team_ids=[TEAM_A, TEAM_B], team_names=NAMES,
    )
    assert errors.fields == {"teams": ["Team “Sleep Lab”: Input should be a valid UUID"]}


def test_team_index_of_an_unknown_team_shows_its_id_and_out_of_range_its_position():
    errors = map_issues_to_fields(
        [issue(["body", "team_role_bindings", 0, "team_id"], "no such team"),
         issue(["body", "team_role_bindings", 7, "team_id"], "no such team")],
        submitted_team_ids=["not-a-uuid"], team_names=NAMES,
    )
    assert errors.fields["teams"] == ["Team not-a-uuid: no such team", "Team #8: no such team"]


def test_errors_naming_no_form_field_go_to_the_top_with_where():
    errors = map_issues_to_fields([
        issue(["path", "org_id"], "Input should be a valid UUID"),
        issue(["query", "x"], "nope"),
        issue(["header", "x-management-key"], "missing"),
        issue(["body", "nickname"], "Extra inputs are not permitted"),
        issue(["body"], "Field required"),
        issue([], "Something odd"),
    ])
    assert errors.fields == {}
    assert errors.form == [
        "Input should be a valid UUID (at path.org_id)",
        "nope (at query.x)",
        "missing (at header.x-management-key)",
        "Extra inputs are not permitted (at body.nickname)",
        "Field required (at body)",
        "Something odd",
    ]


def test_duplicates_collapse_but_distinct_messages_all_show():
    errors = map_issues_to_fields([
        issue(["body", "email"], "too long"), issue(["body", "email"], "too long"), issue(["body", "email"], "no @"),
    ])
    assert errors.fields == {"email": ["too long", "no @"]}


def test_empty_message_still_shows_something():
    errors = map_issues_to_fields([issue(["body", "email"], "")])
    assert errors.fields["email"] == ["Junction rejected this value."]


def test_a_binding_rejected_as_a_whole_names_its_team_and_marks_only_that_checkbox():
    # pydantic's loc for a binding that is not an object at all stops at the index: no key after it.
    errors = map_issues_to_fields(
        [issue(["body", "team_role_bindings", 0], "Input should be a valid dictionary")],
        submitted_team_ids=[TEAM_A, TEAM_B], team_names=NAMES,
    )
    assert errors.fields == {"teams": ["Team “Cardiology”: Input should be a valid dictionary"]}
    assert errors.invalid_team_ids == [TEAM_A]


def test_the_checkboxes_marked_are_the_teams_junction_named_each_once():
    errors = map_issues_to_fields(
        [issue(["body", "team_role_bindings", 1, "team_id"], "no such team"),
         issue(["body", "team_role_bindings", 1, "role"], "bad role"),
         issue(["body", "team_role_bindings", 0, "team_id"], "no such team")],
        submitted_team_ids=[TEAM_A, TEAM_B], team_names=NAMES,
    )
    assert errors.invalid_team_ids == [TEAM_B, TEAM_A]
    assert errors.fields["teams"] == ["Team “Sleep Lab”: no such team", "Team “Sleep Lab”: bad role",
                                      "Team “Cardiology”: no such team"]


def test_an_index_past_the_submitted_teams_is_named_by_position_and_marks_no_checkbox():
    errors = map_issues_to_fields(
        [issue(["body", "team_role_bindings", 2, "team_id"], "no such team")],
        submitted_team_ids=[TEAM_A, TEAM_B], team_names=NAMES,
    )
    assert errors.fields == {"teams": ["Team #3: no such team"]}
    assert errors.invalid_team_ids == []


def test_the_team_list_rejected_as_a_whole_stays_on_the_teams_field_without_a_team_label():
    errors = map_issues_to_fields([issue(["body", "team_role_bindings"], "Input should be a valid list")],
                                  submitted_team_ids=[TEAM_A], team_names=NAMES)
    assert errors.fields == {"teams": ["Input should be a valid list"]}
    assert errors.invalid_team_ids == []


def test_an_issue_without_a_usable_loc_is_shown_at_the_top_as_it_is():
    errors = map_issues_to_fields([ValidationIssue(loc=None, msg="Request body is not valid JSON"),
                                   ValidationIssue(loc="body", msg="Field required")])
    assert errors.fields == {}
    assert errors.form == ["Request body is not valid JSON", "Field required"]


def test_the_count_is_every_message_shown_on_the_form():
    errors = map_issues_to_fields([issue(["body", "email"], "no @"), issue(["body", "role"], "bad role"),
                                   issue(["path", "org_id"], "not a UUID")])
    assert len(errors) == 3
    assert not map_issues_to_fields([])


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
loc_parts = st.one_of(st.sampled_from(["body", "path", "query", "email", "role", "team_role_bindings", "team_id"]),
                      st.integers(min_value=-3, max_value=10), st.text(max_size=10), st.booleans(), st.none())


@given(
    locs=st.lists(st.lists(loc_parts, max_size=5), max_size=12),
    msgs=st.lists(st.one_of(st.text(max_size=30), st.none(), json_scalars), min_size=12, max_size=12),
    teams=st.lists(st.sampled_from([TEAM_A, TEAM_B, "junk"]), max_size=3),
)
def test_any_locs_never_crash_and_never_lose_an_error(locs, msgs, teams):
    issues = [ValidationIssue(loc=tuple(loc), msg=msgs[i]) for i, loc in enumerate(locs)]
    errors = map_issues_to_fields(issues, teams, NAMES)
    shown = [m for messages in errors.fields.values() for m in messages] + errors.form
    # Every issue's text appears somewhere (identical ones collapse into one line).
    for item in issues:
        text = str(item.msg).strip() if item.msg is not None else ""
        text = text or "Junction rejected this value."
        assert any(text in line for line in shown)
    assert set(errors.fields) <= {"email", "role", "teams"}
