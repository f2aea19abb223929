"""Who may do what, through the real app: identity from the SSO proxy's headers, roles from groups/emails.

Every refused request is checked to have reached neither the view nor Junction (the sandbox saw nothing).
"""

from __future__ import annotations

import html
import json
import logging
from datetime import timedelta

import pytest
from conftest import app_env, form_tokens, make_app

from invite.adapters.logs import JsonLogFormatter
from invite.adapters.storage import Action, db

PROXY = "10.0.0.5"
ADMIN = {"X-Forwarded-Email": "ada@corp.example", "X-Forwarded-Groups": "staff,junction-admins"}
SUPPORT = {"X-Forwarded-Email": "sam@corp.example", "X-Forwarded-Groups": "staff,helpdesk"}
NOBODY = {"X-Forwarded-Email": "eve@corp.example", "X-Forwarded-Groups": "staff"}


@pytest.fixture
def app(sandbox, tmp_path):
    return make_app(app_env(
        sandbox, f"sqlite:///{tmp_path / 'access.db'}",
        AUTH_MODE="header", AUTH_TRUSTED_PROXIES="10.0.0.0/24",
        ADMIN_GROUPS="junction-admins", SUPPORT_GROUPS="helpdesk", SUPPORT_EMAILS="Temp.Helper@corp.example",
    ))


def as_(app, headers, peer=PROXY):
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": peer, **{f"HTTP_{k.upper().replace('-', '_')}": v
                                                         for k, v in headers.items()}})
    return client


def junction_calls(sandbox):
    return len(sandbox.state.requests_log())


def pending_invite(sandbox):
    with sandbox.state.lock:
        return dict(sandbox.state.invites[0])


def test_no_identity_gets_the_sign_in_page_and_junction_is_not_called(app, sandbox):
    for path in ["/", "/activity", "/invitations", "/members", "/sent/AAAAAAAAAAAAAAAAAAAAAAAA", "/nowhere"]:
        response = as_(app, {}).get(path)
        assert response.status_code == 401, path
        assert "sign in" in response.get_data(as_text=True).lower()
    response = as_(app, {}).post("/", data={"email": "x@example.org", "role": "org_admin"})
    assert response.status_code == 401
    assert junction_calls(sandbox) == 0


def test_headers_from_an_untrusted_peer_are_refused(app, sandbox):
    response = as_(app, ADMIN, peer="203.0.113.50").get("/")
    assert response.status_code == 401
    assert junction_calls(sandbox) == 0


def test_health_checks_need_no_identity(app):
    assert as_(app, {}, peer="203.0.113.50").get("/healthz").status_code == 200


def test_signed_in_without_a_role_gets_403_naming_the_granting_groups(app, sandbox):
    response = as_(app, NOBODY).get("/invitations")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "junction-admins" in text and "helpdesk" in text
    assert "Temp.Helper" not in text and "temp.helper" not in text  # emails are not advertised
    assert junction_calls(sandbox) == 0


def test_header_shows_who_is_signed_in_and_their_role(app):
    text = as_(app, SUPPORT).get("/invitations").get_data(as_text=True)
    assert "sam@corp.example" in text and ">support<" in text
    assert as_(app, {"X-Forwarded-Email": "TEMP.helper@corp.example"}).get("/members").status_code == 200


def test_support_cannot_send_or_revoke_by_any_route_and_junction_is_not_called(app, sandbox):
    admin = as_(app, ADMIN)
    page = admin.get("/").get_data(as_text=True)  # a real form, so CSRF is not what refuses
    support = as_(app, SUPPORT)
    with support.session_transaction() as s, admin.session_transaction() as a:
        s.update(a)
    invite = pending_invite(sandbox)
    before = junction_calls(sandbox)
    attempts = [
        support.post("/", data={**form_tokens(page), "email": "x@example.org", "role": "org_admin"}),
        support.post("/teams/refresh", data=form_tokens(page)),
        support.get(f"/invitations/{invite['id']}/revoke?email={invite['email']}"),
        support.post(f"/invitations/{invite['id']}/revoke",
                     data={**form_tokens(page), "email": invite["email"]}),
    ]
    assert [r.status_code for r in attempts] == [403, 403, 403, 403]
    assert junction_calls(sandbox) == before
    assert "send new invitations" in html.unescape(attempts[0].get_data(as_text=True))


def test_support_lands_on_invitations_without_send_controls(app, sandbox):
    support = as_(app, SUPPORT)
    landing = support.get("/")
    assert landing.status_code == 302 and landing.headers["Location"].endswith("/invitations")
    text = support.get("/invitations").get_data(as_text=True)
    assert "Resend" in text
    assert "Revoke" not in text
    assert 'href="/"' not in text  # no "Invite" in the navigation


def test_admin_can_send_and_the_trail_records_who(app, sandbox):
    admin = as_(app, ADMIN)
    page = admin.get("/").get_data(as_text=True)
    response = admin.post("/", data={**form_tokens(page), "email": "new@example.org", "role": "no_role"},
                          environ_overrides={"REMOTE_ADDR": PROXY})
    assert response.status_code == 303
    result = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sent by</dt><dd>ada@corp.example (admin)" in result
    activity = admin.get("/activity").get_data(as_text=True)
    assert "ada@corp.example" in activity and "new@example.org" in activity


def test_each_audit_record_is_one_json_log_line(app, sandbox):
    lines = []

    class Capture(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(JsonLogFormatter().format(record)))

    handler = Capture()
    logger = logging.getLogger("invite.audit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        admin = as_(app, ADMIN)
        page = admin.get("/").get_data(as_text=True)
        admin.post("/", data={**form_tokens(page), "email": "logged@example.org", "role": "no_role"},
                   headers={"X-Request-Id": "req-audit-1"})
    finally:
        logger.removeHandler(handler)
    assert [entry["audit"] for entry in lines] == ["started", "completed"]
    done = lines[1]
    assert done["actor_email"] == "ada@corp.example" and done["actor_role"] == "admin"
    assert done["action"] == "send" and done["target_email"] == "logged@example.org"
    assert done["outcome"] == "invite_created" and done["http_status"] == 200
    assert done["request_id"] == "req-audit-1" and done["client_addr"] == PROXY
    assert lines[0]["outcome"] == "unknown"  # recorded before Junction answered


def test_invitations_list_names_who_sent_and_who_last_resent_from_the_trail(app, sandbox):
    from test_support_flow import resend_form, set_last_sent

    admin = as_(app, ADMIN)
    page = admin.get("/").get_data(as_text=True)
    admin.post("/", data={**form_tokens(page), "email": "traced@example.org", "role": "no_role"})
    text = html.unescape(admin.get("/invitations?q=traced@example.org").get_data(as_text=True))
    assert 'ada@corp.example<span class="via">through this dashboard</span>' in text
    assert "last resent by" not in text

    set_last_sent(sandbox, "traced@example.org", minutes_ago=60, resent=False)  # outside the cooldown
    with app.app_context():  # and so is our own record of it (resends of an address are limited, #13)
        for row in db.session.scalars(db.select(Action)):
            row.created_at -= timedelta(minutes=60)
        db.session.commit()
    support = as_(app, SUPPORT)
    invite_id, fields = resend_form(support, "traced@example.org")
    assert support.post(f"/invitations/{invite_id}/resend", data=fields).status_code == 303
    text = html.unescape(support.get("/invitations?q=traced@example.org").get_data(as_text=True))
    assert "last resent by sam@corp.example" in text
    # Invitations sent outside this dashboard (the seeded ones) get no attribution.
    first_page = html.unescape(support.get("/invitations").get_data(as_text=True))
    assert "traced@example.org" in first_page
    assert first_page.count("through this dashboard") == 1


def test_jwt_mode_through_the_real_app(sandbox, tmp_path):
    """A signed assertion from the proxy, verified against its JWKS on loopback, lets an admin send;
    a tampered one is refused before Junction hears of it."""
    from test_auth_jwt import AUDIENCE, HEADER, ISSUER, RSA, JwksServer, public_jwk, sign

    with JwksServer() as jwks:
        jwks.keys = [public_jwk(RSA, "rsa-1", "RS256")]
        app = make_app(app_env(
            sandbox, f"sqlite:///{tmp_path / 'jwt.db'}", AUTH_MODE="jwt", AUTH_JWT_HEADER=HEADER,
            AUTH_JWKS_URL=jwks.url, AUTH_JWT_AUDIENCE=AUDIENCE, AUTH_JWT_ISSUER=ISSUER,
            ADMIN_GROUPS="invite-admins",
        ))
        token = sign()
        header, payload, signature = token.split(".")
        tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
        assert app.test_client().get("/", headers={HEADER: tampered}).status_code == 401
        assert junction_calls(sandbox) == 0

        client = app.test_client()
        client.environ_base[f"HTTP_{HEADER.upper().replace('-', '_')}"] = token
        page = client.get("/").get_data(as_text=True)
        response = client.post("/", data={**form_tokens(page), "email": "jwt@example.org", "role": "no_role"})
        assert response.status_code == 303
        assert "Sent by</dt><dd>ada@example.com (admin)" in client.get(response.headers["Location"]).get_data(
            as_text=True)


def test_each_person_sees_their_own_header_and_section_though_headers_are_kept(app):
    """The shared header is rendered once per person, section and mount point (invite/web/layout.py, issue 12)."""
    import re

    def header(client, path):
        page = client.get(path).get_data(as_text=True)
        return re.search(r'<header class="site-header">.*?</header>', page, re.S).group(0)

    admin, support = as_(app, ADMIN), as_(app, SUPPORT)
    for _ in range(2):  # the second round is served from what the first kept
        on_form = header(admin, "/")
        assert "ada@corp.example" in on_form and ">Invite</a>" in on_form and "Bulk invite" in on_form
        assert re.search(r'href="/"\s+aria-current="page">Invite<', on_form)
        on_members = header(admin, "/members")
        assert re.search(r'href="/members"\s+aria-current="page">Members<', on_members)
        assert 'aria-current="page">Invite<' not in on_members
        desk = header(support, "/invitations")
        assert "sam@corp.example" in desk and "ada@corp.example" not in desk
        assert ">Invite</a>" not in desk and "Bulk invite" not in desk  # support cannot send
