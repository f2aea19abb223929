"""The smaller findings of #13 (11) not tested elsewhere: key files, duplicate team ids. Through the real app
and the real start-up path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import form_tokens
from test_config import KEY, good_env, problems
from test_support_flow import invite_posts, team_id

from invite.adapters.storage import Action, db
from invite.config import EXIT_CONFIG_ERROR

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("content", "expected"), [
    (b"\xff\xfe" + KEY.encode("utf-16-le"), "JUNCTION_MANAGEMENT_KEY_FILE is not UTF-8 text"),
    (b"\x80\x81binary", "JUNCTION_MANAGEMENT_KEY_FILE is not UTF-8 text"),
    ((KEY + "\x00\x01").encode(), "JUNCTION_MANAGEMENT_KEY_FILE does not look like a Junction Management Key"),
    ((b"mg_abc\x1b[2Jdef"), "JUNCTION_MANAGEMENT_KEY_FILE does not look like a Junction Management Key"),
    (("mg_abc\u202edef").encode(), "JUNCTION_MANAGEMENT_KEY_FILE does not look like a Junction Management Key"),
])
def test_a_key_file_that_is_not_a_key_is_one_config_line(tmp_path, content, expected):
    path = tmp_path / "key"
    path.write_bytes(content)
    env = good_env(JUNCTION_MANAGEMENT_KEY_FILE=str(path))
    del env["JUNCTION_MANAGEMENT_KEY"]
    found = problems(env)
    assert len(found) == 1 and found[0].startswith(expected)


def test_a_binary_key_file_stops_start_up_with_one_line_and_no_traceback(tmp_path):
    path = tmp_path / "key"
    path.write_bytes(b"\x80\x81\x00binary")
    env = {"PATH": "/usr/bin:/bin", **good_env(JUNCTION_MANAGEMENT_KEY_FILE=str(path)),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'k.db'}"}
    del env["JUNCTION_MANAGEMENT_KEY"]
    proc = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == EXIT_CONFIG_ERROR
    assert proc.stderr.strip().splitlines() == [
        f"configuration error: JUNCTION_MANAGEMENT_KEY_FILE is not UTF-8 text (is it the key itself?): {path}"]


def test_duplicate_team_ids_reach_junction_and_the_trail_once(client, app, sandbox):
    cardiology, lab = team_id(sandbox, "Cardiology"), team_id(sandbox, "Lab Operations")
    page = client.get("/").get_data(as_text=True)
    response = client.post("/", data={**form_tokens(page), "email": "dup@example.org", "role": "team_admin",
                                      "teams": [cardiology] * 5000 + [lab, cardiology]})
    assert response.status_code == 303
    [sent] = invite_posts(sandbox)
    assert sent["json"]["team_role_bindings"] == [{"team_id": cardiology}, {"team_id": lab}]
    with app.app_context():
        row = db.session.scalar(db.select(Action))
        assert row.team_ids == [cardiology, lab]
    csv_text = client.get("/activity.csv").get_data(as_text=True)
    assert csv_text.count(cardiology) == 1
