"""A small Flask app that answers like Junction's Management API, for sandbox mode, tests and the benchmark.

It copies what a client can observe of the real service (FastAPI + pydantic v2): the security header,
the order in which FastAPI checks things (routing, then the API key, then path/query/body validation
all together, then the handler), the exact shape of 422 bodies, opaque cursors, and Starlette's plain
500 page. Request validation is done by pydantic itself, with models mirroring the OpenAPI document,
so the 422 ``type``/``loc``/``msg``/``ctx`` values are the ones pydantic really produces.

Beyond Junction it serves ``/_sandbox/*`` test hooks (no key needed) and a few scripted failures
(see ``invite.sandbox.scripts``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from flask import Flask, Response, abort, g, request
from pydantic import (
    BaseModel,
    EmailStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from invite.sandbox import member_scripts, scripts
from invite.sandbox.faults import (
    FAULT_500,
    FAULT_HOLD,
    FAULT_RESET,
    RESET_REQUESTED,
    ConnectionResetter,
    Fault,
    FaultPlan,
    RequestLogFile,
)
from invite.sandbox.state import DEMO_KEY, SandboxState

KEY_HEADER = "X-Management-Key"

# --- request models, as Junction declares them in the OpenAPI document -----------------------------------


class TeamRoleBinding(BaseModel):
    team_id: uuid.UUID

    @field_validator("team_id")
    @classmethod
    def _team_of_this_org(cls, value: uuid.UUID, info: ValidationInfo) -> uuid.UUID:
        # Junction reports a foreign team as a field error; the org's team ids come in as context.
        team_ids = (info.context or {}).get("org_team_ids")
        if team_ids is not None and value not in team_ids:
            raise ValueError(f"Team {value} does not belong to this org")
        return value


class OrgInviteAPICreate(BaseModel):
    # The document types email as a plain string, but Junction rejects bad syntax with pydantic's
    # EmailStr error ("value is not a valid email address: <reason>").
    email: EmailStr
    # Two Literals, not one: pydantic then names each union member in the loc of a bad role.
    role: Literal["org_admin", "team_admin"] | Literal["no_role"] = "org_admin"
    team_role_bindings: list[TeamRoleBinding] | None = None


# The pattern of search_query on GET /v1/org/{org_id}/team, verbatim from the document.
TEAM_SEARCH_PATTERN = "^[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff0-9(),/:'|&_\\- \u2019]{0,80}$"

_UUID = TypeAdapter(uuid.UUID)
_TEAM_SEARCH = TypeAdapter(Annotated[str, StringConstraints(pattern=TEAM_SEARCH_PATTERN)])
_REGIONS = TypeAdapter(list[Literal["us", "eu"]])
_INVITE_BODY = TypeAdapter(OrgInviteAPICreate)


class UpdateOrgMemberBody(BaseModel):
    # Both fields are required by the document, each may be null (null leaves that value unchanged).
    role: Literal["org_admin", "team_admin"] | Literal["no_role"] | None
    team_role_bindings: list[TeamRoleBinding] | None


_UPDATE_MEMBER_BODY = TypeAdapter(UpdateOrgMemberBody)


# --- responses ----------------------------------------------------------------------------------------


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Starlette's JSONResponse: compact, UTF-8, keys in model order (Flask's provider would sort them).
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return Response(text, status=status, mimetype="application/json", headers=headers)


def _starlette_500() -> Response:
    return Response("Internal Server Error", status=500, content_type="text/plain; charset=utf-8")


def _reject(status: int, detail: str) -> None:
    abort(_json({"detail": detail}, status))


def _jsonable(value: Any) -> Any:
    """What FastAPI's jsonable_encoder makes of values found in pydantic errors."""
    if isinstance(value, BaseException):
        return {}  # vars() of an exception: ctx {"error": ValueError(...)} goes out as {"error": {}}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _validation_error(errors: Sequence[dict[str, Any]]) -> Response:
    return _json({"detail": [_jsonable(e) for e in errors]}, 422)


def _check(
    adapter: TypeAdapter[Any],
    value: Any,
    loc: tuple[str | int, ...],
    errors: list[dict[str, Any]],
    context: dict[str, Any] | None = None,
) -> Any:
    """Validate like FastAPI does one parameter: on failure add its errors (loc prefixed) and return None."""
    try:
        return adapter.validate_python(value, from_attributes=True, context=context)
    except ValidationError as exc:
        errors.extend({**err, "loc": [*loc, *err["loc"]]} for err in exc.errors(include_url=False))
        return None


def _query(name: str) -> str | None:
    # Starlette keeps the last of repeated values for a scalar parameter; werkzeug's .get() the first.
    values = request.args.getlist(name)
    return values[-1] if values else None


def _read_body() -> tuple[Any, Response | None]:
    """The request body as FastAPI hands it to validation: parsed JSON, raw text, or None when empty."""
    raw = request.get_data(cache=True)
    if not raw:
        return None, None
    # FastAPI parses JSON when there is no Content-Type at all, or an application/json or +json one.
    mimetype = request.mimetype
    if not request.headers.get("Content-Type") or mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        try:
            return json.loads(raw), None
        except json.JSONDecodeError as exc:
            return None, _validation_error(
                [
                    {
                        "type": "json_invalid",
                        "loc": ["body", exc.pos],
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": exc.msg},
                    }
                ]
            )
        except UnicodeDecodeError:
            return None, _json({"detail": "There was an error parsing the body"}, 400)
    return raw.decode("utf-8", "replace"), None


# --- cursors ------------------------------------------------------------------------------------------
# Opaque to clients: base64 of the offset and a fingerprint of the query, so a cursor replayed with other
# filters (or a made-up one) is refused rather than silently paging through something else.


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def _encode_cursor(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}.{fingerprint}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset_text, _, found = text.partition(".")
        offset = int(offset_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if offset < 0 or not hmac.compare_digest(found, fingerprint):
        return None
    return offset


def _paginate(
    items: list[dict[str, Any]], cursor: str | None, fingerprint: str, page_size: int
) -> tuple[list[dict[str, Any]], str | None]:
    offset = 0
    if cursor:  # an empty next_cursor= means the first page, as it does for most clients' first call
        decoded = _decode_cursor(cursor, fingerprint)
        if decoded is None:
            abort(
                _validation_error(
                    [
                        {
                            "type": "value_error",
                            "loc": ["query", "next_cursor"],
                            "msg": "Value error, Invalid cursor",
                            "input": cursor,
                            "ctx": {"error": {}},
                        }
                    ]
                )
            )
        offset = decoded
    end = offset + page_size
    next_cursor = _encode_cursor(end, fingerprint) if end < len(items) else None
    return items[offset:end], next_cursor


# --- the app ------------------------------------------------------------------------------------------


def create_sandbox_app(
    state: SandboxState | None = None,
    *,
    management_key: str = DEMO_KEY,
    latency_ms: float = 0,
    slow_seconds: float = 15.0,
    faults: FaultPlan | None = None,
    request_log: RequestLogFile | None = None,
) -> Flask:
    """A Flask app serving one sandbox organization held in ``state`` (a fresh seeded one by default).

    ``faults`` injects failures into /v1 requests and ``request_log`` appends each one to a file; see
    invite.sandbox.faults.
    """
    state = state if state is not None else SandboxState()
    app = Flask(__name__)
    app.extensions["invite_sandbox"] = state
    app.wsgi_app = ConnectionResetter(app.wsgi_app)  # type: ignore[method-assign]

    def redact(value: Any) -> Any:
        # The request log is for tests and demos; the key must never appear in it, wherever a client put it.
        if isinstance(value, str):
            return value.replace(management_key, "[redacted]") if management_key else value
        if isinstance(value, dict):
            return {k: redact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [redact(v) for v in value]
        return value

    def require_org(org_id: uuid.UUID) -> dict[str, Any]:
        org = state.get_org(org_id)
        if org is None:
            _reject(404, "Org not found")
        return org

    @app.before_request
    def front_door() -> Response | None:
        if not (request.path == "/v1" or request.path.startswith("/v1/")):
            return None
        raw = request.get_data(cache=True)
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "query": redact(request.args.to_dict(flat=False)),
            "json": None,
            "status": None,
        }
        if raw:
            try:
                entry["json"] = redact(json.loads(raw))
            except ValueError:
                entry["body"] = redact(raw.decode("utf-8", "replace")[:2000])
        g.sandbox_entry = state.record_request(entry)
        g.sandbox_received = datetime.now(UTC)
        if latency_ms:
            time.sleep(latency_ms / 1000)
        fault = faults.draw() if faults is not None and faults.active else None
        if fault is not None:
            g.sandbox_fault = fault
            if fault.phase == "before":
                if fault.kind == FAULT_HOLD:
                    time.sleep(faults.hold_seconds)  # queued: handled late, after the client gave up
                else:
                    g.sandbox_handler_skipped = True
                    if fault.kind == FAULT_RESET:
                        request.environ[RESET_REQUESTED] = True
                    return _starlette_500()
        if request.routing_exception is not None:
            return None  # FastAPI routes before it authenticates: unknown paths get 404/405 without a key
        key = request.headers.get(KEY_HEADER)
        if not key:
            return _json({"detail": "Not authenticated"}, 403)
        if not hmac.compare_digest(key.encode(), management_key.encode()):
            return _json({"detail": "Invalid management key"}, 401)
        return None

    @app.after_request
    def note_status(response: Response) -> Response:
        entry = g.pop("sandbox_entry", None)
        if entry is None:
            return response
        fault: Fault | None = g.pop("sandbox_fault", None)
        handled = not g.pop("sandbox_handler_skipped", False)
        handler_status = response.status_code if handled else None
        answer = None
        if handled and request.method != "GET" and response.is_json:
            answer = response.get_json(silent=True)
        if fault is not None and fault.phase == "after":
            if fault.kind == FAULT_500:
                response = _starlette_500()
            elif fault.kind == FAULT_RESET:
                request.environ[RESET_REQUESTED] = True
        sent: int | str = "reset" if request.environ.get(RESET_REQUESTED) else response.status_code
        state.finish_request(entry, response.status_code)
        if fault is not None:
            entry["fault"] = {"kind": fault.kind, "phase": fault.phase, "handler_status": handler_status,
                              "sent": sent}
        if request_log is not None:
            request_log.write({
                "received": g.pop("sandbox_received", None),
                "method": entry["method"], "path": entry["path"], "query": entry["query"],
                "json": entry["json"], "status": handler_status, "answer": answer,
                "fault": fault.kind if fault else None, "phase": fault.phase if fault else None, "sent": sent,
            })
        if fault is not None and fault.phase == "after" and fault.kind == FAULT_HOLD and faults is not None:
            # Acted (and logged, in case the sandbox is stopped meanwhile); the answer comes too late.
            time.sleep(faults.hold_seconds)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if exc.response is not None:  # raised through abort(<a ready response>)
            return exc.response
        headers = None
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers = {"Allow": ", ".join(exc.valid_methods)}
        return _json({"detail": exc.name}, exc.code or 500, headers)

    @app.errorhandler(InternalServerError)
    def server_error(exc: InternalServerError) -> Response:
        return _starlette_500()

    # -- Junction's operations --

    @app.get("/v1/org/<org_id>")
    def get_org(org_id: str) -> Response:
        errors: list[dict[str, Any]] = []
        org_uuid = _check(_UUID, org_id, ("path", "org_id"), errors)
        if errors:
            return _validation_error(errors)
        return _json(require_org(org_uuid))

    @app.get("/v1/org/<org_id>/team")
    def list_teams(org_id: str) -> Response:
        errors: list[dict[str, Any]] = []
        org_uuid = _check(_UUID, org_id, ("path", "org_id"), errors)
        team_id_text = _query("team_id")
        team_id = None
        if team_id_text is not None:
            team_id = _check(_UUID, team_id_text, ("query", "team_id"), errors)
        region_values = request.args.getlist("region")
        regions = _check(_REGIONS, region_values, ("query", "region"), errors) if region_values else None
        search = _query("search_query")
        if search is not None:
            _check(_TEAM_SEARCH, search, ("query", "search_query"), errors)
        cursor = _query("next_cursor")
        if errors:
            return _validation_error(errors)
        require_org(org_uuid)
        teams = state.find_teams(search, regions, team_id)
        fingerprint = _fingerprint(
            "team", str(org_uuid), search or "", ",".join(sorted(set(regions or []))), str(team_id or "")
        )
        page, next_cursor = _paginate(teams, cursor, fingerprint, state.page_size)
        return _json({"teams": page, "next_cursor": next_cursor})

    def search_and_page(org_id: str, kind: str, find: Callable[[str | None], list[dict[str, Any]]]) -> Response:
        """List Members and List Invites: search_query, then cursor pages of the matches."""
        errors: list[dict[str, Any]] = []
        org_uuid = _check(_UUID, org_id, ("path", "org_id"), errors)
        search, cursor = _query("search_query"), _query("next_cursor")
        if errors:
            return _validation_error(errors)
        require_org(org_uuid)
        fingerprint = _fingerprint(kind, str(org_uuid), search or "")
        page, next_cursor = _paginate(find(search, copies=False), cursor, fingerprint, state.page_size)
        with state.lock:  # a copy of the page alone, taken while no request can change it
            page = copy.deepcopy(page)
        return _json({f"{kind}s": page, "next_cursor": next_cursor})

    @app.get("/v1/org/<org_id>/member")
    def list_members(org_id: str) -> Response:
        return search_and_page(org_id, "member", state.find_members)

    @app.get("/v1/org/<org_id>/invite")
    def list_invites(org_id: str) -> Response:
        return search_and_page(org_id, "invite", state.find_invites)

    @app.post("/v1/org/<org_id>/invite")
    def create_or_resend_invite(org_id: str) -> Response:
        body, unreadable = _read_body()
        if unreadable is not None:
            return unreadable  # FastAPI gives up on an unparsable body before validating anything else
        errors: list[dict[str, Any]] = []
        org_uuid = _check(_UUID, org_id, ("path", "org_id"), errors)
        org = state.get_org(org_uuid) if org_uuid is not None else None
        context = {"org_team_ids": state.team_ids()} if org is not None else None
        invite: OrgInviteAPICreate | None = None
        if body is None:
            errors.append({"type": "missing", "loc": ["body"], "msg": "Field required", "input": None})
        else:
            invite = _check(_INVITE_BODY, body, ("body",), errors, context)
        if errors:
            return _validation_error(errors)
        assert invite is not None
        require_org(org_uuid)
        scripted = scripts.scripted_response(invite.email)
        if scripted is not None:
            return scripted
        bindings = invite.team_role_bindings
        team_ids = [str(b.team_id) for b in bindings] if bindings is not None else None
        status = state.create_or_resend_invite(invite.email, invite.role, team_ids)
        if scripts.is_slow(invite.email):
            # Junction has acted; only its answer is late. A client that gave up finds the invite pending.
            time.sleep(slow_seconds)
        return _json({"status": status})

    @app.delete("/v1/org/<org_id>/invite/<invite_id>")
    def revoke_invite(org_id: str, invite_id: str) -> Response:
        errors: list[dict[str, Any]] = []
        # Junction's handler declares invite_id before org_id, so its errors come first.
        invite_uuid = _check(_UUID, invite_id, ("path", "invite_id"), errors)
        org_uuid = _check(_UUID, org_id, ("path", "org_id"), errors)
        if errors:
            return _validation_error(errors)
        require_org(org_uuid)
        if not state.revoke_invite(invite_uuid):
            _reject(404, "Invite not found")
        return _json(None)

    def member_failure(member_id: uuid.UUID) -> tuple[dict[str, Any], Response | None]:
        """The member (404 when unknown) and the scripted failure for them, if any."""
        member = state.get_member(member_id)
        if member is None:
            _reject(404, "Member not found")
        return member, member_scripts.scripted_failure(member["email"])

    def after_member_change(member: dict[str, Any]) -> Response:
        if member_scripts.is_lost(member["email"]):
            request.environ[RESET_REQUESTED] = True  # acted; the answer is lost with the connection
        elif member_scripts.is_slow(member["email"]):
            time.sleep(slow_seconds)
        return _json(None)

    @app.patch("/v1/org/<org_id>/member/<member_id>")
    def update_member(org_id: str, member_id: str) -> Response:
        body, unreadable = _read_body()
        if unreadable is not None:
            return unreadable
        errors: list[dict[str, Any]] = []
        org_uuid = _check(_UUID, org_id, ("path", "org_id"), errors)
        member_uuid = _check(_UUID, member_id, ("path", "member_id"), errors)
        org = state.get_org(org_uuid) if org_uuid is not None else None
        context = {"org_team_ids": state.team_ids()} if org is not None else None
        update: UpdateOrgMemberBody | None = None
        if body is None:
            errors.append({"type": "missing", "loc": ["body"], "msg": "Field required", "input": None})
        else:
            update = _check(_UPDATE_MEMBER_BODY, body, ("body",), errors, context)
        if errors:
            return _validation_error(errors)
        assert update is not None
        require_org(org_uuid)
        member, failure = member_failure(member_uuid)
        if failure is not None:
            return failure
        bindings = update.team_role_bindings
        team_ids = [str(b.team_id) for b in bindings] if bindings is not None else None
        state.update_member(member_uuid, update.role, team_ids)
        return after_member_change(member)

    @app.delete("/v1/org/<org_id>/member/<member_id>")
    def remove_member(org_id: str, member_id: str) -> Response:
        errors: list[dict[str, Any]] = []
        org_uuid = _check(_UUID, org_id, ("path", "org_id"), errors)
        member_uuid = _check(_UUID, member_id, ("path", "member_id"), errors)
        if errors:
            return _validation_error(errors)
        require_org(org_uuid)
        member, failure = member_failure(member_uuid)
        if failure is not None:
            return failure
        state.remove_member(member_uuid)
        return after_member_change(member)

    # -- test hooks: not Junction's; no key, never echo it --

    @app.post("/_sandbox/members")
    def sandbox_add_member() -> Response:
        data = request.get_json(silent=True) or {}
        if not isinstance(data, dict) or not data.get("email"):
            return _json({"detail": "email is required"}, 400)
        member = state.add_member(str(data.get("name") or data["email"]), str(data["email"]),
                                  str(data.get("role") or "no_role"), data.get("team_ids") or None)
        return _json(member, 201)

    @app.post("/_sandbox/invites")
    def sandbox_seed_invite() -> Response:
        """A pending invitation sent days ago: {"email", "invited_days_ago", "resent_days_ago"?, "role"?}."""
        data = request.get_json(silent=True) or {}
        if not isinstance(data, dict) or not isinstance(data.get("email"), str) or "@" not in data["email"]:
            return _json({"detail": "email is required"}, 400)
        try:
            invited = float(data.get("invited_days_ago", 0))
            resent = data.get("resent_days_ago")
            resent = None if resent is None else float(resent)
        except (TypeError, ValueError):
            return _json({"detail": "invited_days_ago and resent_days_ago must be numbers"}, 400)
        now = state.clock()
        invite = state.seed_invite(data["email"], now - timedelta(days=invited),
                                   None if resent is None else now - timedelta(days=resent),
                                   str(data.get("role") or "no_role"), data.get("team_ids") or None)
        return _json(invite, 201)

    @app.get("/_sandbox/stats")
    def sandbox_stats() -> Response:
        return _json(state.stats())

    @app.get("/_sandbox/requests")
    def sandbox_requests() -> Response:
        return _json(state.requests_log())

    @app.post("/_sandbox/reset")
    def sandbox_reset() -> Response:
        state.reset()
        return _json({"status": "reset"})

    @app.get("/_sandbox/info")
    def sandbox_info() -> Response:
        return _json(
            {
                "org_id": state.org["id"],
                "org_name": state.org["name"],
                "page_size": state.page_size,
                "teams": len(state.teams),
                "scripted_addresses": scripts.SCRIPTED_ADDRESSES,
                "scripted_member_addresses": member_scripts.MEMBER_SCRIPTED_ADDRESSES,
            }
        )

    return app
