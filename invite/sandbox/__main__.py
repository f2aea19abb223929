"""Serve the Junction sandbox in the foreground: ``python -m invite.sandbox --port 8765``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from invite.sandbox.faults import PHASES, FaultPlan, RequestLogFile
from invite.sandbox.server import SandboxServer
from invite.sandbox.state import DEMO_KEY, DEMO_ORG_ID


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m invite.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay added to every /v1 response")
    parser.add_argument("--slow-seconds", type=float, default=15.0, help="how long slow@example.com waits")
    parser.add_argument("--page-size", type=_positive, default=5, help="items per page of every list")
    parser.add_argument("--extra-teams", type=_not_negative, default=0, help="generated teams added to the seed")
    parser.add_argument("--key", default=DEMO_KEY, help="the management key clients must send")
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    faults = parser.add_argument_group("fault injection (each /v1 request draws in arrival order)")
    faults.add_argument("--fault-rate-500", type=_rate, default=0.0, help="share answered 500 (0-1)")
    faults.add_argument("--fault-rate-hold", type=_rate, default=0.0,
                        help="share held for --fault-hold-seconds, past the client's timeout (0-1)")
    faults.add_argument("--fault-rate-reset", type=_rate, default=0.0, help="share whose connection is reset (0-1)")
    faults.add_argument("--fault-hold-seconds", type=float, default=15.0, help="how long a held request waits")
    faults.add_argument("--fault-phase", choices=PHASES, default="after",
                        help="strike after the handler acted, before it, or either (even odds); default after")
    faults.add_argument("--fault-seed", type=int, default=None, help="seed for a reproducible schedule")
    parser.add_argument("--request-log", metavar="FILE",
                        help="append one JSON line per /v1 request: what the sandbox did and sent (survives restarts)")
    args = parser.parse_args(argv)
    try:
        plan = FaultPlan(rate_500=args.fault_rate_500, rate_hold=args.fault_rate_hold,
                         rate_reset=args.fault_rate_reset, seed=args.fault_seed,
                         hold_seconds=args.fault_hold_seconds, phase=args.fault_phase)
    except ValueError as exc:
        parser.error(str(exc))

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = SandboxServer(
        args.host,
        args.port,
        page_size=args.page_size,
        extra_teams=args.extra_teams,
        log_requests=not args.quiet,
        management_key=args.key,
        latency_ms=args.latency_ms,
        slow_seconds=args.slow_seconds,
        faults=plan if plan.active else None,
        request_log=RequestLogFile(args.request_log) if args.request_log else None,
    )
    stopping = threading.Event()
    # The serving thread is a daemon; the main thread only waits, so SIGTERM and Ctrl-C both just wake it.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        server.start()
    except OSError as exc:
        print(exc, file=sys.stderr)
        return 1
    logging.getLogger("invite.sandbox").info(
        "Junction sandbox listening on %s (org %s)", server.base_url, DEMO_ORG_ID
    )
    while not stopping.wait(0.2):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
