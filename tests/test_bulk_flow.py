"""Bulk invites end to end: pages through Flask's test client, a real worker process, the sandbox over HTTP.

The worker is `python -m invite.bulk.worker` in a subprocess on the same database (SQLite here; the
PostgreSQL + Redis runs are in test_bulk_durability.py). Every assertion about what Junction received
reads the sandbox's own request log.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.bulk_support import _CSRF, _TOKEN, posted_addresses, preview_and_confirm, running_bulk, wait_for
from tests.conftest import TIMES_OUT_ON_SLOW


@pytest.fixture
def bulk(sandbox, tmp_path):
    # slow@ in the list must go unanswered in time (TIMES_OUT_ON_SLOW).
    with running_bulk(sandbox, tmp_path, BULK_CONCURRENCY="4", JUNCTION_TIMEOUT_SECONDS=TIMES_OUT_ON_SLOW) as (
            app, client, workers):
        yield app, client, workers[0]


def test_a_pasted_list_is_previewed_sent_once_and_reported(bulk, sandbox):
    app, client, worker = bulk
    text = "email,role,teams\nnew.one@example.com,team_admin,Cardiology\nnew.two@example.com,,\nnot-an-address,,\n"
    job_id = preview_and_confirm(client, text)
    status = wait_for(client, job_id, worker=worker)
    assert status["counts"]["sent"] == 2
    assert status["counts"]["skipped"] == 1
    assert posted_addresses(sandbox) == {"new.one@example.com": 1, "new.two@example.com": 1}
    page = client.get(f"/bulk/{job_id}").get_data(as_text=True)
    assert "Invitation sent" in page and "Done" in page


def _rows_by_email(client, job_id: int) -> dict[str, dict]:
    """The results CSV, by address: what the admin downloads."""
    body = client.get(f"/bulk/{job_id}.csv").get_data(as_text=True)
    return {row["email"].casefold(): row for row in csv.DictReader(io.StringIO(body))}


def test_every_outcome_in_plain_words_and_in_the_audit_trail(bulk, sandbox):
    app, client, worker = bulk
    member = sandbox.state.members[0]["email"]
    pending = sandbox.state.invites[-1]["email"]
    text = "\n".join([
        "fresh@example.com", "status409@example.com", "status500@example.com", "status502@example.com",
        "slow@example.com", "oddstatus@example.com", member, pending, "=cmd@example.com",
    ])
    job_id = preview_and_confirm(client, text)
    status = wait_for(client, job_id, worker=worker)
    rows = _rows_by_email(client, job_id)
    assert rows["fresh@example.com"]["outcome"] == "Invitation sent"
    assert rows["status409@example.com"]["outcome"] == "Not sent: conflict"
    # A 5xx or an unreadable answer may have taken effect: checked against List Invites, recorded unknown.
    for address in ("status500@example.com", "status502@example.com", "oddstatus@example.com"):
        assert rows[address]["outcome"] == "Unknown: may have been sent", rows[address]
    # No answer in time, but List Invites shows it sent just now: confirmed.
    assert rows["slow@example.com"]["outcome"] == "Sent (confirmed after no answer)"
    assert rows[member.casefold()]["outcome"] == "Skipped"
    assert rows[pending.casefold()]["outcome"] == "Skipped"
    assert status["counts"] == {"sent": 3, "already_member": 0, "not_sent": 1, "held_back": 0, "unknown": 3,
                                "waiting": 0, "cancelled": 0, "skipped": 2}
    # Never re-posted by itself: one POST per address sent, none for the skipped ones.
    assert set(posted_addresses(sandbox).values()) == {1}
    assert member.casefold() not in posted_addresses(sandbox)
    # The results CSV is formula-safe.
    assert "'=cmd@example.com" in client.get(f"/bulk/{job_id}.csv").get_data(as_text=True)
    # Each send is an audited action carrying the job and the person who confirmed it.
    trail = client.get(f"/activity?job={job_id}").get_data(as_text=True)
    assert trail.count("dev@localhost") >= 7 and "status409@example.com" in trail
    other = client.get(f"/activity?job={job_id + 100}").get_data(as_text=True)
    assert "status409@example.com" not in other


def test_a_422_is_mapped_to_the_rows_team_by_name(bulk, sandbox):
    app, client, worker = bulk
    page = client.get("/bulk").get_data(as_text=True)
    preview = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1),
                                                 "text": "gone.team@example.com,team_admin,Cardiology\n"
                                                         "kept@example.com,no_role,\n"})
    body = preview.get_data(as_text=True)
    assert "Send 2 invitations" in body
    # The team is deleted in Junction between the preview and the confirm.
    with sandbox.state.lock:
        sandbox.state.teams = [t for t in sandbox.state.teams if t["name"] != "Cardiology"]
    token = next(g for g in _TOKEN.search(body).groups() if g)
    answer = client.post("/bulk/confirm", data={"csrf_token": _CSRF.search(body).group(1), "token": token})
    job_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    wait_for(client, job_id, worker=worker)
    rows = _rows_by_email(client, job_id)
    assert rows["gone.team@example.com"]["outcome"] == "Not sent: Junction rejected a value"
    assert "teams: Team “Cardiology”: " in rows["gone.team@example.com"]["message"]
    assert rows["kept@example.com"]["outcome"] == "Invitation sent"
    page = client.get(f"/bulk/{job_id}").get_data(as_text=True)
    assert 'Team “Cardiology”: Value error' in page


def test_confirming_twice_starts_one_job(bulk, sandbox):
    app, client, worker = bulk
    page = client.get("/bulk").get_data(as_text=True)
    body = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1),
                                              "text": "once@example.com\ntwice@example.com\n"}).get_data(as_text=True)
    token = next(g for g in _TOKEN.search(body).groups() if g)
    form = {"csrf_token": _CSRF.search(body).group(1), "token": token}
    first = client.post("/bulk/confirm", data=form)
    second = client.post("/bulk/confirm", data=form)
    assert first.headers["Location"] == second.headers["Location"]
    job_id = int(first.headers["Location"].rsplit("/", 1)[1])
    wait_for(client, job_id, worker=worker)
    assert posted_addresses(sandbox) == {"once@example.com": 1, "twice@example.com": 1}
    listing = client.get("/bulk").get_data(as_text=True)
    assert listing.count(f"Job {job_id}<") == 1 and f"Job {job_id + 1}<" not in listing


def test_pending_rows_are_resent_only_when_chosen(bulk, sandbox):
    app, client, worker = bulk
    pending = sandbox.state.invites[-1]["email"]  # seeded months ago: outside the cooldown
    job_id = preview_and_confirm(client, f"{pending}\nbrand.new@example.com\n", resend=True)
    wait_for(client, job_id, worker=worker)
    rows = _rows_by_email(client, job_id)
    assert rows[pending.casefold()]["outcome"] == "Sent again"
    assert rows["brand.new@example.com"]["outcome"] == "Invitation sent"


def test_bad_input_says_what_is_wrong_and_stores_nothing(bulk):
    app, client, worker = bulk
    page = client.get("/bulk").get_data(as_text=True)
    answer = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1), "text": "email\n"})
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "Nothing was stored or sent." in body and 'role="alert"' in body
    assert "No bulk job yet." in body


def test_a_file_over_the_limit_gets_one_clear_message(bulk):
    app, client, worker = bulk
    page = client.get("/bulk").get_data(as_text=True)
    big = io.BytesIO(b"someone@example.com\n" * 60_000)  # 1.2 MB
    answer = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1), "text": "",
                                                "file": (big, "big.csv")}, content_type="multipart/form-data")
    assert answer.status_code == 422
    body = answer.get_data(as_text=True)
    assert "Nothing was stored or sent." in body and "1 MB" in body
    huge = io.BytesIO(b"x" * 4_300_000)  # past the app's 4 MB cap on any request body
    answer = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1),
                                                "file": (huge, "huge.csv")}, content_type="multipart/form-data")
    assert answer.status_code == 413 and "split it into smaller files" in answer.get_data(as_text=True)


def test_unconfirmed_previews_are_deleted_after_a_day(bulk):
    from datetime import timedelta

    from invite.adapters.storage import db
    from invite.adapters.unit_of_work import FLASK
    from invite.bulk import jobs
    from invite.bulk.models import BulkJob
    from invite.services.actions import Actor

    app, client, worker = bulk
    with app.app_context():
        old = jobs.create_draft(FLASK, [jobs.DraftRow(1, "old@example.com", None, [], "ready", None, True)],
                                Actor("a@b"))
        db.session.execute(db.update(BulkJob).where(BulkJob.id == old.id)
                           .values(created_at=jobs.utcnow() - timedelta(days=2)))
        db.session.commit()
        fresh = jobs.create_draft(FLASK, [jobs.DraftRow(1, "new@example.com", None, [], "ready", None, True)],
                                  Actor("a@b"))
        tokens = set(db.session.scalars(db.select(BulkJob.token)))
        assert tokens == {fresh.token}


def _age_the_trail(app, minutes: int) -> None:
    from datetime import timedelta

    from invite.adapters.storage import Action, db

    with app.app_context():
        for row in db.session.scalars(db.select(Action)):
            row.created_at = row.created_at - timedelta(minutes=minutes)
        db.session.commit()


def test_retry_the_unknown_rows_is_an_explicit_confirmed_action(bulk, sandbox):
    app, client, worker = bulk
    job_id = preview_and_confirm(client, "status500@example.com\nfine@example.com\n")
    wait_for(client, job_id, worker=worker)
    assert posted_addresses(sandbox) == {"status500@example.com": 1, "fine@example.com": 1}
    page = client.get(f"/bulk/{job_id}").get_data(as_text=True)
    assert "Retry the 1 unknown row" in page
    _age_the_trail(app, minutes=2)  # a retry within the send limit's minute would be held back, as any send
    confirm = client.get(f"/bulk/{job_id}/retry-unknown").get_data(as_text=True)
    assert "may resend an invitation that did arrive" in confirm
    answer = client.post(f"/bulk/{job_id}/retry-unknown", data={"csrf_token": _CSRF.search(confirm).group(1)})
    assert answer.status_code == 303
    done = wait_for(client, job_id, worker=worker)
    # Only the unknown row went out again; the sent one was left alone.
    assert posted_addresses(sandbox) == {"status500@example.com": 2, "fine@example.com": 1}
    assert done["counts"]["unknown"] == 1 and done["counts"]["sent"] == 1


def test_rows_that_name_no_role_get_no_role_unless_the_admin_chooses(sandbox, tmp_path):
    """Least privilege (issue #8's rule for the form): the page's default is No role, listed first."""
    with running_bulk(sandbox, tmp_path, workers=0) as (_app, client, _workers):
        page = client.get("/bulk").get_data(as_text=True)
        select = re.search(r'<select id="default_role".*?</select>', page, re.S).group(0)
        assert re.findall(r'<option value="(\w+)"', select) == ["no_role", "team_admin", "org_admin"]
        assert re.findall(r'<option value="(\w+)" selected', select) == ["no_role"]

        def role_of_a_row_without_one(**chosen: str) -> str:
            body = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1),
                                                      "text": "quiet@example.com\n", **chosen}).get_data(as_text=True)
            return re.search(r'<td data-label="Role">([^<]*)</td>', body).group(1)

        assert role_of_a_row_without_one() == "No role"
        assert role_of_a_row_without_one(default_role="no_role") == "No role"
        assert role_of_a_row_without_one(default_role="org_admin") == "Org admin"


# --- one row fixed in place (issue 23, finding 2): checked again by the server, numbers kept ---------------


def _preview(client, text: str) -> str:
    page = client.get("/bulk").get_data(as_text=True)
    answer = client.post("/bulk/preview", data={"csrf_token": _CSRF.search(page).group(1), "text": text})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    return answer.get_data(as_text=True)


_ANSWERS: list = []  # each _fix's own answer (the 303), for its headers


def _fix(client, body: str, number: int, change: str, page: int = 1, **cells: str):
    """Post row `number`'s own form from the preview `body` (page `page`); the redirect and where it leads."""
    token = next(g for g in _TOKEN.search(body).groups() if g)
    answer = client.post("/bulk/row", data={"csrf_token": _CSRF.search(body).group(1), "token": token,
                                            "row": str(number), "page": str(page), "change": change, **cells})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    _ANSWERS.append(answer)
    return answer.headers["Location"], client.get(answer.headers["Location"]).get_data(as_text=True)


def _verdicts(body: str) -> dict[int, str]:
    return {int(n): v for v, n in re.findall(r'<tr id="row-(?:\d+)" class="verdict-(\w+)[^"]*"[^>]*>\s*'
                                             r'<td data-label="Row">(\d+)</td>', body)}


def _list_calls(sandbox, since: int) -> list[tuple[str, str | None, str | None]]:
    return [(e["path"].rsplit("/", 1)[1], (e["query"].get("search_query") or [None])[0],
             (e["query"].get("next_cursor") or [None])[0])
            for e in sandbox.state.requests_log()[since:]
            if e["method"] == "GET" and e["path"].endswith(("/member", "/invite"))]


def test_a_row_fixed_in_place_is_checked_again_alone_and_keeps_its_number(sandbox, tmp_path):
    member = sandbox.state.members[0]["email"]
    pending = sandbox.state.invites[-1]["email"]
    text = "\n".join(["email,role,teams", "first@example.com,team_admin,Cardiology", "typo@example.com,admin,Cardio",
                      member, pending, "FIRST@example.com,no_role,", "broken-address,no_role,"]) + "\n"
    with running_bulk(sandbox, tmp_path, workers=0) as (_app, client, _workers):
        body = _preview(client, text)
        assert _verdicts(body) == {2: "ready", 3: "invalid_role", 4: "already_member", 5: "already_pending",
                                   6: "duplicate", 7: "invalid_email"}

        # Row 3's cells changed: the server checks that row alone against Junction, its address searched.
        before = len(sandbox.state.requests_log())
        where, body = _fix(client, body, 3, "check", email="Typo@example.com", role="team_admin",
                           teams="Cardiology")
        assert re.search(r"/bulk/preview/\d+\?page=1&row=3#row-3$", where)
        assert _verdicts(body) == {2: "ready", 3: "ready", 4: "already_member", 5: "already_pending",
                                   6: "duplicate", 7: "invalid_email"}
        assert "Row 3 was checked again and is ready to send." in body
        searched = {query for _, query, _ in _list_calls(sandbox, before) if query}
        assert searched == {"Typo@example.com"}  # not the member's, not the pending one's: the draft knew those
        assert all(cursor is None for _, _, cursor in _list_calls(sandbox, before))  # never a walk
        made = len(_list_calls(sandbox, before))
        assert f'desc="Junction, {made} calls"' in _ANSWERS[-1].headers["Server-Timing"]  # pool threads' too
        assert "Send 2 invitations" in body and "and resend 1 pending" in body  # the pending row kept its choice

        # Row 2 removed: row 6 was its duplicate, is now the address's first row, and so is checked.
        before = len(sandbox.state.requests_log())
        where, body = _fix(client, body, 2, "remove")
        assert where.endswith("#fix-notice") and "Removed row 2 (first@example.com)" in body
        assert _verdicts(body) == {3: "ready", 4: "already_member", 5: "already_pending", 6: "ready",
                                   7: "invalid_email"}
        assert {query for _, query, _ in _list_calls(sandbox, before) if query} == {"FIRST@example.com"}

        # A form for a row that is gone says so; a made-up token is refused.
        where, stale = _fix(client, body, 2, "remove")
        assert "Row 2 is not in this preview any more" in stale
        token_free = client.post("/bulk/row", data={"csrf_token": _CSRF.search(body).group(1), "token": "0" * 32,
                                                    "row": "3", "change": "remove"})
        assert token_free.status_code == 303 and token_free.headers["Location"].endswith("/bulk")
        assert posted_addresses(sandbox) == {}  # nothing is sent by fixing


def test_a_rows_suggested_team_is_taken_in_one_click_and_the_last_row_cannot_be_removed(sandbox, tmp_path):
    with running_bulk(sandbox, tmp_path, workers=0) as (_app, client, _workers):
        body = _preview(client, "email,role,teams\nalone@example.com,team_admin,Cardiolgy\n")
        assert _verdicts(body) == {2: "unknown_team"} and "Use Cardiology" in body
        _, body = _fix(client, body, 2, "accept")
        assert _verdicts(body) == {2: "ready"} and "Send 1 invitation" in body
        where, _ = _fix(client, body, 2, "remove")
        assert where.endswith("/bulk")  # nothing left to preview: back to the list page, which says so


def test_a_long_preview_is_shown_a_hundred_rows_a_page_problems_first_and_a_fix_lands_on_its_rows_page(
        sandbox, tmp_path):
    lines = ["email,role,teams"] + [f"page.{i:03d}@example.com,no_role," for i in range(150)]
    lines[119] = "broken-119,no_role,"  # rows 120 and 141 have problems: they lead page 1
    lines[140] = "page.000@example.com,no_role,"
    with running_bulk(sandbox, tmp_path, workers=0) as (_app, client, _workers):
        body = _preview(client, "\n".join(lines) + "\n")
        numbers = [int(n) for n in re.findall(r'<td data-label="Row">(\d+)</td>', body)]
        assert numbers[:3] == [120, 141, 2] and len(numbers) == 100
        assert "Page 1 of 2" in body and "Next 100" in body and "150 rows" in body
        # The whole list is still in the edit box, each row on its line.
        box = re.search(r'<textarea[^>]*>(.*?)</textarea>', body, re.S).group(1).split("\n")
        assert box[0] == "email,role,teams" and box[149].startswith("page.148@")

        page2 = client.get(re.search(r'href="(/bulk/preview/\d+\?page=2)#rows" rel="next"', body).group(1))
        page2 = page2.get_data(as_text=True)
        assert 'id="row-130"' in page2 and "Previous 100" in page2
        where, page2 = _fix(client, page2, 130, "check", page=2, email="page.128@example.com", role="org_admin",
                            teams="")
        assert re.search(r"page=2&row=130#row-130$", where)
        assert '<tr id="row-130" class="verdict-ready just-fixed"' in page2
        assert re.search(r'<tr id="row-130"[^>]*>.*?<td data-label="Role">Org admin</td>', page2, re.S)
