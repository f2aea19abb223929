"""Serve the Junction sandbox in the foreground: ``python -m invite.sandbox --port 8765``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

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
    args = parser.parse_args(argv)

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
