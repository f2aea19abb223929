"""/access's POST forms: the file to plan (uploaded, the ACCESS_FILE setting's, or a saved plan's to plan again)
and the confirmation that applies a saved plan.

CSRF is checked globally (CSRFProtect). The confirmation also carries a token the server issued (invite.core.tokens,
the "row" channel the pages' confirmations use) bound to the plan's id and to the person it was shown to: a token
made up, or issued for another plan or another person, reads as an expired form. It is spent by the plan's own
state (planned → applying, invite.adapters.access_records.claim_plan), so it works once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from werkzeug.datastructures import FileStorage, MultiDict

from invite.core import tokens
from invite.core.safe_text import fit

APPLY = "access_apply"
PLAN_ID_CHARS = 32  # a uuid4's hex
# The upload's name, as the page and the plan show it.
MAX_NAME_CHARS = 120


def issue_apply_token(secret: str, plan_id: str, actor_email: str) -> str:
    return tokens.issue(secret, "row", APPLY, plan_id, actor_email.strip().lower())


def apply_token_is_valid(secret: str, token: str, plan_id: str, actor_email: str) -> bool:
    return tokens.verify(secret, "row", token, APPLY, plan_id, actor_email.strip().lower())


def plan_id(value: str | None) -> str:
    """A plan id as the forms and links carry it, or "" for anything else."""
    value = (value or "").strip().lower()
    return value if len(value) == PLAN_ID_CHARS and all(c in "0123456789abcdef" for c in value) else ""


def upload_name(upload: FileStorage | None) -> str:
    """The uploaded file's own name without any folder, cleaned for the page ("" when none was chosen)."""
    if upload is None or not upload.filename:
        return ""
    name = os.path.basename(upload.filename.replace("\\", "/")).strip()
    return fit(name, MAX_NAME_CHARS) or ""


@dataclass
class Confirmation:
    plan_id: str
    token: str
    allowed_removals: int  # 0 unless the person ticked "allow these N removals"
    errors: dict[str, list[str]] = field(default_factory=dict)


def read_confirmation(form: MultiDict[str, str]) -> Confirmation:
    raw = (form.get("allow_removals") or "").strip()
    allowed = int(raw) if raw.isdigit() and len(raw) <= 6 else 0
    return Confirmation(plan_id=plan_id(form.get("plan_id")), token=(form.get("submission_token") or "").strip(),
                        allowed_removals=allowed)
