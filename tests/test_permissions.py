"""Roles, can() and @require, on a small app shaped like the dashboard (this file also hosts that app).

Header mode supplies the identity here because it lets each request be a different person.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from flask import Blueprint, Flask, jsonify, render_template_string

from invite.auth import PERMISSIONS, current_identity, init_auth, load_auth_settings, require
from invite.auth.roles import role_for

ROOT = Path(__file__).resolve().parent.parent
PROXY = "10.0.0.5"
OUTSIDER = "203.0.113.9"


def make_auth_app(settings, *, jwks=None):
    """An app with the real templates, a stub "invites" blueprint and views that record that they ran.

    `app.ran` lists the endpoints whose bodies ran; `app.org_lookups` counts the stand-in for the
    Junction org-name lookup that base.html's context needs, made only for someone who can view.
    """
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config["TESTING"] = True
    # base.html belongs to someone else and gains nav links to blueprints this app lacks; render
    # those as "#" rather than tie these tests to the rest of the dashboard.
    app.url_build_error_handlers.append(lambda error, endpoint, values: "#")
    app.ran = []
    app.org_lookups = 0
    bp = Blueprint("invites", __name__)

    @bp.get("/")
    @require("view")
    def invite_form():
        app.ran.append("invite_form")
        return "invite form"

    @bp.post("/send")
    @require("send")
    def send_invite():
        app.ran.append("send")
        return "sent"

    @bp.post("/resend")
    @require("resend")
    def resend_invite():
        app.ran.append("resend")
        return "resent"

    @bp.post("/revoke")
    @require("revoke")
    def revoke_invite():
        app.ran.append("revoke")
        return "revoked"

    @bp.get("/lookup")
    @require("view")
    def lookup():
        app.ran.append("lookup")
        return "found"

    @bp.get("/whoami")
    def whoami():
        # No @require: only the hook stands between an anonymous request and this body.
        app.ran.append("whoami")
        me = current_identity()
        return jsonify(email=me.email, groups=list(me.groups), role=me.role, source=me.source)

    @bp.get("/template")
    def template():
        app.ran.append("template")
        return render_template_string("{{ identity.email }}|{{ identity.role }}|"
                                      "{% for p in ['send', 'resend', 'revoke', 'view'] %}{{ p }}={{ can(p) }},"
                                      "{% endfor %}")

    app.register_blueprint(bp)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        return {"status": "ready"}

    init_auth(app, settings, jwks=jwks)

    @app.context_processor
    def page_context():
        from invite.auth import can

        # The guard recommended for invite/__init__.py: no Junction lookup for a refused request.
        if can("view"):
            app.org_lookups += 1
            return {"org_name": "Example Org", "sandbox": False, "app_version": "test"}
        return {"org_name": None, "sandbox": False, "app_version": "test"}

    return app


def settings_from(sandbox: bool = False, **env: str):
    settings, problems = load_auth_settings(env, sandbox=sandbox)
    assert problems == []
    return settings


def header_settings(**extra: str):
    env = {"AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "10.0.0.0/24",
           "ADMIN_GROUPS": "invite-admins", "SUPPORT_GROUPS": "support-team,helpdesk",
           "ADMIN_EMAILS": "Boss@Example.com", "SUPPORT_EMAILS": "helper@example.com"}
    env.update(extra)
    return settings_from(**env)


def as_person(email: str, groups: str = "") -> dict:
    return {"environ_base": {"REMOTE_ADDR": PROXY},
            "headers": {"X-Forwarded-Email": email, "X-Forwarded-Groups": groups}}


@pytest.fixture
def app():
    return make_auth_app(header_settings())


@pytest.fixture
def client(app):
    return app.test_client()


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- the role table and role mapping ---------------------------------------------------------------

def test_permissions_table_is_exactly_the_two_roles():
    expected = {"admin": {"send", "resend", "revoke", "view", "change_member", "remove_member", "switch_reminders",
                          "pause_reminders", "manage_access"},
                "support": {"resend", "view", "switch_reminders"}}
    assert expected == PERMISSIONS


@pytest.mark.parametrize(("email", "groups", "role"), [
    ("someone@example.com", ["invite-admins"], "admin"),
    ("someone@example.com", ["helpdesk"], "support"),
    ("someone@example.com", ["support-team", "other"], "support"),
    ("BOSS@example.COM", [], "admin"),  # emails compare case-insensitively
    ("Helper@Example.com", [], "support"),
    ("helper@example.com", ["invite-admins"], "admin"),  # admin wins when both match
    ("boss@example.com", ["helpdesk"], "admin"),
    ("someone@example.com", ["Invite-Admins"], None),  # group names are exact
    ("someone@example.com", [], None),
])
def test_role_for(email, groups, role):
    assert role_for(email, groups, header_settings()) == role


# --- what each role may do --------------------------------------------------------------------------

def test_admin_can_do_everything(client, app):
    who = as_person("boss@example.com")
    assert client.get("/", **who).status_code == 200
    assert client.post("/send", **who).status_code == 200
    assert client.post("/resend", **who).status_code == 200
    assert client.post("/revoke", **who).status_code == 200
    assert client.get("/lookup", **who).status_code == 200
    assert app.ran == ["invite_form", "send", "resend", "revoke", "lookup"]


def test_support_can_look_up_and_resend_only(client, app):
    who = as_person("agent@example.com", "helpdesk")
    assert client.get("/lookup", **who).status_code == 200
    assert client.post("/resend", **who).status_code == 200
    assert app.ran == ["lookup", "resend"]

    sent = client.post("/send", **who)
    assert sent.status_code == 403
    text = page_text(sent)
    assert "cannot send new invitations" in text
    assert "agent@example.com" in text and "support" in text
    revoked = client.post("/revoke", **who)
    assert revoked.status_code == 403
    assert "cannot revoke invitations" in page_text(revoked)
    # The view bodies (where Junction would be called) never ran.
    assert app.ran == ["lookup", "resend"]


def test_forbidden_action_names_only_groups_that_would_help(client):
    text = page_text(client.post("/send", **as_person("agent@example.com", "helpdesk")))
    assert "invite-admins" in text
    # Joining a support group would not allow sending, so those are not offered.
    assert "support-team" not in text


def test_person_without_a_role_gets_403_listing_granting_groups(client, app):
    response = client.get("/", **as_person("stranger@example.com", "engineering,sales"))
    assert response.status_code == 403
    text = page_text(response)
    assert "stranger@example.com" in text
    assert "no role" in text
    for group in ("invite-admins", "support-team", "helpdesk"):
        assert f"<code>{group}</code>" in text
    # Email allow-lists are never shown.
    assert "boss@example.com" not in text.lower() and "helper@example.com" not in text
    # The person's own groups are shown, to help spot a misnamed group.
    assert "engineering, sales" in text
    assert app.ran == []
    assert app.org_lookups == 0


def test_no_role_is_refused_even_on_views_without_require(client, app):
    assert client.get("/whoami", **as_person("stranger@example.com")).status_code == 403
    assert app.ran == []


def test_403_with_only_email_allow_lists_does_not_list_anyone():
    app = make_auth_app(settings_from(AUTH_MODE="header", AUTH_TRUSTED_PROXIES="10.0.0.0/24",
                                      ADMIN_EMAILS="boss@example.com"))
    response = app.test_client().get("/", **as_person("stranger@example.com"))
    assert response.status_code == 403
    text = page_text(response)
    assert "named people" in text and "boss@example.com" not in text


# --- identity and can() in views and templates ------------------------------------------------------

def test_current_identity_and_template_context(client):
    me = client.get("/whoami", **as_person("Agent@Example.com", "helpdesk, sales")).get_json()
    assert me == {"email": "agent@example.com", "groups": ["helpdesk", "sales"], "role": "support",
                  "source": "header"}
    body = client.get("/template", **as_person("agent@example.com", "helpdesk")).get_data(as_text=True)
    assert body == "agent@example.com|support|send=False,resend=True,revoke=False,view=True,"
    body = client.get("/template", **as_person("boss@example.com")).get_data(as_text=True)
    assert body == "boss@example.com|admin|send=True,resend=True,revoke=True,view=True,"


def test_current_identity_without_a_request_identity_is_an_error(app):
    with app.test_request_context("/healthz"), pytest.raises(RuntimeError):
        current_identity()


def test_require_rejects_unknown_permission_names_at_definition():
    with pytest.raises(ValueError, match="unknown permission 'sned'"):
        require("sned")


def test_require_without_init_auth_fails_closed():
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    ran = []
    bp = Blueprint("invites", __name__)

    @bp.post("/send")
    @require("send")
    def invite_form():
        ran.append(True)
        return "sent"

    app.register_blueprint(bp)
    app.url_build_error_handlers.append(lambda error, endpoint, values: "#")
    app.context_processor(lambda: {"org_name": None, "sandbox": False, "app_version": "test"})
    assert app.test_client().post("/send").status_code == 403
    assert ran == []


# --- dev mode ---------------------------------------------------------------------------------------

def test_dev_mode_is_a_fixed_admin_by_default():
    app = make_auth_app(settings_from(sandbox=True))
    client = app.test_client()
    me = client.get("/whoami", environ_base={"REMOTE_ADDR": OUTSIDER}).get_json()
    assert me == {"email": "dev@localhost", "groups": [], "role": "admin", "source": "dev"}
    assert client.post("/send").status_code == 200


def test_dev_mode_support_role():
    app = make_auth_app(settings_from(sandbox=True, AUTH_MODE="dev", AUTH_DEV_ROLE="support",
                                      AUTH_DEV_EMAIL="me@example.com"))
    client = app.test_client()
    assert client.get("/whoami").get_json()["email"] == "me@example.com"
    assert client.post("/resend").status_code == 200
    assert client.post("/send").status_code == 403
    assert client.post("/revoke").status_code == 403
    assert app.ran == ["whoami", "resend"]
