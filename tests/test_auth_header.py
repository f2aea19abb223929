"""Header mode: the proxy's identity headers count only when the proxy itself is the peer."""

from __future__ import annotations

import html

import pytest
from test_permissions import make_auth_app, settings_from
from werkzeug.middleware.proxy_fix import ProxyFix

PROXY = "10.0.0.5"
OUTSIDER = "203.0.113.9"


def header_settings(**extra: str):
    env = {"AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "10.0.0.0/24,fd00::/64",
           "ADMIN_GROUPS": "invite-admins", "SUPPORT_GROUPS": "helpdesk"}
    env.update(extra)
    return settings_from(**env)


@pytest.fixture
def app():
    return make_auth_app(header_settings())


@pytest.fixture
def client(app):
    return app.test_client()


def get(client, path="/whoami", peer=PROXY, email="ada@example.com", groups="invite-admins", **headers):
    if email is not None:
        headers["X-Forwarded-Email"] = email
    if groups is not None:
        headers["X-Forwarded-Groups"] = groups
    return client.get(path, environ_base={"REMOTE_ADDR": peer}, headers=headers)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_from_a_trusted_peer_the_headers_are_the_identity(client, app):
    response = get(client, email="Ada@Example.com", groups="invite-admins, engineering")
    assert response.status_code == 200
    assert response.get_json() == {"email": "ada@example.com", "groups": ["invite-admins", "engineering"],
                                   "role": "admin", "source": "header"}
    assert app.ran == ["whoami"]


def test_from_an_untrusted_peer_the_headers_are_refused(client, app):
    response = get(client, peer=OUTSIDER)
    assert response.status_code == 401
    page = text(response)
    assert "did not come through your company's sign-in proxy" in page
    assert "single sign-on" in page
    assert "ada@example.com" not in page  # never echo what an outsider claimed
    assert app.ran == []
    assert app.org_lookups == 0


def test_untrusted_peer_is_refused_on_every_route_and_method(client, app):
    for method, path in [("get", "/"), ("post", "/send"), ("post", "/revoke"), ("get", "/lookup"),
                         ("get", "/no-such-page")]:
        response = getattr(client, method)(path, environ_base={"REMOTE_ADDR": OUTSIDER},
                                           headers={"X-Forwarded-Email": "ada@example.com",
                                                    "X-Forwarded-Groups": "invite-admins"})
        assert response.status_code == 401, path
    assert app.ran == []


def test_missing_email_header_from_the_proxy(client, app):
    response = get(client, email=None)
    assert response.status_code == 401
    assert "identity header was missing" in text(response)
    assert app.ran == []


@pytest.mark.parametrize("value", ["ada", "ada@example.com, eve@example.com", "ada @example.com", "<a@b>"])
def test_email_header_that_is_not_one_address(client, app, value):
    response = get(client, email=value)
    assert response.status_code == 401
    assert "not a usable email address" in text(response)
    assert app.ran == []


def test_ipv6_and_ipv4_mapped_peers(client):
    assert get(client, peer="fd00::17").status_code == 200
    assert get(client, peer="::ffff:10.0.0.9").status_code == 200
    assert get(client, peer="::ffff:203.0.113.9").status_code == 401
    assert get(client, peer="2001:db8::1").status_code == 401


def test_custom_header_names():
    app = make_auth_app(header_settings(AUTH_EMAIL_HEADER="X-Auth-Request-Email",
                                        AUTH_GROUPS_HEADER="X-Auth-Request-Groups"))
    client = app.test_client()
    ok = client.get("/whoami", environ_base={"REMOTE_ADDR": PROXY},
                    headers={"X-Auth-Request-Email": "sam@example.com", "X-Auth-Request-Groups": "helpdesk"})
    assert ok.get_json()["role"] == "support"
    # The default names mean nothing now.
    assert get(client).status_code == 401


def test_no_groups_header_means_no_groups(client):
    response = get(client, groups=None)
    assert response.status_code == 403  # signed in, but no group and no email grants a role
    assert "ada@example.com" in text(response)


# --- ProxyFix in front: trust is judged on the original peer ----------------------------------------

@pytest.fixture
def proxied_app():
    app = make_auth_app(header_settings())
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)
    return app


def test_behind_proxyfix_the_proxy_peer_is_trusted(proxied_app):
    response = get(proxied_app.test_client(), peer=PROXY, **{"X-Forwarded-For": OUTSIDER})
    assert response.status_code == 200
    assert proxied_app.ran == ["whoami"]


def test_behind_proxyfix_a_forged_forwarded_for_does_not_make_an_outsider_trusted(proxied_app):
    # The outsider connects directly and claims, via X-Forwarded-For, to be the proxy.
    response = get(proxied_app.test_client(), peer=OUTSIDER, **{"X-Forwarded-For": PROXY})
    assert response.status_code == 401
    assert proxied_app.ran == []


# --- exempt routes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/static/style.css"])
def test_health_checks_and_static_files_need_no_identity(client, path):
    response = client.get(path, environ_base={"REMOTE_ADDR": OUTSIDER})
    assert response.status_code == 200
