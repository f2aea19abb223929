"""The member pages through the real app, the real client and the sandbox on loopback: the member's page for
support people and admins, the change (pre-filled, Team admin needs a team, before → after, once), the
removal (naming what they lose), asking once more for your own membership, and the guards' words."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from conftest import app_env, form_tokens, make_app
from werkzeug.datastructures import MultiDict

from invite.adapters.storage import Action, db

PROXY = "10.0.0.7"
ADMIN = {"X-Forwarded-Email": "ada@corp.example", "X-Forwarded-Groups": "staff,junction-admins"}
SUPPORT = {"X-Forwarded-Email": "sam@corp.example", "X-Forwarded-Groups": "staff,helpdesk"}
DANA = {"X-Forwarded-Email": "dana.whitfield@acmehealth.com", "X-Forwarded-Groups": "junction-admins"}


@pytest.fixture
def app(sandbox, tmp_path):
    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'members.db'}", AUTH_MODE="header",
                           AUTH_TRUSTED_PROXIES="10.0.0.0/24", ADMIN_GROUPS="junction-admins",
                           SUPPORT_GROUPS="helpdesk"))
    yield app
    app.extensions["upstream"].client.close()


def as_(app, headers):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": PROXY, **{f"HTTP_{k.upper().replace('-', '_')}": v
                                                         for k, v in headers.items()}})
    return client


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def hidden(page: str) -> MultiDict:
    return MultiDict([(n, html.unescape(v))
                      for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)])


def member(sandbox, name: str) -> dict:
    return next(m for m in sandbox.state.members if m["name"] == name)


def team_id(sandbox, name: str) -> str:
    return next(t["id"] for t in sandbox.state.teams if t["name"] == name)


def patches(sandbox) -> int:
    return sum(1 for r in sandbox.state.requests_log() if r["method"] in ("PATCH", "DELETE"))


def test_every_row_of_members_links_to_the_members_page(app, sandbox):
    page = as_(app, SUPPORT).get("/members").get_data(as_text=True)
    for m in sandbox.state.find_members()[:sandbox.state.page_size]:
        assert f'href="/members/{m["id"]}"' in page


def test_support_sees_the_page_without_actions_and_cannot_reach_them(app, sandbox):
    priya = member(sandbox, "Priya Natarajan")
    response = as_(app, SUPPORT).get(f"/members/{priya['id']}")
    shown = text(response)
    assert response.status_code == 200
    for words in ("Priya Natarajan", "priya.natarajan@acmehealth.com", "Team admin",
                  "Cardiology, Remote Patient Monitoring", "2026-01-21 14:03 UTC", "Not through this dashboard"):
        assert words in shown
    assert "Change role and teams" not in shown and "Remove from the org" not in shown
    assert as_(app, SUPPORT).get(f"/members/{priya['id']}/change").status_code == 403
    assert as_(app, SUPPORT).post(f"/members/{priya['id']}/remove").status_code in (400, 403)
    assert as_(app, ADMIN).get(f"/members/{uuid.uuid4()}").status_code == 404


def test_who_invited_them_and_their_history_come_from_the_trail(app, sandbox):
    admin = as_(app, ADMIN)
    page = admin.get("/").get_data(as_text=True)
    admin.post("/", data={**form_tokens(page), "email": "new.hire@acmehealth.com", "role": "no_role"})
    new = sandbox.state.add_member("New Hire", "new.hire@acmehealth.com")
    shown = text(admin.get(f"/members/{new['id']}"))
    assert "ada@corp.example, through this dashboard" in shown
    assert "Invitation as No role ada@corp.example Invitation sent" in shown


def change_through_pages(app, headers, sandbox, m: dict, role: str, teams: list[str], *, confirm_self=False,
                         client=None):
    client = client or as_(app, headers)
    form = client.get(f"/members/{m['id']}/change").get_data(as_text=True)
    fields = hidden(form)
    fields.setlist("role", [role])
    fields.setlist("teams", teams)
    review = client.post(f"/members/{m['id']}/change", data=fields)
    if review.status_code != 200:
        return review, None
    data = hidden(review.get_data(as_text=True))
    if confirm_self:
        data.add("confirm_self", "y")
    return review, client.post(f"/members/{m['id']}/change/confirm", data=data, follow_redirects=True)


def test_a_change_is_reviewed_as_before_and_after_then_made_once(app, sandbox):
    sam = member(sandbox, "Sam O'Connor")
    form = as_(app, ADMIN).get(f"/members/{sam['id']}/change").get_data(as_text=True)
    assert re.search(r'<option value="no_role" selected>', form)  # pre-filled with what they are
    client = as_(app, ADMIN)
    review, done = change_through_pages(app, ADMIN, sandbox, sam, "team_admin", [team_id(sandbox, "Cardiology")],
                                        client=client)
    assert "Before No role After Team admin : Cardiology" in text(review)
    assert done.status_code == 200
    assert "Role and teams changed" in text(done) and "Changed Sam O'Connor: Team admin of Cardiology." in text(done)
    assert sandbox.state.get_member(uuid.UUID(sam["id"]))["role"] == "team_admin"
    again = client.post(f"/members/{sam['id']}/change/confirm", data=hidden(review.get_data(as_text=True)),
                        follow_redirects=True)
    assert "Role and teams changed" in text(again)
    assert patches(sandbox) == 1
    history = text(client.get(f"/members/{sam['id']}"))
    assert ("Changed role and teams No role → Team admin of Cardiology ada@corp.example Role and teams changed"
            in history)


def test_a_team_admin_needs_a_team(app, sandbox):
    sam = member(sandbox, "Sam O'Connor")
    review, _ = change_through_pages(app, ADMIN, sandbox, sam, "team_admin", [])
    assert review.status_code == 422
    assert "A Team admin needs at least one team" in text(review)
    assert patches(sandbox) == 0


def test_the_already_a_member_result_offers_the_change_pre_filled(app, sandbox):
    admin = as_(app, ADMIN)
    page = admin.get("/").get_data(as_text=True)
    cardiology = team_id(sandbox, "Cardiology")
    result = admin.post("/", data={**form_tokens(page), "email": "sam.oconnor@acmehealth.com", "role": "team_admin",
                                   "teams": cardiology}, follow_redirects=True).get_data(as_text=True)
    sam = member(sandbox, "Sam O'Connor")
    assert f'href="/members/{sam["id"]}"' in result
    link = html.unescape(re.search(r'href="(/members/[^"]+/change\?[^"]+)"', result).group(1))
    form = admin.get(link).get_data(as_text=True)
    assert '<option value="team_admin" selected>' in form
    assert f'value="{cardiology}" id="team-{cardiology}" checked' in form


def test_removal_names_what_they_lose_and_removes_once(app, sandbox):
    priya = member(sandbox, "Priya Natarajan")
    client = as_(app, ADMIN)
    confirm = client.get(f"/members/{priya['id']}/remove")
    shown = text(confirm)
    assert "Remove Priya Natarajan from the org?" in shown
    assert "loses their access to the org at once (Team admin; Cardiology, Remote Patient Monitoring)" in shown
    assert 'class="danger">Remove Priya Natarajan' in confirm.get_data(as_text=True)
    data = hidden(confirm.get_data(as_text=True))
    done = client.post(f"/members/{priya['id']}/remove", data=data, follow_redirects=True)
    assert "Removed Priya Natarajan (priya.natarajan@acmehealth.com) from the org." in text(done)
    assert "Before: Team admin of Cardiology and Remote Patient Monitoring. They no longer have access" in text(done)
    client.post(f"/members/{priya['id']}/remove", data=data, follow_redirects=True)
    assert patches(sandbox) == 1
    assert sandbox.state.get_member(uuid.UUID(priya["id"])) is None


def test_your_own_membership_asks_once_more_in_words(app, sandbox):
    dana = member(sandbox, "Dana Whitfield")
    client = as_(app, DANA)
    confirm = client.get(f"/members/{dana['id']}/remove")
    assert "This is your own membership." in text(confirm)
    data = hidden(confirm.get_data(as_text=True))
    refused = client.post(f"/members/{dana['id']}/remove", data=data)
    assert refused.status_code == 422 and "Tick the box to say you mean it" in text(refused)
    assert patches(sandbox) == 0
    _, done = change_through_pages(app, DANA, sandbox, dana, "no_role", [], confirm_self=True)
    assert "Changed Dana Whitfield: No role." in text(done)


def test_the_last_org_admin_is_refused_in_plain_words(app, sandbox):
    sandbox.state.update_member(uuid.UUID(member(sandbox, "Marcus Oyelaran")["id"]), "no_role", None)
    dana = member(sandbox, "Dana Whitfield")
    client = as_(app, ADMIN)
    data = hidden(client.get(f"/members/{dana['id']}/remove").get_data(as_text=True))
    done = text(client.post(f"/members/{dana['id']}/remove", data=data, follow_redirects=True))
    assert "Not removed: the org's last Org admin" in done
    assert "Make someone else an Org admin first" in done
    assert patches(sandbox) == 0


def test_a_change_made_meanwhile_is_not_applied_and_the_page_says_what_is_there(app, sandbox):
    sam = member(sandbox, "Sam O'Connor")
    client = as_(app, ADMIN)
    data = hidden(client.get(f"/members/{sam['id']}/remove").get_data(as_text=True))
    sandbox.state.update_member(uuid.UUID(sam["id"]), "org_admin", None)
    done = text(client.post(f"/members/{sam['id']}/remove", data=data, follow_redirects=True))
    assert "Not removed: changed meanwhile" in done
    assert "It was No role; it is now Org admin." in done and "Now in Junction Org admin" in done
    assert sandbox.state.get_member(uuid.UUID(sam["id"])) is not None
    with app.app_context():
        row = db.session.scalars(db.select(Action)).one()
        assert (row.action, row.outcome_kind, row.actor_email) == ("remove_member", "changed_meanwhile",
                                                                   "ada@corp.example")


def test_a_forged_token_changes_nothing(app, sandbox):
    sam = member(sandbox, "Sam O'Connor")
    client = as_(app, ADMIN)
    data = hidden(client.get(f"/members/{sam['id']}/remove").get_data(as_text=True))
    other = member(sandbox, "Jordan Blake")
    response = client.post(f"/members/{other['id']}/remove", data=data)
    assert response.status_code == 303 and "notice=expired" in response.headers["Location"]
    assert patches(sandbox) == 0


def test_activity_filters_and_its_csv_know_the_new_actions(app, sandbox):
    test_removal_names_what_they_lose_and_removes_once(app, sandbox)
    client = as_(app, ADMIN)
    page = client.get("/activity")
    assert '<option value="update_member">Changed role and teams</option>' in page.get_data(as_text=True)
    assert '<option value="remove_member">Removed from the org</option>' in page.get_data(as_text=True)
    listed = text(client.get("/activity?action=remove_member"))
    assert "Removed from the org priya.natarajan@acmehealth.com" in listed
    exported = client.get("/activity.csv?action=remove_member").get_data(as_text=True)
    assert ",remove_member,priya.natarajan@acmehealth.com,team_admin," in exported
    assert exported.rstrip().endswith("Removed from the org")
    assert text(client.get("/activity?action=update_member")).count("priya.natarajan@acmehealth.com") == 0


def test_junctions_422_on_a_change_comes_back_under_its_field_on_the_form(app, sandbox):
    """A team the org does not have (posted past the review): Junction's 422 is shown under Teams, on the
    change form as it was posted, and nothing was changed."""
    sam = member(sandbox, "Sam O'Connor")
    client = as_(app, ADMIN)
    fields = hidden(client.get(f"/members/{sam['id']}/change").get_data(as_text=True))
    fields.setlist("role", ["team_admin"])
    fields.setlist("teams", [team_id(sandbox, "Cardiology")])
    review = client.post(f"/members/{sam['id']}/change", data=fields)
    assert review.status_code == 200
    fields = hidden(review.get_data(as_text=True))
    fields.setlist("teams", ["00000000-0000-4000-8000-000000000000"])
    answer = client.post(f"/members/{sam['id']}/change/confirm", data=fields)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(r'<p class="error-message" id="teams-error">[^<]+</p>', page), page
    assert "Junction did not accept this change" in text(answer)
    assert sandbox.state.get_member(uuid.UUID(sam["id"]))["role"] == "no_role"
