"""All configuration, read from the environment once, at start-up.

Every problem found becomes one line in ConfigError.problems, so a bad deployment is told
everything that is wrong at once rather than one variable per restart.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from invite.auth.settings import AuthSettings, load_auth_settings

DEFAULT_API_BASE_URL = "https://api.management.junction.com"


class ConfigError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    org_id: str
    api_base_url: str
    timeout_seconds: float
    secret_key: str = field(repr=False)
    management_key: str = field(repr=False)
    sandbox: bool = False
    # True when sandbox mode should start its own in-process sandbox (no base URL was given).
    embedded_sandbox: bool = False
    database_url: str | None = None
    proxy_hops: int = 0
    teams_cache_ttl_seconds: float = 60.0
    web_threads: int = 8
    resend_cooldown_minutes: float = 10.0
    bulk_concurrency: int = 4
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    bulk_queue_name: str = "invite-bulk"
    auth: AuthSettings | None = None  # always set by load_settings


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _number(env: Mapping[str, str], name: str, default: float, problems: list[str], *,
            low: float, high: float, integer: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        problems.append(f"{name} must be {kind} (got {raw!r}).")
        return default
    if not low <= value <= high:
        problems.append(f"{name} must be between {low:g} and {high:g} (got {raw}).")
        return default
    return value


def _read_key(env: Mapping[str, str], problems: list[str]) -> str | None:
    inline = env.get("JUNCTION_MANAGEMENT_KEY", "").strip()
    path = env.get("JUNCTION_MANAGEMENT_KEY_FILE", "").strip()
    if inline and path:
        problems.append("Set JUNCTION_MANAGEMENT_KEY or JUNCTION_MANAGEMENT_KEY_FILE, not both.")
        return None
    if path:
        try:
            inline = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(f"JUNCTION_MANAGEMENT_KEY_FILE cannot be read ({exc.strerror or exc}): {path}")
            return None
        if not inline:
            problems.append(f"JUNCTION_MANAGEMENT_KEY_FILE is empty: {path}")
            return None
    if not inline:
        return None
    # Never echo the key itself, not even in a configuration error.
    source = "JUNCTION_MANAGEMENT_KEY_FILE" if path else "JUNCTION_MANAGEMENT_KEY"
    if not inline.startswith("mg_") or any(ch.isspace() for ch in inline):
        problems.append(f"{source} does not look like a Junction Management Key (they start with mg_).")
        return None
    return inline


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    problems: list[str] = []
    sandbox = _flag(env.get("INVITE_SANDBOX"))

    key = _read_key(env, problems)
    org_id = env.get("JUNCTION_ORG_ID", "").strip()
    base_url = env.get("JUNCTION_API_BASE_URL", "").strip().rstrip("/")
    secret_key = env.get("SECRET_KEY", "")
    embedded = False

    if sandbox:
        # Imported only here: outside sandbox mode the product never loads the sandbox.
        from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID

        embedded = not base_url
        key = key or DEMO_KEY
        org_id = org_id or DEMO_ORG_ID
        secret_key = secret_key or os.urandom(32).hex()
    else:
        if key is None and not any(p.startswith("JUNCTION_MANAGEMENT_KEY") for p in problems):
            problems.append("JUNCTION_MANAGEMENT_KEY (or JUNCTION_MANAGEMENT_KEY_FILE) is required; "
                            "set INVITE_SANDBOX=1 to try the dashboard against the built-in sandbox instead.")
        if not secret_key:
            problems.append("SECRET_KEY is required (a long random string that signs sessions and CSRF tokens).")

    if not org_id:
        problems.append("JUNCTION_ORG_ID is required (your Junction org's UUID).")
    else:
        try:
            org_id = str(uuid.UUID(org_id))
        except ValueError:
            problems.append(f"JUNCTION_ORG_ID must be a UUID (got {org_id!r}).")

    base_url = base_url or DEFAULT_API_BASE_URL
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problems.append(f"JUNCTION_API_BASE_URL must be an http(s) URL (got {base_url!r}).")

    if secret_key and len(secret_key) < 16:
        problems.append("SECRET_KEY is too short: use at least 16 random characters.")

    timeout = _number(env, "JUNCTION_TIMEOUT_SECONDS", 10.0, problems, low=0.1, high=120)
    proxy_hops = int(_number(env, "PROXY_FIX_HOPS", 0, problems, low=0, high=10, integer=True))
    ttl = _number(env, "TEAMS_CACHE_TTL_SECONDS", 60.0, problems, low=0, high=86400)
    threads = int(_number(env, "WEB_THREADS", 8, problems, low=1, high=256, integer=True))
    cooldown = _number(env, "INVITE_RESEND_COOLDOWN_MINUTES", 10.0, problems, low=0, high=7 * 24 * 60)

    bulk_concurrency = int(_number(env, "BULK_CONCURRENCY", 4, problems, low=1, high=64, integer=True))
    redis_url = env.get("REDIS_URL", "").strip() or None
    if redis_url and urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
        problems.append("REDIS_URL must be a redis://, rediss:// or unix:// URL.")
    queue_name = env.get("BULK_QUEUE_NAME", "").strip() or "invite-bulk"
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", queue_name):
        problems.append(f"BULK_QUEUE_NAME may hold only letters, digits, '.', '_' and '-' (got {queue_name!r}).")

    database_url = env.get("DATABASE_URL", "").strip() or None
    if database_url and database_url.startswith("postgres://"):
        # Hosting platforms still hand out the scheme SQLAlchemy dropped.
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url and database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    auth, auth_problems = load_auth_settings(env, sandbox=sandbox)
    problems.extend(auth_problems)

    if problems:
        raise ConfigError(problems)
    return Settings(
        org_id=org_id,
        api_base_url=base_url,
        timeout_seconds=timeout,
        secret_key=secret_key,
        management_key=key or "",
        sandbox=sandbox,
        embedded_sandbox=embedded,
        database_url=database_url,
        proxy_hops=proxy_hops,
        teams_cache_ttl_seconds=ttl,
        web_threads=threads,
        resend_cooldown_minutes=cooldown,
        bulk_concurrency=bulk_concurrency,
        redis_url=redis_url,
        bulk_queue_name=queue_name,
        auth=auth,
    )
