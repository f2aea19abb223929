"""/access (issue 27), for admins: plan an access file (uploaded, or the one ACCESS_FILE names), read the plan as
a diff with its counts, apply exactly that plan behind a one-time confirmation, then follow its job on
/bulk/<id>. Also the worker's latest drift check: how far the org is from ACCESS_FILE, and since when.

A plan is saved under its id (invite.adapters.access_records) with the file it was made from. The confirmation
names that id and carries a token the server issued for it and for the person it was shown to; it applies the
saved plan, never one rebuilt from the form, and the apply refuses when the org moved since the plan was made
(the fingerprint, invite.core.access): "plan again" plans the same file against the org as it is now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from invite.access_pages import forms, views
from invite.adapters import access_records as records
from invite.adapters.unit_of_work import FLASK
from invite.adapters.upstream import get_upstream
from invite.auth import require
from invite.auth.permissions import current_identity
from invite.core import rows as messages
from invite.core import when
from invite.core.access import REMOVE, Plan, compute_plan
from invite.core.access_file import AccessFileError, parse_access_file
from invite.core.reminders import duration_words
from invite.junction import JunctionError
from invite.services.access import read_state
from invite.services.access_apply import AlreadyApplied, ApplyRefused, PlanDrifted, TooManyRemovals, apply_plan
from invite.web import current_actor

bp = Blueprint("access", __name__)

# Fixed messages a redirect may ask for by name (?notice=…): nothing from the URL is shown as text.
NOTICES = {
    "expired": messages.message(
        "warning", "The confirmation had expired or was not issued here: nothing was applied.",
        "Read the plan below again, then apply it from this page."),
    "taken": messages.message(
        "warning", "This plan was confirmed already: nothing more was applied.",
        "A plan is applied once. What it did is below."),
}


def _settings() -> Any:
    return current_app.extensions["settings"]


def _drift() -> dict[str, Any] | None:
    """The latest drift check as the page shows it, or None without ACCESS_FILE."""
    settings = _settings()
    if settings.access_file is None:
        return None
    latest, compared = records.latest_drift()
    plan = Plan.from_json(compared.plan) if compared is not None and compared.plan else None
    every = duration_words(settings.access_drift_check_every)
    return {"source": settings.access_file.name, "every": every[2:] if every.startswith("1 ") else every,
            "latest": latest, "compared": compared, "plan": plan,
            "groups": views.groups(plan) if plan else [], "tiles": views.tiles(plan) if plan else []}


def _overview(*, status: int = 200, problems: AccessFileError | None = None, upload_name: str = "",
              errors: dict[str, list[str]] | None = None, alert: dict[str, Any] | None = None):
    now = datetime.now(UTC)
    return render_template(
        "access/overview.html", nav_section="access", drift=_drift(), now=now, ago=when.ago, people=views.people,
        file_problems=problems, upload_name=upload_name, errors=errors or {}, alert=alert,
        access_file=_settings().access_file), status


@bp.get("/access")
@require("manage_access")
def overview():
    return _overview()


def _file_to_plan() -> tuple[bytes, str, dict[str, list[str]]]:
    """(the file's bytes, its name, field errors) from the form: a saved plan's file to plan again, the
    ACCESS_FILE setting's, or the upload."""
    again = forms.plan_id(request.form.get("plan_id"))
    if again:
        record = records.get_plan(again)
        if record is None:
            return b"", "", {"file": ["That plan is not kept here any more: upload the file again."]}
        return record.file_text.encode("utf-8"), record.source, {}
    if request.form.get("source") == "setting" and _settings().access_file is not None:
        path = _settings().access_file
        try:
            return path.read_bytes(), path.name, {}
        except OSError as exc:
            return b"", path.name, {"setting": [
                f"{path} could not be read ({exc.strerror or exc}): ask whoever runs the dashboard to check "
                "ACCESS_FILE, or upload the file instead."]}
    upload = request.files.get("file")
    name = forms.upload_name(upload)
    if upload is None or not name:
        return b"", "", {"file": ["Choose the access file to plan (access.yaml, or a .toml file)."]}
    return upload.read(), name, {}


@bp.post("/access/plan")
@require("manage_access")
def plan():
    """Read the file and the org, compute the plan, save it, and show it (a redirect: a reload shows it again)."""
    data, name, errors = _file_to_plan()
    if errors:
        return _overview(status=422, errors=errors, upload_name=name)
    try:
        state = read_state(get_upstream().client)
    except JunctionError as exc:
        return _overview(status=502, upload_name=name, alert=messages.failure(
            exc, "Nothing was planned: the org could not be read from Junction"))
    try:
        wanted = parse_access_file(data, state.teams, filename=name)
    except AccessFileError as exc:
        return _overview(status=422, problems=exc, upload_name=name)
    planned = compute_plan(wanted, state, source=name)
    records.save_plan(planned.as_json(), actor_email=current_identity().email, source=name,
                      file_text=data.decode("utf-8"))  # the parser took it as UTF-8: the same bytes come back
    return redirect(url_for("access.plan_page", id=planned.id), code=303)


def _plan_page(record: records.AccessPlanRecord, *, status: int = 200, errors: dict[str, list[str]] | None = None,
               alert: dict[str, Any] | None = None):
    planned = Plan.from_json(record.plan)
    removals = planned.counts()[REMOVE]
    token = forms.issue_apply_token(current_app.secret_key, record.id, current_identity().email)
    notice = NOTICES.get(request.args.get("notice", ""))
    return render_template(
        "access/plan.html", nav_section="access", record=record, plan=planned, groups=views.groups(planned),
        tiles=views.tiles(planned), summary=views.summary(planned), created=views.created(planned),
        removals=removals, token=token, errors=errors or {}, alert=alert or notice, ago=when.ago,
        now=datetime.now(UTC), people=views.people, states=records), status


@bp.get("/access/plan")
@require("manage_access")
def plan_page():
    record = records.get_plan(forms.plan_id(request.args.get("id")))
    if record is None:
        return _overview(status=404, alert=messages.message(
            "warning", "No such plan.", "Plans are kept until they are applied; the link may be wrong. Plan the "
                                        "file again below."))
    return _plan_page(record)


def _reread(record: records.AccessPlanRecord) -> records.AccessPlanRecord:
    return records.get_plan(record.id) or record


@bp.post("/access/apply")
@require("manage_access")
def apply():
    """Apply the saved plan the confirmation names, once, as shown; then follow its job."""
    confirmation = forms.read_confirmation(request.form)
    record = records.get_plan(confirmation.plan_id)
    if record is None:
        return plan_page()
    me = current_identity().email
    if not forms.apply_token_is_valid(current_app.secret_key, confirmation.token, record.id, me):
        return redirect(url_for("access.plan_page", id=record.id, notice="expired"), code=303)
    if record.state != records.PLANNED:
        return redirect(url_for("access.plan_page", id=record.id, notice="taken"), code=303)
    planned = Plan.from_json(record.plan)
    removals = planned.counts()[REMOVE]
    if removals > confirmation.allowed_removals:
        return _plan_page(record, status=422, errors={"allow_removals": [
            f"This plan removes {views.people(removals)} from the org. Tick the box to allow "
            f"{'it' if removals == 1 else 'them'}, or change the file; nothing was applied."]})
    if not records.claim_plan(record.id, me):
        return redirect(url_for("access.plan_page", id=record.id, notice="taken"), code=303)
    try:
        job_id = apply_plan(FLASK, planned, actor=current_actor(), client=get_upstream().client,
                            max_removals=confirmation.allowed_removals)
    except AlreadyApplied as exc:  # by another way in (the command line applies the same plans)
        records.settle_plan(record.id, records.APPLIED, exc.job_id or None)
        return redirect(url_for("access.plan_page", id=record.id, notice="taken"), code=303)
    except PlanDrifted as exc:
        records.settle_plan(record.id, records.DRIFTED)
        return _plan_page(_reread(record), status=409, alert=messages.message("warning", exc.title, exc.text))
    except TooManyRemovals as exc:
        records.settle_plan(record.id, records.PLANNED)
        return _plan_page(_reread(record), status=422, errors={"allow_removals": [f"{exc.title} {exc.text}"]})
    except ApplyRefused as exc:
        records.settle_plan(record.id, records.PLANNED)
        return _plan_page(_reread(record), status=409, alert=messages.message("warning", exc.title, exc.text))
    except JunctionError as exc:
        records.settle_plan(record.id, records.PLANNED)
        return _plan_page(_reread(record), status=502, alert=messages.failure(
            exc, "Nothing was applied: the org could not be read from Junction"))
    # Anything else leaves the plan "applying": it may have been applied in part, and must never be applied twice.
    records.settle_plan(record.id, records.APPLIED, job_id)
    return redirect(url_for("bulk.job_page", job_id=job_id), code=303)
