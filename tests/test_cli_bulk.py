"""`invite bulk …`: Click's CliRunner in-process against a sandbox on loopback (parsing, output, exit codes,
--json shapes), with a real worker process where a job runs; and the real `flask --app app invite bulk …`
in subprocesses beside a real worker, waited to the end."""

from __future__ import annotations

import getpass
import json
import socket
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from invite.adapters.storage import Action, db
from invite.bulk.models import BulkJob, BulkRow
from invite.cli import exits
from tests.bulk_support import Worker, posted_addresses, queue_name, remove_queue_files, running_bulk

ACTOR = "ops.person@acme.test"
ROOT = Path(__file__).resolve().parent.parent
FLASK = [str(Path(sys.executable).parent / "flask"), "--app", "app", "invite"]


@pytest.fixture
def quiet(sandbox, tmp_path):
    """The app and no worker: a job started here stays queued."""
    with running_bulk(sandbox, tmp_path, workers=0, ADMIN_EMAILS=ACTOR) as (app, _client, _workers):
        yield app


@pytest.fixture
def working(sandbox, tmp_path):
    with running_bulk(sandbox, tmp_path, ADMIN_EMAILS=ACTOR) as (app, _client, workers):
        yield app, workers[0]


def run(app, *args: str, input: str | bytes | None = None, **env: str):
    return app.test_cli_runner().invoke(args=["invite", "bulk", *args],
                                        env={"INVITE_ACTOR": None, "NO_COLOR": None, **env}, input=input)


def stored_jobs(app) -> list[BulkJob]:
    with app.app_context():
        return list(db.session.scalars(db.select(BulkJob).order_by(BulkJob.id)))


def job_rows(app, job_id: int) -> list[BulkRow]:
    with app.app_context():
        return list(db.session.scalars(db.select(BulkRow).where(BulkRow.job_id == job_id).order_by(BulkRow.position)))


def write(tmp_path: Path, text: str, name: str = "people.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


MIXED = ("email,role,teams\n"
         "new.one@example.com,team_admin,Cardiology\n"
         "not-an-address,,\n"
         "new.two@example.com,,\n"
         "new.one@EXAMPLE.com,,\n"
         "new.three@example.com,,Cardio\n")


# ------------------------------------------------------------------------------------------ the preview


def test_a_dry_run_prints_the_preview_problems_first_and_stores_and_sends_nothing(quiet, sandbox, tmp_path):
    result = run(quiet, write(tmp_path, MIXED), "--dry-run")
    assert result.exit_code == exits.NOT_DONE, result.output
    out = result.stdout.splitlines()
    assert out[0] == "5 rows: 1 invalid address, 1 duplicate, 1 unknown team, 2 ready."
    assert out[1].split() == ["ROW", "VERDICT", "EMAIL", "ROLE", "TEAMS", "MESSAGE"]
    # Then where the members and invitations came from: Junction itself, as no worker has copied the org.
    assert out[-1].startswith("Checked against Junction's members and invitations when you previewed the list")
    verdicts = [(line[:5].strip(), line[7:37].strip()) for line in out[2:-1]]
    assert verdicts == [("3", "Invalid address"), ("5", "Duplicate"), ("6", "Unknown team"), ("2", "Ready"),
                        ("4", "Ready")]
    assert "No team named “Cardio”. Did you mean" in out[4]
    assert "Team admin  Cardiology" in out[5]
    assert "Dry run: 2 invitations would be sent; nothing was stored or sent." in result.stderr
    assert "3 rows are not ready." in result.stderr
    assert stored_jobs(quiet) == [] and posted_addresses(sandbox) == {}


def test_a_dry_run_of_a_list_that_is_all_ready_exits_0_from_standard_input(quiet, sandbox):
    result = run(quiet, "-", "--dry-run", "--role", "no_role", input="first@example.com\nsecond@example.com\n")
    assert result.exit_code == exits.DONE, result.output
    assert result.stdout.startswith("2 rows: 2 ready.\n")
    assert "No role" in result.stdout
    assert "Dry run: 2 invitations would be sent" in result.stdout
    assert stored_jobs(quiet) == [] and posted_addresses(sandbox) == {}


def test_json_lines_one_per_row_then_a_summary(quiet, sandbox, tmp_path):
    pending = sandbox.state.invites[-1]["email"]  # sent months ago: outside the cooldown
    result = run(quiet, write(tmp_path, f"{pending}\nfresh@example.com,team_admin,Cardiology\n"), "--dry-run",
                 "--json", "--resend-pending")
    assert result.exit_code == exits.NOT_DONE, result.output
    *rows, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert [set(r) for r in rows] == [{"type", "row", "email", "role", "teams", "verdict", "verdict_words",
                                       "message", "will_send"}] * 2
    first, second = rows
    assert (first["email"], first["verdict"], first["will_send"]) == (pending, "resendable", True)
    assert first["verdict_words"] == "Already pending: will be resent"
    assert (second["verdict"], second["teams"][0]["name"], second["role"]) == ("ready", "Cardiology", "team_admin")
    assert summary == {"type": "summary", "exit_code": 1, "title": summary["title"], "text": "1 row is not ready.",
                       "outcome": "dry_run", "job_id": None, "rows": 2, "dry_run": True, "to_send": 2,
                       "checked_as_of": None,
                       "counts": {"invalid_email": 0, "duplicate": 0, "already_member": 0, "invalid_role": 0,
                                  "unknown_team": 0, "ambiguous_team": 0, "already_pending": 1, "ready": 1}}


def test_a_list_it_cannot_read_says_why_and_stores_nothing(quiet, tmp_path):
    result = run(quiet, write(tmp_path, "email\n"), "--as", ACTOR, "--yes")
    assert result.exit_code == exits.NOT_DONE
    assert "people.csv: The list has a header row and nothing else" in result.stderr
    assert "Nothing was stored or sent." in result.stderr and "Traceback" not in result.output
    assert stored_jobs(quiet) == []
    missing = run(quiet, str(tmp_path / "absent.csv"), "--dry-run")
    assert missing.exit_code == exits.USAGE and "No such file or directory" in missing.stderr


# ------------------------------------------------------------------------------------------ starting a job


def test_without_as_it_refuses_in_one_line_before_reading_anything(quiet, sandbox, tmp_path):
    result = run(quiet, write(tmp_path, "someone@example.com\n"), "--yes")
    assert result.exit_code == exits.USAGE and result.stdout == ""
    assert result.stderr == ("invite: refusing to act without a name for the audit trail: pass --as EMAIL or set "
                             "INVITE_ACTOR.\n")
    assert stored_jobs(quiet) == [] and sandbox.state.requests_log() == []


def test_no_answer_means_no_and_nothing_is_stored(quiet, sandbox, tmp_path):
    result = run(quiet, write(tmp_path, "someone@example.com\n"), input="", INVITE_ACTOR=ACTOR)
    assert result.exit_code == exits.NOT_DONE
    assert "Send 1 invitation? [y/N]:" in result.stderr and "Nothing was sent." in result.stderr
    assert stored_jobs(quiet) == [] and posted_addresses(sandbox) == {}


def test_yes_starts_the_pages_durable_job_and_sends_nothing_itself(quiet, sandbox, tmp_path):
    result = run(quiet, write(tmp_path, "a@example.com\nb@example.com,team_admin,Cardiology\nbad\n"), "--as",
                 ACTOR, input="y\n")
    assert result.exit_code == exits.DONE, result.output
    [job] = stored_jobs(quiet)
    assert f"Job {job.id} started: 2 invitations to send." in result.stdout
    assert f"invite bulk wait {job.id}" in result.stdout
    assert (job.state, job.created_by, job.created_by_role, job.confirmed_at is not None) == (
        "running", ACTOR, "admin", True)
    assert job.source.startswith("people.csv (command line, ")
    assert [(r.email, r.state, r.confirmed_by) for r in job_rows(quiet, job.id)] == [
        ("a@example.com", "queued", ACTOR), ("b@example.com", "queued", ACTOR), ("bad", "skipped", None)]
    # Enqueued for a worker: this process never posts an invitation.
    assert posted_addresses(sandbox) == {}
    assert len(quiet.extensions["bulk_queue"].huey) == 1

    again = run(quiet, "status", str(job.id), "--json")
    assert again.exit_code == exits.DONE
    body = json.loads(again.stdout)
    assert (body["state"], body["total"], body["finished"], body["counts"]["waiting"], body["counts"]["skipped"]) == (
        "running", 2, 0, 2, 1)
    assert (body["state_words"], body["created_by"], body["exit_code_when_ended"]) == ("Sending", ACTOR, None)


def test_the_bulk_group_and_an_unknown_job(quiet):
    helped = run(quiet, "--help")
    assert helped.exit_code == 0 and "invite bulk wait JOB [--timeout SECONDS]" in helped.stdout
    missing = run(quiet, "status", "4242")
    assert missing.exit_code == exits.NOT_DONE and "There is no bulk job 4242." in missing.stderr
    not_a_number = run(quiet, "wait", "soon")
    assert not_a_number.exit_code == exits.USAGE


# ------------------------------------------------------------------------------------------ with a worker


def test_status_and_wait_to_the_end_then_retry_the_unknown_row(working, sandbox, tmp_path):
    app, worker = working
    started = run(app, write(tmp_path, "fine@example.com\nstatus500@example.com\n"), "--yes", "--json",
                  INVITE_ACTOR=ACTOR)
    assert started.exit_code == exits.DONE, started.output
    job_id = json.loads(started.stdout.splitlines()[-1])["job_id"]

    waited = run(app, "wait", str(job_id), "--timeout", "60")
    assert waited.exit_code == exits.UNKNOWN, (waited.output, worker.log()[-3000:])
    # Not a terminal: plain lines, no bar, no colour.
    assert waited.stdout.splitlines()[-1].startswith(f"Job {job_id}: Done: 2/2 rows done (1 sent, 1 unknown)")
    assert "\r" not in waited.stdout and "\x1b[" not in waited.output
    assert f"invite bulk retry-unknown {job_id}" in waited.stderr
    assert posted_addresses(sandbox) == {"fine@example.com": 1, "status500@example.com": 1}
    # The worker's sends name the person, the command line, and the account and machine it ran on.
    with app.app_context():
        sends = list(db.session.scalars(db.select(Action).where(Action.bulk_job_id == job_id)))
    assert {(a.actor_email, a.channel, a.os_user, a.host) for a in sends} == {
        (ACTOR, "cli", getpass.getuser(), socket.gethostname())}

    shown = run(app, "status", str(job_id))
    assert shown.exit_code == exits.DONE
    assert f"Job {job_id}: Done (100 %), started by {ACTOR}" in shown.stdout
    assert "Sent: 1  Already members: 0  Not sent: 0  Held back: 0  Unknown: 1  Waiting: 0" in shown.stdout
    assert "rows/min" in shown.stdout

    refused = run(app, "retry-unknown", str(job_id), "--yes")
    assert refused.exit_code == exits.USAGE
    declined = run(app, "retry-unknown", str(job_id), input="", INVITE_ACTOR=ACTOR)
    assert declined.exit_code == exits.NOT_DONE and "Retry the 1 unknown row of job" in declined.stderr
    with app.app_context():  # a retry within the send limit's minute would be held back, as any send
        for action in db.session.scalars(db.select(Action)):
            action.created_at = action.created_at - timedelta(minutes=2)
        db.session.commit()
    retried = run(app, "retry-unknown", str(job_id), "--yes", INVITE_ACTOR=ACTOR)
    assert retried.exit_code == exits.DONE, retried.output
    assert f"Sending the 1 unknown row of job {job_id} again." in retried.stdout
    again = run(app, "wait", str(job_id), "--timeout", "60")
    assert again.exit_code == exits.UNKNOWN  # the sandbox answers 500 for this address every time
    assert posted_addresses(sandbox) == {"fine@example.com": 1, "status500@example.com": 2}


def test_wait_exits_1_when_a_row_was_not_sent(working, sandbox, tmp_path):
    app, worker = working
    started = run(app, write(tmp_path, "status409@example.com\nok@example.com\n"), "--yes", INVITE_ACTOR=ACTOR)
    job_id = stored_jobs(app)[-1].id
    assert started.exit_code == exits.DONE
    waited = run(app, "wait", str(job_id), "--timeout", "60")
    assert waited.exit_code == exits.NOT_DONE, (waited.output, worker.log()[-3000:])
    assert "1 sent, 1 not sent" in waited.stderr


def test_wait_gives_up_after_its_timeout_and_the_job_goes_on(quiet, tmp_path):
    run(quiet, write(tmp_path, "later@example.com\n"), "--yes", INVITE_ACTOR=ACTOR)
    job_id = stored_jobs(quiet)[-1].id
    waited = run(quiet, "wait", str(job_id), "--timeout", "0.2")
    assert waited.exit_code == exits.NOT_DONE
    assert f"Job {job_id} is still sending after 0.2 s." in waited.stderr
    assert waited.stdout == f"Job {job_id}: Sending: 0/1 rows done\n"


# ------------------------------------------------------------------------------------------ the real command


def test_the_real_command_starts_a_job_a_real_worker_sends_and_wait_sees_it_done(sandbox, tmp_path):
    import subprocess

    from tests.conftest import make_app
    from tests.test_cli_process import _on_a_terminal, command_env

    url = f"sqlite:///{tmp_path / 'invite.db'}"
    name = queue_name()
    env = command_env(sandbox, url, BULK_QUEUE_NAME=name)
    app = make_app(env)
    app.extensions["upstream"].client.close()
    people = [f"person{i}@example.com" for i in range(12)]
    listed = write(tmp_path, "email,role,teams\n" + "".join(f"{p},team_admin,Cardiology\n" for p in people))

    def flask(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*FLASK, *args], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True,  # noqa: S603
                              stdin=subprocess.DEVNULL, timeout=120)

    worker = Worker(env, tmp_path / "worker.log").start()
    try:
        refused = flask("bulk", listed, "--yes")
        assert refused.returncode == exits.USAGE and "pass --as EMAIL" in refused.stderr
        dry = flask("bulk", listed, "--dry-run", "--json")
        assert dry.returncode == exits.DONE, dry.stderr
        assert json.loads(dry.stdout.splitlines()[-1])["to_send"] == 12
        assert posted_addresses(sandbox) == {}

        started = flask("bulk", listed, "--yes", "--as", ACTOR)
        assert started.returncode == exits.DONE, started.stderr
        assert started.stdout.startswith("12 rows: 12 ready.\n")
        job_id = int(started.stdout.split("Job ", 1)[1].split(" ", 1)[0])
        waited = flask("bulk", "wait", str(job_id), "--timeout", "90")
        assert waited.returncode == exits.DONE, (waited.stdout, waited.stderr, worker.log()[-3000:])
        assert f"Job {job_id} done: 12/12 rows done (12 sent), " in waited.stdout.splitlines()[-1]
        # On a terminal: a progress bar, and colour unless NO_COLOR.
        drawn = _on_a_terminal(env, "bulk", "wait", str(job_id))
        assert f"Job {job_id}  [########################]  100%  12/12 rows done (12 sent)" in drawn
        assert "\x1b[32m\x1b[1mJob" in drawn
        plain = _on_a_terminal({**env, "NO_COLOR": "1"}, "bulk", "wait", str(job_id))
        assert "[########################]" in plain and "\x1b[32m" not in plain and "\x1b[1m" not in plain
    finally:
        worker.stop()
        remove_queue_files(name)
    assert posted_addresses(sandbox) == dict.fromkeys(people, 1)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        sends = conn.execute(sa.text("SELECT actor_email, bulk_job_id FROM actions")).all()
    engine.dispose()
    assert set(sends) == {(ACTOR, job_id)} and len(sends) == 12


@pytest.fixture
def closed_port_url():
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_wait_exits_4_when_the_job_stopped_because_the_key_was_refused(sandbox, tmp_path):
    with running_bulk(sandbox, tmp_path, ADMIN_EMAILS=ACTOR,
                      worker_env={"JUNCTION_MANAGEMENT_KEY": "mg_not_the_sandbox_key"}) as (app, _client, workers):
        run(app, write(tmp_path, "one@example.com\ntwo@example.com\n"), "--yes", INVITE_ACTOR=ACTOR)
        job_id = stored_jobs(app)[-1].id
        waited = run(app, "wait", str(job_id), "--timeout", "60")
        assert waited.exit_code == exits.CONFIGURATION, (waited.output, workers[0].log()[-3000:])
        assert f"Job {job_id} stopped: 0/2 rows done" in waited.stderr
        assert "the key was refused" in waited.stderr and "mg_not_the_sandbox_key" not in waited.output
        assert {r.state for r in job_rows(app, job_id)} == {"queued"}  # kept for a resume
    assert sandbox.state.find_invite_by_email("one@example.com") is None


def test_wait_exits_5_when_rows_were_not_sent_because_junction_was_unreachable(sandbox, tmp_path,
                                                                                closed_port_url):
    with running_bulk(sandbox, tmp_path, ADMIN_EMAILS=ACTOR,
                      worker_env={"JUNCTION_API_BASE_URL": closed_port_url}) as (app, _client, workers):
        run(app, write(tmp_path, "far.away@example.com\n"), "--yes", INVITE_ACTOR=ACTOR)
        job_id = stored_jobs(app)[-1].id
        # Retried after 1, 2 and 4 s (the connection was never made), then recorded as not sent.
        waited = run(app, "wait", str(job_id), "--timeout", "60")
        assert waited.exit_code == exits.UNAVAILABLE, (waited.output, workers[0].log()[-3000:])
        assert f"Job {job_id} done: 1/1 rows done (1 not sent)" in waited.stderr
    assert posted_addresses(sandbox) == {}


# ------------------------------------------------------------------------------------------ ids and names


@pytest.fixture
def quiet_on_each_database(sandbox, tmp_path, database_url):
    with running_bulk(sandbox, tmp_path, database_url=database_url, workers=0, ADMIN_EMAILS=ACTOR) as (app, _, _w):
        yield app


@pytest.mark.parametrize("job_id", ["0", "2147483648", "99999999999999999999"])
def test_a_job_id_out_of_range_is_no_such_job_on_either_database(quiet_on_each_database, job_id):
    for args in (["status", job_id], ["status", job_id, "--json"], ["wait", job_id, "--timeout", "0"],
                 ["retry-unknown", job_id, "--yes"]):
        result = run(quiet_on_each_database, *args, INVITE_ACTOR=ACTOR)
        assert result.exit_code == exits.NOT_DONE, (args, result.output, result.exception)
        assert f"There is no bulk job {job_id}." in result.output, args
        assert result.exception is None or isinstance(result.exception, SystemExit), args


def test_a_file_name_with_terminal_escapes_and_bidi_controls_is_printed_clean(quiet, tmp_path):
    name = "evil\x1b[2J\x1b]0;owned\x07\u202etxt.csv"
    started = run(quiet, write(tmp_path, "someone@example.com\n", name=name), "--yes", "--json", INVITE_ACTOR=ACTOR)
    assert started.exit_code == exits.DONE, started.output
    job_id = json.loads(started.stdout.splitlines()[-1])["job_id"]

    shown = run(quiet, "status", str(job_id))
    assert shown.exit_code == exits.DONE, shown.output
    assert "evil[2J]0;ownedtxt.csv" in shown.stdout
    assert not {"\x1b", "\x07", "\u202e"} & set(shown.output)

    as_json = run(quiet, "status", str(job_id), "--json")
    assert not {"\x1b", "\x07", "\u202e"} & set(as_json.stdout)
    # stored cleaned (issue 20: cleaned like all other text), so programs get the same clean name
    assert "evil[2J]0;ownedtxt.csv" in json.loads(as_json.stdout)["source"]


def test_wait_with_json_prints_progress_objects_and_a_summary(quiet, tmp_path):
    started = run(quiet, write(tmp_path, "someone@example.com\n"), "--yes", "--json", INVITE_ACTOR=ACTOR)
    job_id = json.loads(started.stdout.splitlines()[-1])["job_id"]
    waited = run(quiet, "wait", str(job_id), "--timeout", "0", "--json")
    assert waited.exit_code == exits.NOT_DONE  # no worker here: still waiting when the timeout passes
    *progress, summary = [json.loads(line) for line in waited.stdout.splitlines()]
    assert [p["type"] for p in progress] == ["progress"] and progress[0]["id"] == job_id
    assert (summary["type"], summary["outcome"], summary["exit_code"], summary["job_id"]) == (
        "summary", "timeout", exits.NOT_DONE, job_id)
