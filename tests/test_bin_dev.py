"""`bin/dev` as a developer runs it, in a copy of this checkout (it writes .flaskenv and instance/ there, and
another run's ports and files stay apart): the command line in a second process that has only what
.flaskenv gives it acts on the sandbox the pages show and writes the trail they read; SIGTERM or SIGINT
to the script's process id stops everything it started and removes .flaskenv."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from invite.cli import exits

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(Path(sys.executable))
# The copy gets the checkout as it is on disk (committed or not), without what a run leaves behind.
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "instance", "__pycache__", ".pytest_cache", ".ruff_cache",
                                  ".hypothesis", "mutants", "test-artifacts", "results", ".flaskenv", ".env",
                                  "*.egg-info")
BARE = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Dev:
    def __init__(self, checkout: Path, process: subprocess.Popen, port: int, sandbox_port: int):
        self.checkout, self.process, self.port, self.sandbox_port = checkout, process, port, sandbox_port

    @property
    def dotenv(self) -> Path:
        return self.checkout / ".flaskenv"

    def run(self, *args: str, command: tuple[str, ...] = (PYTHON, "-m", "invite.cli")) -> subprocess.CompletedProcess:
        """A second terminal in the checkout: this machine's PATH and HOME, nothing of the app's."""
        return subprocess.run([*command, *args], cwd=self.checkout, env=BARE, capture_output=True,  # noqa: S603
                              text=True, stdin=subprocess.DEVNULL, timeout=120)

    def page(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as response:
            return response.read().decode()


@pytest.fixture
def dev(tmp_path) -> Iterator[Dev]:
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=LEFT_OUT, symlinks=True)
    (checkout / ".venv").symlink_to(Path(sys.executable).parent.parent)
    port, sandbox_port = free_port(), free_port()
    env = {**BARE, "PORT": str(port), "SANDBOX_PORT": str(sandbox_port), "WEB_CONCURRENCY": "1",
           "BIN_DEV_NO_INSTALL": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(  # noqa: S603 - the script under test
        [str(checkout / "bin" / "dev")], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        # As from a terminal: SIGINT handled by default, even when this suite runs as a background job
        # (a non-interactive shell cannot trap a signal ignored when it started).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    running = Dev(checkout, process, port, sandbox_port)
    try:
        deadline = time.monotonic() + 90
        while not (running.dotenv.exists() and answers(port)):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "bin/dev did not start in 90 s"
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:  # a failed test: leave nothing running
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_command_line_recipe_acts_on_the_sandbox_and_the_trail_the_pages_show(dev):
    dotenv = dev.dotenv.read_text()
    assert f"JUNCTION_API_BASE_URL=\"http://127.0.0.1:{dev.sandbox_port}\"" in dotenv
    assert "INVITE_SANDBOX=\"1\"" in dotenv and "AUTH_MODE=\"dev\"" in dotenv
    assert "SECRET_KEY" not in dotenv

    sent = dev.run("send", "recipe.person@example.com", "--role", "org_admin", "--as", "dev.person@example.com")
    assert sent.returncode == exits.DONE, sent.stderr
    assert sent.stdout == "Sent: Junction emailed an invitation to recipe.person@example.com as Org admin.\n"
    assert sent.stderr == ""  # no log line about AUTH_MODE=dev, nor any other, without -v

    # The pages of bin/dev's web server (AUTH_MODE=dev signs every request in) list it...
    assert "recipe.person@example.com" in dev.page("/invitations")
    # ...and the trail has it, read through `flask --app app invite` this time.
    trail = dev.run("activity", "--json", "--target", "recipe.person@",
                    command=(str(Path(PYTHON).parent / "flask"), "--app", "app", "invite"))
    assert trail.returncode == exits.DONE, trail.stderr
    [row] = [json.loads(line) for line in trail.stdout.splitlines()]
    assert (row["action"], row["outcome"], row["who"], row["channel"]) == (
        "send", "invite_created", "dev.person@example.com", "cli")
    assert "recipe.person@example.com" in dev.page("/activity")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_to_its_process_id_stops_everything_it_started(dev, stop):
    started = descendants(dev.process.pid)
    assert len(started) >= 4  # the sandbox, the worker, gunicorn's master and its worker
    dev.process.send_signal(stop)
    output, _ = dev.process.communicate(timeout=60)
    assert dev.process.returncode == 128 + stop, output
    deadline = time.monotonic() + 10  # children reparented on the way out are reaped by whoever adopts them
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in started if alive(pid)] == []
    assert not answers(dev.port) and not answers(dev.sandbox_port)
    assert not dev.dotenv.exists()


def test_a_stale_flaskenv_says_bin_dev_is_not_running(dev):
    dev.process.kill()  # SIGKILL: no trap runs, .flaskenv stays behind
    dev.process.wait()
    os.killpg(dev.process.pid, signal.SIGKILL)  # what a closed terminal would take with it
    deadline = time.monotonic() + 10
    while answers(dev.sandbox_port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dev.dotenv.exists()
    listed = dev.run("teams")
    assert listed.returncode == exits.UNAVAILABLE
    assert listed.stdout == ""
    assert "Is bin/dev running?" in listed.stderr and f"127.0.0.1:{dev.sandbox_port}" in listed.stderr
    assert "Traceback" not in listed.stderr
