"""All configuration, read from the environment once, at start-up.

Every problem found becomes one line in ConfigError.problems, so a bad deployment is told
everything that is wrong at once rather than one variable per restart.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from invite.auth.settings import AuthSettings, load_auth_settings
from invite.core.reminders import ReminderPolicy, parse_days, parse_duration, parse_hours, parse_zone

DEFAULT_API_BASE_URL = "https://api.management.junction.com"
# The one exit status of every entry point (gunicorn's master, the release command, `flask` commands)
# refused by its configuration: sysexits.h's EX_CONFIG, apart from gunicorn's own 1, 3 and 4.
EXIT_CONFIG_ERROR = 78


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
    # X-Forwarded-Host / X-Forwarded-Prefix are trusted only when set apart from PROXY_FIX_HOPS: a
    # client-sent prefix of //evil.example would otherwise rewrite every link and Location header.
    proxy_fix_host: int = 0
    proxy_fix_prefix: int = 0
    teams_cache_ttl_seconds: float = 60.0
    web_threads: int = 8
    resend_cooldown_minutes: float = 10.0
    # Hard limits on resends of one address, whatever was confirmed (0 turns each off).
    resend_min_interval_seconds: float = 60.0
    resends_per_day: int = 5
    bulk_concurrency: int = 4
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    bulk_queue_name: str = "invite-bulk"
    auth: AuthSettings | None = None  # always set by load_settings
    # /metrics: who may scrape without the bearer token (default loopback), and the token, if any.
    metrics_allowed_cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    metrics_bearer_token: str | None = field(default=None, repr=False)
    # Reminders of pending invitations (issue 26): off unless INVITE_REMIND_AFTER is set.
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    # Access as code (issue 27): the reviewed file /access and the drift check read, and how often the worker
    # compares the org with it. No file: no drift check.
    access_file: Path | None = None
    access_drift_check_every: timedelta = timedelta(hours=1)
    # The org's members and invitations copied by the worker (issue 25): how often (None: never, previews
    # always ask Junction), and how old a copy a long list's preview may still use.
    org_snapshot_every: timedelta | None = timedelta(minutes=5)
    org_snapshot_max_age: timedelta = timedelta(minutes=15)


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
        except UnicodeDecodeError:
            problems.append(f"JUNCTION_MANAGEMENT_KEY_FILE is not UTF-8 text (is it the key itself?): {path}")
            return None
        if not inline:
            problems.append(f"JUNCTION_MANAGEMENT_KEY_FILE is empty: {path}")
            return None
    if not inline:
        return None
    # Never echo the key itself, not even in a configuration error.
    source = "JUNCTION_MANAGEMENT_KEY_FILE" if path else "JUNCTION_MANAGEMENT_KEY"
    if not inline.startswith("mg_") or any(ch.isspace() or not ch.isprintable() for ch in inline):
        problems.append(f"{source} does not look like a Junction Management Key (they start with mg_).")
        return None
    return inline


DEFAULT_METRICS_ALLOWED_CIDRS = "127.0.0.0/8,::1/128"


def _metrics_access(env: Mapping[str, str], problems: list[str]):
    raw = env.get("METRICS_ALLOWED_CIDRS", "").strip() or DEFAULT_METRICS_ALLOWED_CIDRS
    networks = []
    if raw.lower() != "none":  # "none": the bearer token only
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=True))
            except ValueError:
                problems.append(f"METRICS_ALLOWED_CIDRS: {item!r} is not a CIDR (e.g. 10.0.0.0/8) "
                                "or has host bits set.")
    token = env.get("METRICS_BEARER_TOKEN", "").strip() or None
    if token is not None and (len(token) < 16 or not token.isascii() or not token.isprintable() or " " in token):
        # Never echo the token.
        problems.append("METRICS_BEARER_TOKEN must be at least 16 printable ASCII characters without spaces.")
        token = None
    return tuple(networks), token


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url_problem(base_url: str, *, allow_plain_http: bool) -> str | None:
    """Why JUNCTION_API_BASE_URL cannot be used, or None. The Management Key travels with every call to it."""
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - reading it checks it: "host:abc" would fail only at the first call
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        shown = base_url if "@" not in base_url else "(not shown: it holds a user name or password)"
        return f"JUNCTION_API_BASE_URL must be an http(s) URL (got {shown!r})."
    if "@" in parts.netloc:
        # Never echoed: the part before "@" is a password. The key goes in its own header, nothing else.
        return ("JUNCTION_API_BASE_URL must not hold a user name or password (the 'user:password@' part); "
                "the Management Key is sent on its own: remove them.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_plain_http:
        return (f"JUNCTION_API_BASE_URL uses plain http:// to {parts.hostname}, so the Management Key would "
                "travel unencrypted: use https://, or set JUNCTION_ALLOW_PLAIN_HTTP=1 if the link is protected "
                "some other way.")
    return None


def _reminder_policy(env: Mapping[str, str], problems: list[str]) -> ReminderPolicy:
    """INVITE_REMIND_* and INVITE_STALE_AFTER, each problem one line."""
    defaults = ReminderPolicy()
    values: dict[str, object] = {}
    readers = (("INVITE_REMIND_AFTER", "after", parse_duration), ("INVITE_REMIND_HOURS", "hours", parse_hours),
               ("INVITE_REMIND_DAYS", "days", parse_days), ("INVITE_REMIND_TZ", "zone", parse_zone),
               ("INVITE_REMINDERS_CHECK_EVERY", "check_every", parse_duration),
               ("INVITE_STALE_AFTER", "stale_after", parse_duration))
    for name, attribute, parse in readers:
        raw = env.get(name, "").strip()
        if raw:
            try:
                values[attribute] = parse(raw)
            except ValueError as exc:
                problems.append(f"{name}: {exc}.")
    values["max_reminders"] = int(_number(env, "INVITE_REMIND_MAX", defaults.max_reminders, problems, low=0,
                                          high=20, integer=True))
    if "check_every" in values and values["check_every"] < timedelta(minutes=1):  # type: ignore[operator]
        problems.append("INVITE_REMINDERS_CHECK_EVERY must be at least 1m: the worker looks once a minute at most.")
    return ReminderPolicy(**values)  # type: ignore[arg-type]


DEFAULT_ACCESS_DRIFT_CHECK_EVERY = timedelta(hours=1)


def _access(env: Mapping[str, str], problems: list[str]) -> tuple[Path | None, timedelta]:
    """ACCESS_FILE (a readable file: the drift check reads it on every check) and ACCESS_DRIFT_CHECK_EVERY.
    What the file says is checked when it is read, not here: a file with mistakes is the drift check's and the
    page's to report, line by line, and must not stop the dashboard."""
    raw = env.get("ACCESS_FILE", "").strip()
    path = Path(raw) if raw else None
    if path is not None:
        if path.is_dir():
            problems.append(f"ACCESS_FILE names a directory, not a file: {raw}")
        elif not os.access(path, os.R_OK) or not path.is_file():
            problems.append(f"ACCESS_FILE cannot be read (missing, or not readable by this process): {raw}")
    every = DEFAULT_ACCESS_DRIFT_CHECK_EVERY
    raw_every = env.get("ACCESS_DRIFT_CHECK_EVERY", "").strip()
    if raw_every:
        try:
            every = parse_duration(raw_every)
        except ValueError as exc:
            problems.append(f"ACCESS_DRIFT_CHECK_EVERY: {exc}.")
        else:
            if every < timedelta(minutes=1):
                problems.append("ACCESS_DRIFT_CHECK_EVERY must be at least 1m: the worker looks once a minute at most.")
                every = DEFAULT_ACCESS_DRIFT_CHECK_EVERY
    return path, every


DEFAULT_ORG_SNAPSHOT_EVERY = timedelta(minutes=5)
DEFAULT_ORG_SNAPSHOT_MAX_AGE = timedelta(minutes=15)


def _org_snapshot(env: Mapping[str, str], problems: list[str]) -> tuple[timedelta | None, timedelta]:
    """INVITE_ORG_SNAPSHOT_EVERY (a duration of at least 1m, or `off`) and INVITE_ORG_SNAPSHOT_MAX_AGE (longer
    than the period: else most previews would find the copy too old and ask Junction anyway)."""
    every: timedelta | None = DEFAULT_ORG_SNAPSHOT_EVERY
    max_age = DEFAULT_ORG_SNAPSHOT_MAX_AGE
    raw_every = env.get("INVITE_ORG_SNAPSHOT_EVERY", "").strip()
    if raw_every.lower() == "off":
        every = None
    elif raw_every:
        try:
            every = parse_duration(raw_every)
        except ValueError as exc:
            problems.append(f"INVITE_ORG_SNAPSHOT_EVERY: {exc}, or off.")
            return DEFAULT_ORG_SNAPSHOT_EVERY, max_age
        if every < timedelta(minutes=1):
            problems.append("INVITE_ORG_SNAPSHOT_EVERY must be at least 1m: the worker looks once a minute at most.")
            return DEFAULT_ORG_SNAPSHOT_EVERY, max_age
    raw_age = env.get("INVITE_ORG_SNAPSHOT_MAX_AGE", "").strip()
    if raw_age:
        try:
            max_age = parse_duration(raw_age)
        except ValueError as exc:
            problems.append(f"INVITE_ORG_SNAPSHOT_MAX_AGE: {exc}.")
            return every, DEFAULT_ORG_SNAPSHOT_MAX_AGE
    if every is not None and max_age <= every:
        problems.append(f"INVITE_ORG_SNAPSHOT_MAX_AGE ({raw_age or '15m'}) must be longer than "
                        f"INVITE_ORG_SNAPSHOT_EVERY ({raw_every or '5m'}): a copy is taken every period, and a "
                        "preview uses it only while it is younger than the maximum age.")
    return every, max_age


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
    if problem := _base_url_problem(base_url, allow_plain_http=_flag(env.get("JUNCTION_ALLOW_PLAIN_HTTP"))):
        problems.append(problem)

    if secret_key and len(secret_key) < 16:
        problems.append("SECRET_KEY is too short: use at least 16 random characters.")

    timeout = _number(env, "JUNCTION_TIMEOUT_SECONDS", 10.0, problems, low=0.1, high=120)
    proxy_hops = int(_number(env, "PROXY_FIX_HOPS", 0, problems, low=0, high=10, integer=True))
    proxy_host = int(_number(env, "PROXY_FIX_HOST", 0, problems, low=0, high=10, integer=True))
    proxy_prefix = int(_number(env, "PROXY_FIX_PREFIX", 0, problems, low=0, high=10, integer=True))
    ttl = _number(env, "TEAMS_CACHE_TTL_SECONDS", 60.0, problems, low=0, high=86400)
    threads = int(_number(env, "WEB_THREADS", 8, problems, low=1, high=256, integer=True))
    _number(env, "WEB_CONCURRENCY", 2, problems, low=1, high=64, integer=True)  # read by gunicorn.conf.py
    cooldown = _number(env, "INVITE_RESEND_COOLDOWN_MINUTES", 10.0, problems, low=0, high=7 * 24 * 60)
    min_interval = _number(env, "INVITE_RESEND_MIN_INTERVAL_SECONDS", 60.0, problems, low=0, high=24 * 3600)
    per_day = int(_number(env, "INVITE_RESENDS_PER_DAY", 5, problems, low=0, high=1000, integer=True))

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
    metrics_cidrs, metrics_token = _metrics_access(env, problems)
    reminders = _reminder_policy(env, problems)
    access_file, access_every = _access(env, problems)
    snapshot_every, snapshot_max_age = _org_snapshot(env, problems)

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
        proxy_fix_host=proxy_host,
        proxy_fix_prefix=proxy_prefix,
        teams_cache_ttl_seconds=ttl,
        web_threads=threads,
        resend_cooldown_minutes=cooldown,
        resend_min_interval_seconds=min_interval,
        resends_per_day=per_day,
        bulk_concurrency=bulk_concurrency,
        redis_url=redis_url,
        bulk_queue_name=queue_name,
        auth=auth,
        metrics_allowed_cidrs=metrics_cidrs,
        metrics_bearer_token=metrics_token,
        reminders=reminders,
        access_file=access_file,
        access_drift_check_every=access_every,
        org_snapshot_every=snapshot_every,
        org_snapshot_max_age=snapshot_max_age,
    )


def exit_on_config_error(error: ConfigError, status: int = EXIT_CONFIG_ERROR) -> None:
    """Print each problem as one line on stderr and end the process with `status` (EXIT_CONFIG_ERROR)."""
    for problem in error.problems:
        print(f"configuration error: {problem}", file=sys.stderr)
    sys.stderr.flush()
    raise SystemExit(status)


def load_settings_or_exit(env: Mapping[str, str] | None = None) -> Settings:
    try:
        return load_settings(env)
    except ConfigError as error:
        exit_on_config_error(error)
        raise  # unreachable: keeps type checkers sure a Settings comes back
