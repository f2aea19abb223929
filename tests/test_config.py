from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from invite.config import DEFAULT_API_BASE_URL, EXIT_CONFIG_ERROR, ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
ORG = "9d4c3a52-2f6e-4a8e-9b1e-0c1d2e3f4a5b"
KEY = "mg_live_0123456789abcdef"


def good_env(**extra):
    env = {"JUNCTION_MANAGEMENT_KEY": KEY, "JUNCTION_ORG_ID": ORG, "SECRET_KEY": "s" * 32,
           "AUTH_MODE": "header", "AUTH_TRUSTED_PROXIES": "10.0.0.0/8", "ADMIN_GROUPS": "junction-admins"}
    env.update(extra)
    return env


def problems(env):
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    return info.value.problems


def test_valid_environment_with_defaults():
    settings = load_settings(good_env())
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.timeout_seconds == 10
    assert settings.management_key == KEY
    assert not settings.sandbox
    assert KEY not in repr(settings)


def test_key_from_file(tmp_path):
    path = tmp_path / "key"
    path.write_text(KEY + "\n")
    env = good_env(JUNCTION_MANAGEMENT_KEY_FILE=str(path))
    del env["JUNCTION_MANAGEMENT_KEY"]
    assert load_settings(env).management_key == KEY


def test_without_key_and_without_sandbox_it_refuses():
    env = good_env()
    del env["JUNCTION_MANAGEMENT_KEY"]
    [line] = problems(env)
    assert "JUNCTION_MANAGEMENT_KEY" in line and "INVITE_SANDBOX=1" in line


def test_every_problem_is_one_line_naming_its_variable(tmp_path):
    env = {
        "JUNCTION_MANAGEMENT_KEY": "not-a-key",
        "JUNCTION_ORG_ID": "acme",
        "JUNCTION_API_BASE_URL": "ftp://example.com",
        "JUNCTION_TIMEOUT_SECONDS": "soon",
        "SECRET_KEY": "short",
        "PROXY_FIX_HOPS": "-1",
        "AUTH_MODE": "magic",
    }
    found = problems(env)
    for variable in ["JUNCTION_MANAGEMENT_KEY", "JUNCTION_ORG_ID", "JUNCTION_API_BASE_URL",
                     "JUNCTION_TIMEOUT_SECONDS", "SECRET_KEY", "PROXY_FIX_HOPS", "AUTH_MODE"]:
        assert sum(variable in line for line in found) >= 1, variable
    assert len(found) == 7
    assert all("not-a-key" not in line for line in found)


def test_both_key_forms_is_a_problem(tmp_path):
    path = tmp_path / "key"
    path.write_text(KEY)
    assert any("not both" in p for p in problems(good_env(JUNCTION_MANAGEMENT_KEY_FILE=str(path))))


def test_unreadable_key_file(tmp_path):
    env = good_env(JUNCTION_MANAGEMENT_KEY_FILE=str(tmp_path / "missing"))
    del env["JUNCTION_MANAGEMENT_KEY"]
    assert any("cannot be read" in p for p in problems(env))


def test_secret_key_required_outside_sandbox():
    env = good_env()
    del env["SECRET_KEY"]
    assert any(p.startswith("SECRET_KEY is required") for p in problems(env))


def test_sandbox_mode_needs_nothing_else_and_embeds_its_sandbox():
    settings = load_settings({"INVITE_SANDBOX": "1"})
    assert settings.sandbox and settings.embedded_sandbox
    assert settings.management_key.startswith("mg_")
    assert settings.auth.mode == "dev"


def test_dev_identity_is_refused_outside_the_sandbox():
    assert any("AUTH_MODE" in p and "INVITE_SANDBOX" in p for p in problems(good_env(AUTH_MODE="dev")))


def test_postgres_scheme_of_hosting_platforms_is_accepted():
    settings = load_settings(good_env(DATABASE_URL="postgres://u:p@db.internal:5432/app"))
    assert settings.database_url == "postgresql+psycopg://u:p@db.internal:5432/app"


def test_start_up_prints_one_line_per_problem_and_exits_non_zero():
    env = {"PATH": "/usr/bin:/bin", "JUNCTION_ORG_ID": "acme"}
    proc = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == EXIT_CONFIG_ERROR == 78
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 4, proc.stderr
    assert all(line.startswith("configuration error: ") for line in lines)
    assert "Traceback" not in proc.stderr


def test_a_base_url_with_a_user_or_password_is_refused_without_echoing_it():
    for url in ("https://user:s3cret-pw@api.example.com", "https://user@api.example.com",
                "https://:s3cret-pw@api.example.com/v1"):
        [line] = problems(good_env(JUNCTION_API_BASE_URL=url))
        assert "JUNCTION_API_BASE_URL" in line and "user name or password" in line
        assert "s3cret-pw" not in line


def test_plain_http_to_another_host_needs_an_explicit_allowance():
    [line] = problems(good_env(JUNCTION_API_BASE_URL="http://api.example.com"))
    assert "JUNCTION_API_BASE_URL" in line and "JUNCTION_ALLOW_PLAIN_HTTP=1" in line and "https://" in line
    allowed = load_settings(good_env(JUNCTION_API_BASE_URL="http://api.example.com", JUNCTION_ALLOW_PLAIN_HTTP="1"))
    assert allowed.api_base_url == "http://api.example.com"
    for loopback in ("http://127.0.0.1:8001", "http://localhost:8001", "http://[::1]:8001", "http://127.3.4.5"):
        assert load_settings(good_env(JUNCTION_API_BASE_URL=loopback)).api_base_url == loopback


def test_a_base_url_with_a_bad_port_is_refused_at_start_up():
    [line] = problems(good_env(JUNCTION_API_BASE_URL="https://api.example.com:https"))
    assert "JUNCTION_API_BASE_URL must be an http(s) URL" in line
