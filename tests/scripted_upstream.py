"""A real HTTP/1.1 server on 127.0.0.1 whose answers are scripted by the test.

    with ScriptedUpstream() as up:
        up.script(Reply(200, json={"status": "invite_created"}), Reply.reset())
        ... call up.base_url ...
        up.requests   # every request received: method, path, query, headers, body
        up.connections_accepted

Each request takes the next scripted Reply; when the script is empty, `up.handler(request)` answers
(a callable the test sets), else a 500. Raw behaviours: Reply.reset() (RST after reading the request),
Reply.close() (FIN without answering), Reply.stall(seconds) (answer nothing, then close),
Reply.raw_bytes(data) (send exactly data, then close).
Written on raw sockets so that those behaviours are exact; keep-alive is supported.
"""

from __future__ import annotations

import collections
import contextlib
import json as jsonlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

_MISSING = object()


@dataclass
class Reply:
    status: int = 200
    json: Any = _MISSING
    body: str | bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    action: str | None = None  # None (answer), "reset", "close", "stall", "raw"
    stall_seconds: float = 0.0
    raw: bytes = b""

    @classmethod
    def reset(cls) -> Reply:
        return cls(action="reset")

    @classmethod
    def close(cls) -> Reply:
        return cls(action="close")

    @classmethod
    def stall(cls, seconds: float = 5.0) -> Reply:
        return cls(action="stall", stall_seconds=seconds)

    @classmethod
    def raw_bytes(cls, data: bytes) -> Reply:
        """Send exactly these bytes, then close the connection (e.g. a response cut off mid-body)."""
        return cls(action="raw", raw=data)

    def payload(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.json is not _MISSING:
            data = jsonlib.dumps(self.json).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(self.body, str):
            data = self.body.encode()
        else:
            data = self.body or b""
        return data, headers


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    connection: int  # index of the connection it came on

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class ScriptedUpstream:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.5)  # bounds stop() where shutdown() does not wake accept()
        self.port = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._script: collections.deque[Reply] = collections.deque()
        self.handler: Callable[[Received], Reply] | None = None
        self.requests: list[Received] = []
        self.connections_accepted = 0
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, name="scripted-upstream", daemon=True)
        self._acceptor.start()

    # -------------------------------------------------------------- test-facing

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> ScriptedUpstream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() at once on Linux
        self._acceptor.join(2)
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(2)

    # -------------------------------------------------------------- server

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                index = self.connections_accepted
                self.connections_accepted += 1
                self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn, index), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next_reply(self, request: Received) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
        if self.handler is not None:
            return self.handler(request)
        return Reply(500, json={"detail": "scripted upstream: no reply scripted"})

    def _serve(self, conn: socket.socket, index: int) -> None:
        buffer = b""
        try:
            while not self._stop.is_set():
                request, buffer = _read_request(conn, buffer, index)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                reply = self._next_reply(request)
                if reply.delay:
                    self._stop.wait(reply.delay)
                if reply.action == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if reply.action == "close":
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                if reply.action == "stall":
                    self._stop.wait(reply.stall_seconds)
                    return
                if reply.action == "raw":
                    conn.sendall(reply.raw)
                    conn.shutdown(socket.SHUT_RDWR)
                    return
                conn.sendall(_render(reply))
                if request.headers.get("connection", "").lower() == "close":
                    return
        except OSError:
            return
        finally:
            conn.close()


def _read_request(conn: socket.socket, buffer: bytes, index: int) -> tuple[Received | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buffer += chunk
    body, buffer = buffer[:length], buffer[length:]
    return Received(method, target, headers, body, index), buffer


def _render(reply: Reply) -> bytes:
    data, headers = reply.payload()
    try:
        reason = HTTPStatus(reply.status).phrase
    except ValueError:
        reason = "Whatever"
    lines = [f"HTTP/1.1 {reply.status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(data)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound then released), for "connection refused"."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class UnacceptingPort:
    """A port whose listen backlog is full, so a new connection attempt times out (nothing is sent).

    `port` is None when this kernel does not drop the SYN (then the test should skip).
    """

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        self.port: int | None = self._listener.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(8):
            filler = socket.socket()
            filler.settimeout(0.1)
            try:
                filler.connect(("127.0.0.1", self.port))
            except TimeoutError:
                filler.close()
                return  # the backlog is full: the next SYN is dropped too
            self._fillers.append(filler)
        self.port = None

    def __enter__(self) -> UnacceptingPort:
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self._fillers:
            sock.close()
        self._listener.close()
