"""`invite access apply PLAN`: exactly a reviewed plan's changes, as one durable job (issue 27).

The command reads the plan (`invite access plan --out plan.json`, or /access's download), and hands it to
invite.services.access_apply.apply_plan, which reads the org again and refuses, changing nothing, when it
moved since the plan was made or when the plan removes more members than --max-removals allows. Otherwise
the plan's changes become one bulk job of kind "access", run by the bulk worker (`python -m
invite.bulk.worker`), never by this process: --wait follows it to its end as `invite bulk wait` does. What is
ours here is reading the file, printing and exit codes.
"""

from __future__ import annotations

import json
from typing import IO, Any, NoReturn

import click
from flask import current_app

from invite.adapters.unit_of_work import FLASK
from invite.bulk.in_app import waker
from invite.cli import exits
from invite.cli.acting import acting_option
from invite.cli.bulk import follow
from invite.cli.configuration import configured, refuse_a_throwaway_junction
from invite.cli.terminal import emit_json, end, json_option, say
from invite.core import rows as views
from invite.core.access import KIND_WORDS, KINDS, Plan
from invite.core.actor import Actor
from invite.junction import JunctionError
from invite.services import access_apply

MAX_PLAN_BYTES = 20 * 1024 * 1024  # a plan for tens of thousands of people; anything larger is not a plan




def _read_plan(source: IO[bytes], name: str, as_json: bool) -> Plan:
    data = source.read(MAX_PLAN_BYTES + 1)
    problem = None
    if len(data) > MAX_PLAN_BYTES:
        problem = f"larger than {MAX_PLAN_BYTES // (1024 * 1024)} MB, so not a plan"
    else:
        try:
            return Plan.from_json(json.loads(data))
        except UnicodeDecodeError:
            problem = "not UTF-8 text"
        except json.JSONDecodeError as exc:
            problem = f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        except ValueError as exc:
            problem = str(exc)
        except (KeyError, TypeError, AttributeError):
            problem = "not a plan: a field a plan has is missing or of the wrong type"
    end(exits.NOT_DONE, f"{name}: {problem}.", "Make the plan with `invite access plan FILE --out plan.json`; "
         "nothing was changed.", as_json=as_json, outcome="bad_plan", job_id=None)


def counts_text(plan: Plan) -> str:
    """"2 Invite, 1 Change, 1 Remove": the plan's changes per kind, in the plan's order."""
    counts = plan.counts()
    return ", ".join(f"{counts[kind]} {KIND_WORDS[kind]}" for kind in KINDS if counts[kind]) or "no change"


def _refused(refusal: access_apply.ApplyRefused, plan: Plan, as_json: bool, max_removals: int) -> NoReturn:
    data: dict[str, Any] = {"outcome": refusal.code, "job_id": None, "plan_id": plan.id}
    text = refusal.text
    if isinstance(refusal, access_apply.TooManyRemovals):
        data["removals"] = [c.email for c in refusal.removals]
        data["max_removals"] = refusal.allowed
        text = (f"Check the removals ({', '.join(c.email for c in refusal.removals[:5])}"
                f"{' …' if len(refusal.removals) > 5 else ''}); to apply them, run again with "
                f"--max-removals {len(refusal.removals)}.")
    elif isinstance(refusal, access_apply.PlanDrifted):
        data["moved"] = list(refusal.moved)
        data["plan_fingerprint"] = plan.fingerprint
        data["fingerprint_now"] = refusal.current_fingerprint
    elif isinstance(refusal, access_apply.AlreadyApplied):
        data["job_id"] = refusal.job_id
    # An empty plan asks for nothing: the org already matches the file, which is what was wanted.
    code = exits.DONE if isinstance(refusal, access_apply.NothingToApply) else exits.NOT_DONE
    end(code, refusal.title, text, as_json=as_json, **data)


@click.command("apply", epilog=exits.EXPLAINED)
@click.argument("source", metavar="PLAN", type=click.File("rb"))
@click.option("--max-removals", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Refuse, changing nothing, a plan that removes more than N members from the org.")
@click.option("--wait", "wait_for_end", is_flag=True,
              help="Follow the job to its end (as `invite bulk wait`) and exit with its outcome.")
@click.option("--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
              help="With --wait: stop waiting after this long (exit 1; the job goes on).")
@json_option
@configured  # outside --as: naming the actor reads the app's settings (ADMIN_EMAILS)
@acting_option
def apply_command(source: IO[bytes], max_removals: int, wait_for_end: bool, timeout: float | None, as_json: bool,
                  actor: Actor) -> None:
    """Apply exactly the changes of PLAN (`invite access plan … --out PLAN`), as one durable job.

    Refused, changing nothing (exit 1), when the org changed since the plan was made (plan again), or when
    the plan removes more members than --max-removals allows (0 unless given). Otherwise the bulk worker
    makes the changes one at a time, each recorded in the audit trail first; watch them with --wait or
    `invite bulk wait JOB`. Without --wait: exit 0 once the job is started.
    """
    path = getattr(source, "name", "-")
    name = "standard input" if path in ("-", "<stdin>") else click.format_filename(path, shorten=True)
    plan = _read_plan(source, name, as_json)
    refuse_a_throwaway_junction()
    try:
        job_id = access_apply.apply_plan(FLASK, plan, actor=actor, client=current_app.extensions["upstream"].client,
                                         max_removals=max_removals, waker=waker())
    except access_apply.ApplyRefused as refusal:
        _refused(refusal, plan, as_json, max_removals)
    except JunctionError as exc:
        message = views.failure(exc, "The org could not be read from Junction to check the plan; nothing was "
                                     "changed")
        end(exits.for_lookup(exc), message["title"], message["text"], as_json=as_json, outcome="lookup_failed",
             job_id=None, plan_id=plan.id)
    summary = {"outcome": "started", "job_id": job_id, "plan_id": plan.id, "file_sha256": plan.file_sha256,
               "counts": plan.counts()}
    if not wait_for_end:
        end(exits.DONE, f"Job {job_id} started: applying plan {plan.id[:12]} ({counts_text(plan)}).",
             f"The bulk worker makes the changes. Watch them with `invite bulk wait {job_id}` (or /bulk/{job_id}).",
             as_json=as_json, **summary)
    if as_json:
        emit_json({"type": "started", **summary})
    else:
        say(f"Job {job_id} started: applying plan {plan.id[:12]} ({counts_text(plan)}).", "header")
    follow(job_id, timeout, as_json)
