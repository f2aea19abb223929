"""Contract: the sandbox's requests and answers, checked against Junction's own OpenAPI document.

Every case sends a real request to a running sandbox, then validates with openapi-core:
- the request: it must conform to the document, or (for requests the sandbox rejects because the document
  rejects them) it must not. Some 422s come from rules the document cannot express (email syntax, a team
  of another org, a stale cursor); their requests do conform, and the table says so.
- the response: always, against the documented schema of its status.

Only documented statuses are here (200, 409 on POST invite, 422); 401/403/404/429/5xx are not in the
document and are covered by tests/test_sandbox.py.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from junction_support import JUNCTION_OPENAPI_PATH as SPEC_PATH
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.exceptions import OpenAPIError
from openapi_core.validation.request.exceptions import ParameterValidationError, RequestBodyValidationError

from invite.sandbox import DEMO_KEY, DEMO_ORG_ID, SandboxServer

OPERATIONS = {
    ("get", "/v1/org/{org_id}"),
    ("get", "/v1/org/{org_id}/team"),
    ("get", "/v1/org/{org_id}/member"),
    ("get", "/v1/org/{org_id}/invite"),
    ("post", "/v1/org/{org_id}/invite"),
    ("delete", "/v1/org/{org_id}/invite/{invite_id}"),
    ("patch", "/v1/org/{org_id}/member/{member_id}"),
    ("delete", "/v1/org/{org_id}/member/{member_id}"),
}
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


def load_spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.fail(f"Junction's OpenAPI document is missing: expected it at {SPEC_PATH}")
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def narrow_nullable_query_arrays(spec: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Replace query parameters typed anyOf[array, null] by their array member, in place.

    openapi-core 0.23 picks how to read a query parameter from the schema's top-level `type`; FastAPI's
    `anyOf: [{type: array}, {type: null}]` has none, so it reads `region=us&region=eu` as one string and
    rejects it. A query string cannot carry null, so the narrowed schema accepts exactly the same requests.
    """
    narrowed = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                members = parameter.get("schema", {}).get("anyOf", [])
                types = [member.get("type") for member in members]
                if parameter["in"] == "query" and sorted(map(str, types)) == ["array", "null"]:
                    parameter["schema"] = next(m for m in members if m.get("type") == "array")
                    narrowed.add((method, path, parameter["name"]))
    return narrowed


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(slow_seconds=0.2) as running:
        yield running


@pytest.fixture(scope="module")
def openapi(spec: dict[str, Any], server: SandboxServer) -> OpenAPI:
    patched = copy.deepcopy(spec)
    narrowed = narrow_nullable_query_arrays(patched)
    assert {op for op in narrowed if op[:2] in OPERATIONS} == {("get", "/v1/org/{org_id}/team", "region")}
    patched["servers"] = [{"url": server.base_url}, *spec.get("servers", [])]
    # The document itself passes openapi-spec-validator; re-checking it on every run would cost 1.5 s.
    return OpenAPI.from_dict(patched, config=Config(spec_validator_cls=None))


@pytest.fixture
def session(server: SandboxServer) -> Iterator[requests.Session]:
    server.state.reset()  # cases change state (create, revoke); each starts from the seed
    with requests.Session() as client:
        client.headers["X-Management-Key"] = DEMO_KEY
        yield client


# --- cases --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    server: SandboxServer
    session: requests.Session

    def url(self, suffix: str = "", org_id: str = DEMO_ORG_ID) -> str:
        return f"{self.server.base_url}/v1/org/{org_id}{suffix}"

    def team(self, name: str) -> str:
        return next(t["id"] for t in self.server.state.teams if t["name"] == name)

    def second_page(self, suffix: str) -> dict[str, Any]:
        cursor = self.session.get(self.url(suffix), timeout=5).json()["next_cursor"]
        assert cursor
        return {"params": {"next_cursor": cursor}}


Build = Callable[[Ctx], dict[str, Any]]

# What openapi-core must find wrong with a request the document rejects; None means the request conforms.
PARAM, BODY = ParameterValidationError, RequestBodyValidationError


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    template: str
    build: Build
    status: int
    request_error: type[Exception] | None = None


ORG, TEAM, MEMBER, INVITE = (
    "/v1/org/{org_id}", "/v1/org/{org_id}/team", "/v1/org/{org_id}/member", "/v1/org/{org_id}/invite"
)
REVOKE = "/v1/org/{org_id}/invite/{invite_id}"
ONE_MEMBER = "/v1/org/{org_id}/member/{member_id}"


def member_url(c: Ctx, name: str = "Sam O'Connor") -> str:
    return c.url(f"/member/{next(m['id'] for m in c.server.state.members if m['name'] == name)}")


def patch(body: Any, name: str = "Sam O'Connor") -> Build:
    return lambda c: {"url": member_url(c, name), "json": body}


def post(body: Any) -> Build:
    return lambda c: {"url": c.url("/invite"), "json": body}


CASES = [
    Case("get org", "get", ORG, lambda c: {"url": c.url()}, 200),
    Case("get org: org_id not a uuid", "get", ORG, lambda c: {"url": c.url(org_id="acme")}, 422, PARAM),
    Case("teams", "get", TEAM, lambda c: {"url": c.url("/team")}, 200),
    Case("teams: regions and search", "get", TEAM,
         lambda c: {"url": c.url("/team"), "params": {"region": ["us", "eu"], "search_query": "Clinic"}}, 200),
    Case("teams: team_id", "get", TEAM,
         lambda c: {"url": c.url("/team"), "params": {"team_id": c.team("Cardiology")}}, 200),
    Case("teams: second page", "get", TEAM, lambda c: {"url": c.url("/team"), **c.second_page("/team")}, 200),
    Case("teams: search outside the pattern", "get", TEAM,
         lambda c: {"url": c.url("/team"), "params": {"search_query": "<b>"}}, 422, PARAM),
    Case("teams: unknown region", "get", TEAM,
         lambda c: {"url": c.url("/team"), "params": {"region": "asia"}}, 422, PARAM),
    Case("teams: team_id not a uuid", "get", TEAM,
         lambda c: {"url": c.url("/team"), "params": {"team_id": "cardio"}}, 422, PARAM),
    Case("teams: made-up cursor", "get", TEAM,
         lambda c: {"url": c.url("/team"), "params": {"next_cursor": "nope"}}, 422),
    Case("members", "get", MEMBER, lambda c: {"url": c.url("/member")}, 200),
    Case("members: search", "get", MEMBER,
         lambda c: {"url": c.url("/member"), "params": {"search_query": "acmehealth.eu"}}, 200),
    Case("members: second page", "get", MEMBER,
         lambda c: {"url": c.url("/member"), **c.second_page("/member")}, 200),
    Case("members: org_id not a uuid", "get", MEMBER, lambda c: {"url": c.url("/member", "acme")}, 422, PARAM),
    Case("members: made-up cursor", "get", MEMBER,
         lambda c: {"url": c.url("/member"), "params": {"next_cursor": "nope"}}, 422),
    Case("invites", "get", INVITE, lambda c: {"url": c.url("/invite")}, 200),
    Case("invites: search", "get", INVITE,
         lambda c: {"url": c.url("/invite"), "params": {"search_query": "ACME"}}, 200),
    Case("invites: second page", "get", INVITE,
         lambda c: {"url": c.url("/invite"), **c.second_page("/invite")}, 200),
    Case("invites: org_id not a uuid", "get", INVITE, lambda c: {"url": c.url("/invite", "acme")}, 422, PARAM),
    Case("invites: made-up cursor", "get", INVITE,
         lambda c: {"url": c.url("/invite"), "params": {"next_cursor": "nope"}}, 422),
    Case("invite: created", "post", INVITE,
         lambda c: {"url": c.url("/invite"), "json": {"email": "new@example.org", "role": "team_admin",
                                                      "team_role_bindings": [{"team_id": c.team("Cardiology")}]}},
         200),
    Case("invite: created with defaults", "post", INVITE, post({"email": "plain@example.org"}), 200),
    Case("invite: resent", "post", INVITE,
         post({"email": "GRACE.LIN@acmehealth.com", "role": "no_role", "team_role_bindings": None}), 200),
    Case("invite: already in org", "post", INVITE, post({"email": "dana.whitfield@acmehealth.com"}), 200),
    Case("invite: conflict", "post", INVITE, post({"email": "status409@example.com"}), 409),
    Case("invite: email missing", "post", INVITE, post({"role": "org_admin"}), 422, BODY),
    # The document types email as a plain string: the syntax rule is Junction's alone.
    Case("invite: bad email syntax", "post", INVITE, post({"email": "bad@"}), 422),
    Case("invite: unknown role", "post", INVITE, post({"email": "a@example.org", "role": "owner"}), 422, BODY),
    Case("invite: team_id not a uuid", "post", INVITE,
         post({"email": "a@example.org", "team_role_bindings": [{"team_id": "cardio"}]}), 422, BODY),
    Case("invite: binding without team_id", "post", INVITE,
         post({"email": "a@example.org", "team_role_bindings": [{}]}), 422, BODY),
    Case("invite: team of another org", "post", INVITE,
         post({"email": "a@example.org", "team_role_bindings": [{"team_id": UNKNOWN_UUID}]}), 422),
    Case("invite: bindings not a list", "post", INVITE,
         post({"email": "a@example.org", "team_role_bindings": "Cardiology"}), 422, BODY),
    Case("invite: body not JSON", "post", INVITE,
         lambda c: {"url": c.url("/invite"), "data": "email=a", "headers": {"Content-Type": "application/json"}},
         422, BODY),
    Case("invite: org_id not a uuid", "post", INVITE,
         lambda c: {"url": c.url("/invite", "acme"), "json": {"email": "a@example.org"}}, 422, PARAM),
    Case("revoke", "delete", REVOKE,
         lambda c: {"url": c.url(f"/invite/{c.server.state.find_invite_by_email('lab-ops@acmehealth.com')['id']}")},
         200),
    Case("revoke: invite_id not a uuid", "delete", REVOKE, lambda c: {"url": c.url("/invite/42")}, 422, PARAM),
    Case("update member: role and teams", "patch", ONE_MEMBER,
         lambda c: {"url": member_url(c), "json": {"role": "team_admin",
                                                   "team_role_bindings": [{"team_id": c.team("Cardiology")}]}},
         200),
    Case("update member: role only", "patch", ONE_MEMBER,
         patch({"role": "org_admin", "team_role_bindings": None}, "Priya Natarajan"), 200),
    Case("update member: nothing to change", "patch", ONE_MEMBER,
         patch({"role": None, "team_role_bindings": None}), 200),
    Case("update member: unknown role", "patch", ONE_MEMBER,
         patch({"role": "owner", "team_role_bindings": None}), 422, BODY),
    Case("update member: fields missing", "patch", ONE_MEMBER, patch({}), 422, BODY),
    Case("update member: team of another org", "patch", ONE_MEMBER,
         patch({"role": "team_admin", "team_role_bindings": [{"team_id": UNKNOWN_UUID}]}), 422),
    Case("update member: member_id not a uuid", "patch", ONE_MEMBER,
         lambda c: {"url": c.url("/member/42"), "json": {"role": None, "team_role_bindings": None}}, 422, PARAM),
    Case("remove member", "delete", ONE_MEMBER, lambda c: {"url": member_url(c, "Jordan Blake")}, 200),
    Case("remove member: member_id not a uuid", "delete", ONE_MEMBER, lambda c: {"url": c.url("/member/42")},
         422, PARAM),
    Case("revoke: org_id not a uuid", "delete", REVOKE,
         lambda c: {"url": c.url(f"/invite/{UNKNOWN_UUID}", "acme")}, 422, PARAM),
]


def send(ctx: Ctx, method: str, build: Build) -> tuple[requests.PreparedRequest, requests.Response]:
    prepared = ctx.session.prepare_request(requests.Request(method.upper(), **build(ctx)))
    return prepared, ctx.session.send(prepared, timeout=5)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_request_and_response_against_the_document(case, server, session, openapi):
    prepared, response = send(Ctx(server, session), case.method, case.build)
    assert response.status_code == case.status, response.text
    request = RequestsOpenAPIRequest(prepared)
    if case.request_error is None:
        openapi.validate_request(request)
    else:
        with pytest.raises(case.request_error):
            openapi.validate_request(request)
    openapi.validate_response(request, RequestsOpenAPIResponse(response))


def test_every_documented_status_of_every_operation_is_exercised(spec):
    documented = {
        (method, path, int(status))
        for method, path in OPERATIONS
        for status in spec["paths"][path][method]["responses"]
    }
    covered = {(case.method, case.template, case.status) for case in CASES}
    assert covered == documented


def test_the_document_does_not_know_invite_queued(server, session, openapi):
    """oddstatus@example.com answers a status outside the documented enum: the client must cope anyway."""
    prepared, response = send(Ctx(server, session), "post", post({"email": "oddstatus@example.com"}))
    assert response.json() == {"status": "invite_queued"}
    request = RequestsOpenAPIRequest(prepared)
    openapi.validate_request(request)
    with pytest.raises(OpenAPIError):
        openapi.validate_response(request, RequestsOpenAPIResponse(response))


def test_statuses_the_sandbox_sends_outside_the_document(spec):
    """401, 403, 404, 429 and 5xx are real answers but undocumented, so they are not validated here."""
    for method, path in OPERATIONS:
        statuses = set(spec["paths"][path][method]["responses"])
        assert statuses.isdisjoint({"401", "403", "404", "429", "500", "502"}), (method, path)
    assert spec["components"]["securitySchemes"]["ManagementKey"] == {
        "type": "apiKey", "in": "header", "name": "X-Management-Key"
    }
