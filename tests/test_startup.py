"""A bad setting stops gunicorn (as the Procfile runs it), the release command and `flask` commands the same
way every time: each problem printed once, exit status EXIT_CONFIG_ERROR, no traceback, whatever
WEB_CONCURRENCY is."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from test_ops import free_port

from invite.config import EXIT_CONFIG_ERROR

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = [sys.executable, "-m", "gunicorn", "app:app", "--config", "gunicorn.conf.py"]
RELEASE = [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"]
RUNS = 3  # the old behaviour failed differently about every other run

BAD_SETTINGS = {
    # Each: the environment, and the lines it must print exactly once.
    "no secret key": ({"JUNCTION_MANAGEMENT_KEY": "mg_live_0123456789abcdef",
                       "JUNCTION_ORG_ID": "9d4c3a52-2f6e-4a8e-9b1e-0c1d2e3f4a5b", "AUTH_MODE": "header",
                       "AUTH_TRUSTED_PROXIES": "10.0.0.0/8", "ADMIN_GROUPS": "admins"},
                      ["configuration error: SECRET_KEY is required"]),
    "timeout in words": ({"INVITE_SANDBOX": "1", "JUNCTION_TIMEOUT_SECONDS": "ten", "WEB_THREADS": "lots"},
                         ["configuration error: JUNCTION_TIMEOUT_SECONDS must be a number (got 'ten').",
                          "configuration error: WEB_THREADS must be a whole number (got 'lots')."]),
}


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1", "PORT": str(free_port()), **env}
    return subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=90)  # noqa: S603


def assert_refused_cleanly(proc: subprocess.CompletedProcess, expected: list[str]) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode == EXIT_CONFIG_ERROR, output
    lines = [line for line in proc.stderr.splitlines() if line.startswith("configuration error: ")]
    for wanted in expected:
        assert sum(line.startswith(wanted) for line in lines) == 1, output
    assert len(lines) == len(set(lines)), output  # nothing printed once per worker
    for noise in ("Traceback", "HaltServer", "Worker failed to boot", "Booting worker"):
        assert noise not in output, output


JUNCTION_URLS = {
    # Each passed the start-up check before, then failed on the first call to Junction (or sent the key in
    # clear text).
    "credentials": ("https://ops:pa55word-in-url@api.management.junction.com",
                    "configuration error: JUNCTION_API_BASE_URL must not hold a user name or password"),
    "plain http": ("http://api.management.junction.com",
                   "configuration error: JUNCTION_API_BASE_URL uses plain http:// to api.management.junction.com"),
}


@pytest.mark.parametrize("case", sorted(JUNCTION_URLS))
def test_gunicorn_refuses_a_junction_url_that_would_expose_the_key(case):
    url, expected = JUNCTION_URLS[case]
    env = {**BAD_SETTINGS["no secret key"][0], "SECRET_KEY": "s" * 32, "JUNCTION_API_BASE_URL": url}
    for command in (GUNICORN, RELEASE):
        proc = run(command, env)
        assert_refused_cleanly(proc, [expected])
        assert "pa55word" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("concurrency", ["2", "4"])
@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_gunicorn_refuses_a_bad_setting_the_same_way_every_time(case, concurrency):
    env, expected = BAD_SETTINGS[case]
    env = {**env, "WEB_CONCURRENCY": concurrency}
    with ThreadPoolExecutor(max_workers=RUNS) as pool:
        results = list(pool.map(lambda _: run(GUNICORN, env), range(RUNS)))
    for proc in results:
        assert_refused_cleanly(proc, expected)


def test_a_bad_web_concurrency_is_named_too():
    # (A WEB_CONCURRENCY that is not a number at all makes gunicorn itself fail on import, before any hook.)
    proc = run(GUNICORN, {"INVITE_SANDBOX": "1", "WEB_CONCURRENCY": "0"})
    assert_refused_cleanly(proc, ["configuration error: WEB_CONCURRENCY must be between 1 and 64 (got 0)."])


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_release_command_and_flask_commands_refuse_the_same_way(case):
    env, expected = BAD_SETTINGS[case]
    assert_refused_cleanly(run(RELEASE, env), expected)
    assert_refused_cleanly(run([sys.executable, "-m", "flask", "--app", "app", "routes"], env), expected)


# ------------------------------------------------------------------ a database nobody migrated


def own_checkout(tmp_path: Path) -> Path:
    """The app in a directory of its own, so its embedded database (instance/invite.db) is a fresh one."""
    root = tmp_path / "checkout"
    root.mkdir()
    shutil.copytree(ROOT / "invite", root / "invite", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("app.py", "gunicorn.conf.py", "Procfile"):
        shutil.copy(ROOT / name, root / name)
    for name in ("templates", "static"):
        (root / name).symlink_to(ROOT / name)
    return root


def test_the_embedded_database_is_brought_up_to_date_by_two_workers_starting_at_once(sandbox, tmp_path):
    """No DATABASE_URL and no release command: the Procfile's web: line alone gives working pages."""
    root = own_checkout(tmp_path)
    web_line = next(line for line in (root / "Procfile").read_text().splitlines() if line.startswith("web:"))
    port = free_port()
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "HOST": "127.0.0.1",
           "PORT": str(port), "INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": sandbox.base_url,
           "SECRET_KEY": "s" * 32, "WEB_CONCURRENCY": "2"}
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(shlex.split(web_line.removeprefix("web:")), cwd=root, env=env,  # noqa: S603
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        time.sleep(1)  # the second worker too
        for _ in range(6):  # new connections, so both workers answer some
            page = requests.get(base + "/invitations", headers={"Connection": "close"}, timeout=10)
            assert page.status_code == 200, page.text[-2000:]
        assert requests.get(base + "/readyz", timeout=10).json() == {"status": "ready"}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    output = log_path.read_text()
    assert "Traceback" not in output, output
    # Migrated once, by whichever worker took the lock first.
    assert output.count("Running upgrade  -> ") == 1, output
    assert (root / "instance" / "invite.db").exists()


def test_an_unmigrated_database_url_gets_a_503_saying_how_to_migrate_on_every_page(sandbox, database_url):
    from flask_migrate import upgrade

    from invite import create_app

    env = {"INVITE_SANDBOX": "1", "JUNCTION_API_BASE_URL": sandbox.base_url, "SECRET_KEY": "s" * 32,
           "DATABASE_URL": database_url}
    app = create_app(env, testing=True)
    try:
        client = app.test_client()
        pages = ["/", "/invitations", "/members", "/activity", "/activity.csv", "/bulk", "/bulk/1", "/bulk/1.json"]
        for path in pages:
            answer = client.get(path)
            assert answer.status_code == 503, (path, answer.status_code)
            assert "flask --app app db upgrade" in answer.get_data(as_text=True), path
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "flask --app app db upgrade" in ready.get_json()["reason"]
        assert client.get("/healthz").status_code == 200
        with app.app_context():
            upgrade()
        assert client.get("/invitations").status_code == 200
        assert client.get("/readyz").status_code == 200
    finally:
        app.extensions["upstream"].client.close()
