"""The command line in-process with Click's CliRunner: parsing, output and exit codes, the app talking HTTP to a
real sandbox on loopback (tests/test_cli_process.py runs the real `flask` command)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import app_env, make_app

from invite import create_app
from invite.adapters.storage import Action, db
from invite.cli import exits, terminal

ACTOR = "ops.person@acme.test"
CARDIOLOGY = "80240536-14a5-521a-a7ab-b13f2741d88b"
KOFI = "kofi.mensah@acmehealth.com"  # a seeded pending invitation, sent long ago


def _cli_app(sandbox, tmp_path, **overrides: str):
    env = app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}", AUTH_MODE="header",
                  AUTH_TRUSTED_PROXIES="127.0.0.1/32", ADMIN_EMAILS=ACTOR, **overrides)
    app = make_app(env)
    yield app
    app.extensions["upstream"].client.close()


@pytest.fixture
def cli_app(sandbox, tmp_path):
    # The per-address resend limit off, so that a test can resend right after sending.
    yield from _cli_app(sandbox, tmp_path, INVITE_RESEND_MIN_INTERVAL_SECONDS="0")


@pytest.fixture
def limited_cli_app(sandbox, tmp_path):
    yield from _cli_app(sandbox, tmp_path, INVITE_RESEND_MIN_INTERVAL_SECONDS="60", INVITE_RESENDS_PER_DAY="2")


def run(app, *args: str, actor: str | None = ACTOR, input: str | None = None):
    env = {"INVITE_ACTOR": None, "NO_COLOR": None}
    extra = ["--as", actor] if actor is not None and args[0] in ("send", "resend", "revoke") else []
    return app.test_cli_runner().invoke(args=["invite", *args, *extra], env=env, input=input)


def rows(app) -> list[Action]:
    with app.app_context():
        return list(db.session.scalars(db.select(Action).order_by(Action.id)))


def posts(sandbox) -> list[dict]:
    return [e for e in sandbox.state.requests_log() if e["method"] in ("POST", "DELETE")]


# ------------------------------------------------------------------------------------------ who is acting


def test_a_change_without_as_is_refused_in_one_line_before_anything_happens(cli_app, sandbox):
    result = run(cli_app, "send", "new@example.com", "--role", "org_admin", actor=None)
    assert result.exit_code == exits.USAGE
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--as EMAIL" in result.stderr and "INVITE_ACTOR" in result.stderr
    assert rows(cli_app) == [] and posts(sandbox) == []


def test_as_must_be_one_email_address(cli_app, sandbox):
    result = run(cli_app, "revoke", KOFI, "--yes", actor="ops person")
    assert result.exit_code == exits.USAGE and "one email address" in result.stderr
    assert posts(sandbox) == []


def test_invite_actor_names_the_person_normalised_with_channel_os_user_and_host(cli_app, sandbox):
    result = cli_app.test_cli_runner().invoke(
        args=["invite", "send", "New.Person@example.com", "--role", "org_admin"],
        env={"INVITE_ACTOR": "  Ops.Person@ACME.test "})
    assert result.exit_code == exits.DONE, result.output
    [row] = rows(cli_app)
    assert (row.actor_email, row.actor_role, row.channel) == (ACTOR, "admin", "cli")
    assert row.os_user and row.host and row.client_addr is None
    assert row.outcome_kind == "invite_created"


def test_a_database_that_was_never_migrated_is_a_configuration_problem_and_nothing_is_sent(sandbox, tmp_path):
    app = create_app(app_env(sandbox, f"sqlite:///{tmp_path / 'empty.db'}"), testing=True)
    result = run(app, "send", "new@example.com", "--role", "org_admin")
    assert result.exit_code == exits.CONFIGURATION
    assert "database could not be used (OperationalError)" in result.stderr and "db upgrade" in result.stderr
    assert "Traceback" not in result.output and posts(sandbox) == []
    app.extensions["upstream"].client.close()


# ------------------------------------------------------------------------------------------ send


def test_send_resolves_teams_by_name_or_id_and_says_what_was_sent(cli_app, sandbox):
    result = run(cli_app, "send", "new@example.com", "--role", "team_admin", "--team", "cardiology",
                 "--team", "59897663-6785-514E-B626-7F993A79F223")
    assert result.exit_code == exits.DONE, result.output
    assert result.stdout == ("Sent: Junction emailed an invitation to new@example.com as Team admin of "
                             "Cardiology, Berlin Clinic.\n")
    [post] = posts(sandbox)
    assert post["json"]["team_role_bindings"] == [{"team_id": CARDIOLOGY},
                                                  {"team_id": "59897663-6785-514e-b626-7f993a79f223"}]


def test_an_unknown_team_is_refused_before_junction_is_asked(cli_app, sandbox):
    result = run(cli_app, "send", "new@example.com", "--role", "team_admin", "--team", "Astrology", "--json")
    assert result.exit_code == exits.NOT_DONE
    answer = json.loads(result.stdout)
    assert answer["outcome"] == "unknown_team" and "Astrology" in answer["field_errors"]["teams"][0]
    assert posts(sandbox) == [] and rows(cli_app) == []


def test_a_team_admin_of_no_team_needs_the_override(cli_app, sandbox):
    refused = run(cli_app, "send", "new@example.com", "--role", "team_admin")
    assert refused.exit_code == exits.NOT_DONE and "--no-team-anyway" in refused.stderr
    assert posts(sandbox) == []
    sent = run(cli_app, "send", "new@example.com", "--role", "team_admin", "--no-team-anyway")
    assert sent.exit_code == exits.DONE, sent.output


def test_junction_validation_errors_are_printed_per_field_with_the_team_by_name(cli_app, sandbox):
    with cli_app.app_context():
        cli_app.extensions["upstream"].teams.get()  # the team list as loaded before the team went away
    with sandbox.state.lock:
        sandbox.state.teams = [t for t in sandbox.state.teams if t["id"] != CARDIOLOGY]
    result = run(cli_app, "send", "new@example.com", "--role", "team_admin", "--team", "Cardiology")
    assert result.exit_code == exits.NOT_DONE
    assert result.stderr.splitlines() == [
        "Junction did not accept this invitation, so nothing was sent.",
        "  Correct the fields marked below and send again.",
        f"  --team: Team “Cardiology”: Value error, Team {CARDIOLOGY} does not belong to this org",
    ]
    as_data = json.loads(run(cli_app, "send", "bad-address", "--role", "org_admin", "--json").stdout)
    assert as_data["outcome"] == "validation_error" and as_data["exit_code"] == exits.NOT_DONE
    assert list(as_data["field_errors"]) == ["email"] and as_data["sent"] == "not_sent"
    assert as_data["field_errors"]["email"][0].startswith("value is not a valid email address")


@pytest.mark.parametrize(("args", "message"), [
    (["send", "new@example.com"], "Missing option '--role'"),
    (["send", "new@example.com", "--role", "owner"], "'owner' is not one of"),
    (["invitations", "--older-than", "a week"], "not a duration"),
    (["activity", "--since", "yesterday"], "neither a date"),
    (["activity", "--since", "2026-11-02", "--until", "2026-11-01"], "on or after --since"),
    (["activity", "--format", "xlsx"], "'xlsx' is not one of"),
])
def test_a_command_line_that_cannot_be_parsed_exits_2(cli_app, sandbox, args, message):
    result = run(cli_app, *args)
    assert result.exit_code == exits.USAGE
    assert message in result.stderr
    assert posts(sandbox) == []


# ------------------------------------------------------------------------------------------ resend, revoke


def test_resend_uses_the_invitations_own_role_and_teams_and_respects_the_cooldown(cli_app, sandbox):
    assert run(cli_app, "send", "new@example.com", "--role", "team_admin", "--team", "Cardiology").exit_code == 0
    inside = run(cli_app, "resend", "NEW@example.com")
    assert inside.exit_code == exits.NOT_DONE
    assert "less than a minute ago" in inside.stderr and "--force" in inside.stderr
    assert len(posts(sandbox)) == 1

    forced = run(cli_app, "resend", "new@example.com", "--force", "--json")
    assert forced.exit_code == exits.DONE, forced.output
    answer = json.loads(forced.stdout)
    assert (answer["outcome"], answer["action"], answer["role"]) == ("invite_resent", "resend", "team_admin")
    assert answer["teams"] == [{"id": CARDIOLOGY, "name": "Cardiology"}]
    assert posts(sandbox)[-1]["json"] == {"email": "new@example.com", "role": "team_admin",
                                          "team_role_bindings": [{"team_id": CARDIOLOGY}]}


def test_the_servers_resend_limits_hold_on_the_command_line_whatever_force_says(limited_cli_app, sandbox):
    assert run(limited_cli_app, "send", "new@example.com", "--role", "no_role").exit_code == 0
    refused = run(limited_cli_app, "resend", "new@example.com", "--force", "--json")
    assert refused.exit_code == exits.UNAVAILABLE, refused.output  # waiting, as the exit table says
    answer = json.loads(refused.stdout)
    assert answer["outcome"] == "held_back" and answer["retry_at"]
    assert "at most once every 60 seconds" in answer["text"] and "Can be sent again after" in answer["text"]
    assert len(posts(sandbox)) == 1


def test_resend_of_an_address_with_no_pending_invitation_sends_nothing(cli_app, sandbox):
    result = run(cli_app, "resend", "nobody@example.com")
    assert result.exit_code == exits.NOT_DONE and "no pending invitation" in result.stderr
    assert posts(sandbox) == [] and rows(cli_app) == []


def test_revoke_asks_first_and_does_nothing_when_declined(cli_app, sandbox):
    declined = run(cli_app, "revoke", KOFI, input="n\n")
    assert declined.exit_code == exits.NOT_DONE
    assert f"Revoke the invitation for {KOFI} (Team admin; Cardiology;" in declined.stderr
    assert "Nothing was revoked." in declined.stderr
    assert posts(sandbox) == [] and sandbox.state.find_invite_by_email(KOFI) is not None

    invite_id = sandbox.state.find_invite_by_email(KOFI)["id"]
    accepted = run(cli_app, "revoke", invite_id.upper(), input="y\n")
    assert accepted.exit_code == exits.DONE, accepted.output
    assert f"Revoked the invitation for {KOFI}." in accepted.stdout
    assert sandbox.state.find_invite_by_email(KOFI) is None
    [row] = rows(cli_app)
    assert (row.action, row.invite_id, row.channel, row.teams) == (
        "revoke", invite_id, "cli", [{"id": CARDIOLOGY, "name": "Cardiology"}])


# ------------------------------------------------------------------------------------------ lists


def test_invitations_table_for_people_json_lines_for_programs(cli_app, sandbox):
    table = run(cli_app, "invitations", "--search", "kofi")
    assert table.exit_code == exits.DONE
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["EMAIL", "ROLE", "TEAMS", "LAST", "SENT", "(UTC)", "ID"]
    assert lines[1].startswith(KOFI) and "Cardiology" in lines[1] and lines[-1] == "(1 invitation)"
    assert "\x1b[" not in table.stdout  # not a terminal: no colour

    every = run(cli_app, "invitations", "--json")
    records = [json.loads(line) for line in every.stdout.splitlines()]
    assert len(records) == len(sandbox.state.invites) == 12
    kofi = next(r for r in records if r["email"] == KOFI)
    assert kofi["teams"] == [{"id": CARDIOLOGY, "name": "Cardiology"}] and kofi["role"] == "team_admin"
    assert set(kofi) == {"id", "email", "role", "teams", "invited_at", "resent_at", "created_by", "sent_by",
                         "last_resent_by"}
    assert (kofi["sent_by"], kofi["last_resent_by"]) == (None, None)  # sent before the dashboard existed


def test_invitations_say_who_in_the_company_sent_and_resent_them_from_the_trail(cli_app):
    assert run(cli_app, "send", "new@example.com", "--role", "org_admin").exit_code == 0
    assert run(cli_app, "resend", "new@example.com", "--force", actor="second@acme.test").exit_code == 0
    listed = run(cli_app, "invitations", "--search", "new@", "--json")
    [record] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (record["sent_by"], record["last_resent_by"]) == (ACTOR, "second@acme.test")


def test_older_than_keeps_invitations_last_sent_before_then(cli_app, sandbox):
    assert run(cli_app, "send", "fresh@example.com", "--role", "org_admin").exit_code == 0
    emails = {json.loads(line)["email"] for line in run(cli_app, "invitations", "--older-than", "1d",
                                                        "--json").stdout.splitlines()}
    assert "fresh@example.com" not in emails and KOFI in emails and len(emails) == 12


def test_members_and_teams(cli_app):
    members = [json.loads(line) for line in run(cli_app, "members", "--json").stdout.splitlines()]
    assert len(members) == 8
    assert set(members[0]) == {"id", "name", "email", "role", "teams", "member_since"}
    table = run(cli_app, "members", "--search", "dana")
    assert "Dana Whitfield" in table.stdout and table.stdout.endswith("(1 member)\n")

    teams = [json.loads(line) for line in run(cli_app, "teams", "--search", "card", "--json").stdout.splitlines()]
    assert [(t["name"], t["region"]) for t in teams] == [("Cardiology", "us"), ("Paris Cardiologie", "eu")]


def test_lists_walk_junctions_pages_one_at_a_time(cli_app, sandbox):
    client = cli_app.extensions["upstream"].client
    before = len(sandbox.state.requests_log())
    invites = client.iter_invites()
    next(invites)
    assert len(sandbox.state.requests_log()) - before == 1  # only the first page so far
    rest = list(invites)
    lists = [e for e in sandbox.state.requests_log()[before:] if e["path"].endswith("/invite")]
    assert len(rest) == 11 and len(lists) == 3  # pages of 5


def test_a_list_that_fails_says_why_and_exits_5(cli_app, sandbox, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("boom")  # the sandbox turns this into a 500, as Starlette would

    monkeypatch.setattr(sandbox.state, "find_members", fail)
    result = run(cli_app, "members")
    assert result.exit_code == exits.UNAVAILABLE
    assert "Could not load the members: Junction failed with a server error." in result.stderr
    assert "For support: HTTP 500." in result.stderr


# ------------------------------------------------------------------------------------------ activity


def test_activity_streams_the_pages_formula_safe_csv_and_json_lines(cli_app, sandbox):
    run(cli_app, "send", "=HYPERLINK(1)@example.com", "--role", "org_admin")
    run(cli_app, "send", "new@example.com", "--role", "org_admin")
    result = run(cli_app, "activity")
    assert result.exit_code == exits.DONE
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["target_email"] for r in table] == ["'=HYPERLINK(1)@example.com", "new@example.com"]
    assert {(r["channel"], r["who"]) for r in table} == {("cli", ACTOR)}

    jsonl = run(cli_app, "activity", "--format", "jsonl", "--target", "new@")
    [record] = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert record["target_email"] == "new@example.com" and record["outcome"] == "invite_created"
    assert record["team_ids"] == [] and record["channel"] == "cli" and record["os_user"]


# ------------------------------------------------------------------------------------------ terminal


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color():
    assert terminal.colour(FakeTerminal(), {}) is True
    assert terminal.colour(FakeTerminal(), {"NO_COLOR": "1"}) is False
    assert terminal.colour(io.StringIO(), {}) is False
    assert terminal.interactive(io.StringIO()) is False


def test_outcome_kinds_map_to_the_documented_exit_codes():
    assert {kind: exits.for_outcome(kind) for kind in (
        "invite_created", "already_in_org", "confirmed_pending", "validation_error", "conflict", "unknown",
        "key_rejected", "rate_limited", "unreachable")} == {
        "invite_created": 0, "already_in_org": 0, "confirmed_pending": 0, "validation_error": 1, "conflict": 1,
        "unknown": 3, "key_rejected": 4, "rate_limited": 5, "unreachable": 5}


# ------------------------------------------------------------------------------------------ codes agree with words


def test_revoking_an_invitation_that_is_gone_already_is_done(cli_app, sandbox):
    invite_id = sandbox.state.find_invite_by_email(KOFI)["id"]
    assert run(cli_app, "revoke", KOFI, "--yes").exit_code == exits.DONE
    for target in (KOFI, invite_id):
        again = run(cli_app, "revoke", target, "--yes", "--json")
        assert again.exit_code == exits.DONE, again.output
        answer = json.loads(again.stdout)
        assert (answer["outcome"], answer["exit_code"]) == ("already_gone", exits.DONE)
        assert answer["title"] == f"Nothing to revoke: Junction lists no pending invitation for {target}."
    assert len(posts(sandbox)) == 1
    nothing = run(cli_app, "resend", KOFI)  # resending what is gone did not happen: not done
    assert nothing.exit_code == exits.NOT_DONE


def test_a_send_the_dashboards_limits_held_back_exits_5_saying_when(cli_app):
    from invite.cli.commands import _action_report

    row = Action(action="send", target_email="new@example.com", role="org_admin", teams=[], outcome_kind="held_back",
                 outcome={"kind": "form", "alert": {
                     "title": "Not sent: new@example.com was sent an invitation 12 seconds ago.",
                     "text": "The dashboard sends to one address at most once every 60 seconds.", "sent": "not_sent"},
                     "retry_at": "2026-12-07T04:31:48+00:00"})
    report = _action_report(row)
    assert (report.outcome, report.code) == ("held_back", exits.UNAVAILABLE)
    assert report.title == "Not sent: new@example.com was sent an invitation 12 seconds ago."
    assert report.text == ("The dashboard sends to one address at most once every 60 seconds. "
                           "Can be sent again after 2026-12-07 04:31:48 UTC.")
    assert report.data["retry_at"] == "2026-12-07T04:31:48+00:00"


def test_activity_json_is_the_jsonl_format(cli_app):
    run(cli_app, "send", "new@example.com", "--role", "org_admin")
    as_json = run(cli_app, "activity", "--json")
    assert as_json.exit_code == exits.DONE
    assert as_json.stdout == run(cli_app, "activity", "--format", "jsonl").stdout
    assert json.loads(as_json.stdout)["target_email"] == "new@example.com"
    both = run(cli_app, "activity", "--json", "--format", "csv")
    assert both.exit_code == exits.USAGE and "leave out --format csv" in both.stderr


def test_what_a_person_typed_is_printed_without_escapes_and_json_keeps_it_escaped(cli_app, sandbox):
    team = "\x1b[2JAstro\u202elogy\x9b"
    refused = run(cli_app, "send", "new@example.com", "--role", "team_admin", "--team", team)
    assert refused.exit_code == exits.NOT_DONE
    assert "“[2JAstrology”" in refused.stderr and not {"\x1b", "\u202e", "\x9b"} & set(refused.stderr)
    as_json = run(cli_app, "send", "new@example.com", "--role", "team_admin", "--team", team, "--json").stdout
    assert "\\u001b" in as_json and "\\u202e" in as_json and "\\u009b" in as_json
    assert not {"\x1b", "\u202e", "\x9b"} & set(as_json)
    assert team in json.loads(as_json)["field_errors"]["teams"][0]
    assert posts(sandbox) == []
