"""Injected faults and a request log on disk, for soak tests of the dashboard against a misbehaving Junction.

A FaultPlan draws, for each /v1 request in the order the sandbox receives them, whether it fails and how:
answered 500 (Starlette's plain page), held past the client's timeout, or its connection reset. The draws
come from one seeded random.Random, so the n-th request of a run always gets the n-th draw.

When a fault strikes matters to a client that must say whether an invitation went out, so each fault
also draws its phase:
- "after": the handler runs first (Junction acted: the invite is created or revoked), then the answer is
  replaced by the 500, held back, or lost with the reset - a crash after the commit, a stalled response;
- "before": the fault strikes before the handler. A 500 or a reset means Junction did nothing; a hold
  means the request waits in a queue and is handled late, after the client has given up.
The phase is "after", "before" or "mixed" (each fault draws one, even odds).

The RequestLogFile appends one JSON line per /v1 request the sandbox handled or refused: what came in
(key redacted), what the handler did ("status", "answer"; null when it never ran), the fault, and what
the client was sent. It is opened in append mode, so a sandbox restarted on the same file keeps adding
to it and a soak can compare the dashboard's audit trail with everything every incarnation did.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FAULT_500 = "500"
FAULT_HOLD = "hold"
FAULT_RESET = "reset"
PHASES = ("after", "before", "mixed")

# WSGI environ keys shared with the server (invite.sandbox.server): the app asks for a reset with the
# first; the server's request handler provides the second, which makes closing the socket send an RST.
RESET_REQUESTED = "invite.sandbox.reset_requested"
RESET_CONNECTION = "invite.sandbox.reset_connection"


class ConnectionResetter:
    """WSGI middleware around the sandbox app: when the app asked for a reset, nothing is answered.

    It must sit outside Flask, which would turn the exception into a 500 page; werkzeug's server treats a
    ConnectionError from the app as a dropped connection and writes nothing.
    """

    def __init__(self, app: Any):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        result = self.app(environ, start_response)
        if not environ.get(RESET_REQUESTED):
            return result
        if hasattr(result, "close"):
            result.close()
        reset = environ.get(RESET_CONNECTION)
        if reset is not None:
            reset()
        raise ConnectionResetError("sandbox fault injection: connection reset")


@dataclass(frozen=True)
class Fault:
    kind: str  # FAULT_500, FAULT_HOLD or FAULT_RESET
    phase: str  # "before" or "after"


@dataclass
class FaultPlan:
    """Rates are probabilities per /v1 request (each 0-1, together at most 1)."""

    rate_500: float = 0.0
    rate_hold: float = 0.0
    rate_reset: float = 0.0
    seed: int | None = None
    hold_seconds: float = 15.0
    phase: str = "after"
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        rates = (self.rate_500, self.rate_hold, self.rate_reset)
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError("fault rates must each be between 0 and 1, and add up to at most 1")
        if self.hold_seconds < 0:
            raise ValueError("hold_seconds must not be negative")
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {', '.join(PHASES)}")
        self._rng = random.Random(self.seed)  # noqa: S311 - a reproducible schedule, not a secret

    @property
    def active(self) -> bool:
        return self.rate_500 + self.rate_hold + self.rate_reset > 0

    def draw(self) -> Fault | None:
        """The next request's fault, or None. Always two draws per request, so the schedule never shifts."""
        with self._lock:
            roll, coin = self._rng.random(), self._rng.random()
        phase = self.phase if self.phase != "mixed" else ("before" if coin < 0.5 else "after")
        for kind, rate in ((FAULT_500, self.rate_500), (FAULT_HOLD, self.rate_hold), (FAULT_RESET, self.rate_reset)):
            if roll < rate:
                return Fault(kind, phase)
            roll -= rate
        return None


class RequestLogFile:
    """Appends one JSON line per entry; safe to share between the server's threads."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Which incarnation of the sandbox wrote a line: a restart on the same file gets a new one.
        self.boot = uuid.uuid4().hex[:12]
        self._sequence = 0

    def write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._sequence += 1
            line = {"ts": datetime.now(UTC).isoformat(timespec="microseconds"), "boot": self.boot,
                    "pid": os.getpid(), "seq": self._sequence, **entry}
            text = json.dumps(line, ensure_ascii=True, default=_iso) + "\n"
            with self.path.open("a", encoding="utf-8") as handle:  # reopened each time: survives rotation
                handle.write(text)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def read_request_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every line of a request log, oldest first; a line cut off by a killed sandbox is skipped."""
    entries = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries
