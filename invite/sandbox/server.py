"""Serve the sandbox over real HTTP from a background thread, for tests, the benchmark and sandbox mode.

Werkzeug's threaded server, speaking HTTP/1.1 so clients can keep connections alive and pool them, and
counting the TCP connections it accepts: the dashboard's tests use that count to prove connection reuse.
"""

from __future__ import annotations

import io
import logging
import socket
import struct
import threading
from typing import TYPE_CHECKING, Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from invite.sandbox.app import create_sandbox_app
from invite.sandbox.faults import RESET_CONNECTION
from invite.sandbox.state import SandboxState

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)


class _KeepAliveHandler(WSGIRequestHandler):
    """Werkzeug's handler, but keeping connections open between requests.

    Werkzeug sends "Connection: close" on every response because http.server cannot skip the part of a
    request body the app did not read before parsing the next request, and after each response it drains
    whatever the socket still holds (which, on a kept-alive connection, would be the next request). This
    handler reads each Content-Length body whole before the app runs and shows werkzeug an empty stream
    to drain, so the real stream is always at the next request and the connection can stay open (unless
    the client asked to close it, or sent a chunked body).
    """

    protocol_version = "HTTP/1.1"
    log_requests = False
    _body_consumed = False

    def make_environ(self) -> WSGIEnvironment:
        environ = super().make_environ()
        environ[RESET_CONNECTION] = self._reset_connection
        self._body_consumed = False
        if environ.get("wsgi.input_terminated"):
            return environ  # chunked: werkzeug dechunks it; the connection closes after the response
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return environ
        environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length > 0 else b"")
        self._body_consumed = True
        self._real_rfile, self.rfile = self.rfile, io.BytesIO()
        return environ

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            real = self.__dict__.pop("_real_rfile", None)
            if real is not None:
                self.rfile = real

    def send_header(self, keyword: str, value: str) -> None:
        if (
            keyword.lower() == "connection"
            and value.lower() == "close"
            and self._body_consumed
            and not self.close_connection
        ):
            return
        super().send_header(keyword, value)

    def _reset_connection(self) -> None:
        """Injected fault: end this connection with a TCP RST instead of an answer (linger 0, no FIN first)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.server.abort_on_close(self.connection)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if self.log_requests:
            super().log_request(code, size)


class _CountingServer(ThreadedWSGIServer):
    """werkzeug.serving.make_server(threaded=True) builds this class; the subclass only counts accepts."""

    sandbox_state: SandboxState

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._aborting: set[socket.socket] = set()

    def abort_on_close(self, connection: socket.socket) -> None:
        self._aborting.add(connection)

    def shutdown_request(self, request: Any) -> None:
        # A normal close sends FIN first (shutdown(SHUT_WR)); an aborted one goes straight to close(),
        # which with linger 0 sends RST: the client sees "connection reset by peer".
        if request in self._aborting:
            self._aborting.discard(request)
            self.close_request(request)
            return
        super().shutdown_request(request)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        self.sandbox_state.count_connection()
        # Headers and body leave in two writes; with Nagle on, a kept-alive client's delayed ACK would
        # hold the body back for ~40 ms on every response.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class SandboxServer:
    """The sandbox app on ``host:port`` (port 0 picks a free one) in a daemon thread.

    ``with SandboxServer(latency_ms=50) as sandbox: requests.get(sandbox.base_url + ...)``
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        page_size: int = 5,
        extra_teams: int = 0,
        state: SandboxState | None = None,
        log_requests: bool = False,
        **app_options: Any,
    ) -> None:
        self.host = host
        self.port = port
        if state is None:
            state = SandboxState(page_size=page_size, extra_teams=extra_teams)
        self.state = state
        self.app = create_sandbox_app(self.state, **app_options)
        self._log_requests = log_requests
        self._server: _CountingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("SandboxServer is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SandboxServer:
        if self._server is not None:
            return self
        handler = type("SandboxRequestHandler", (_KeepAliveHandler,), {"log_requests": self._log_requests})
        try:
            server = _CountingServer(self.host, self.port, self.app, handler)
        except SystemExit as exc:  # werkzeug prints and exits when it cannot bind; a library must raise
            raise OSError(f"sandbox could not listen on {self.host}:{self.port}") from exc
        server.sandbox_state = self.state
        self.port = server.socket.getsockname()[1]
        self._server = server
        # A short poll interval keeps stop() quick (the default 0.5 s would dominate a test's teardown).
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="junction-sandbox", daemon=True
        )
        self._thread.start()
        log.debug("Junction sandbox listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
