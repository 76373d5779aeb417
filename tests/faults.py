"""A fault-injecting OpenAI-compatible server for tests: a real HTTP server on 127.0.0.1.

Not tests. ``start_fault_server`` answers ``GET /v1/models`` and ``POST
/v1/chat/completions`` like a healthy server, except on the chat requests its
schedule marks with a ``Fault``:

=============  ===========================================================================
kind           what the client sees
=============  ===========================================================================
``refuse``     the request's connection is dropped and the port closes for ``seconds``:
               every connection in that window is refused (the server is "down")
``500``        HTTP 500
``429``        HTTP 429 with ``Retry-After: seconds``
``503``        HTTP 503 with ``Retry-After`` as an HTTP date, ``seconds`` from now
``hang``       nothing for ``seconds`` (longer than the client's timeout), then an answer
``slow``       a valid answer after ``seconds`` (within the client's timeout)
``malformed``  HTTP 200 whose content is cut-off JSON
``schema``     HTTP 200 whose content is JSON that breaks the requested schema
``drop``       the status line, headers and half the body, then the connection closes
=============  ===========================================================================

Chat requests are numbered from 0 in the order they arrive; the schedule maps a
number to a fault or to None (answer normally). The server counts what it
received and what it injected; refused connections never reach it, so a client
that counts its own tries can tell how many were refused (tries - received).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from servers import HOST, DeepQueueServer, chat_completion, model_list

FaultKind = Literal["refuse", "500", "429", "503", "hang", "slow", "malformed", "schema", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "refuse",
    "500",
    "429",
    "503",
    "hang",
    "slow",
    "malformed",
    "schema",
    "drop",
)


@dataclass(frozen=True)
class Fault:
    """One injected fault; ``seconds`` is the down time, Retry-After, hang or delay."""

    kind: FaultKind
    seconds: float = 0.0


Schedule = Callable[[int], Fault | None]
Answer = Callable[[Mapping[str, Any]], str]


def cycle(faults: Sequence[Fault | None]) -> Schedule:
    """A schedule that repeats ``faults`` (None = a normal answer)."""
    return lambda index: faults[index % len(faults)]


def first(faults: Sequence[Fault | None]) -> Schedule:
    """A schedule that injects ``faults`` on the first requests, then answers normally."""
    return lambda index: faults[index] if index < len(faults) else None


@dataclass
class Arrival:
    """One chat request as the server saw it."""

    index: int
    at: float
    """``time.monotonic()`` when it arrived."""
    fault: FaultKind | None
    body: dict[str, Any]


@dataclass
class FaultServer:
    """A running fault server: where it listens and what it saw and did."""

    port: int
    model: str = "fake"
    arrivals: list[Arrival] = field(default_factory=list)
    gets: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    """Chat requests that got a valid answer (slow ones included)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def spec(self) -> str:
        return f"openai:{self.base_url}#{self.model}"

    @property
    def posts(self) -> int:
        """Chat requests received."""
        return len(self.arrivals)

    @property
    def received(self) -> int:
        """Every request received (chat and ``GET /models``)."""
        return len(self.arrivals) + self.gets

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return {
                "received": self.received,
                "chat_requests": self.posts,
                "answered": self.answered,
                "injected": dict(sorted(self.injected.items())),
            }


@contextlib.contextmanager
def start_fault_server(
    schedule: Schedule, answer: Answer, *, port: int | None = None, model: str = "fake"
) -> Iterator[FaultServer]:
    """Serve until the block ends; ``answer(request_body)`` is the content of a good reply.

    Every wait is cut short when the block ends, and the port is closed on exit,
    failure included.
    """
    stopping = threading.Event()
    listener = _Listener(port or 0)
    state = FaultServer(listener.port, model)

    class _Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with state._lock:
                state.gets += 1
            if self.path.endswith("/models"):
                self._send(200, model_list(state.model))
            else:
                self._send(404, {"error": f"no route GET {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            body = json.loads(raw)
            with state._lock:
                index = len(state.arrivals)
                fault = schedule(index)
                state.arrivals.append(
                    Arrival(index, time.monotonic(), fault.kind if fault else None, body)
                )
                if fault is not None:
                    state.injected[fault.kind] += 1
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": f"no route POST {self.path}"})
            elif fault is None:
                self._answer(body)
            else:
                self._inject(fault, body)

        def _inject(self, fault: Fault, body: dict[str, Any]) -> None:
            kind = fault.kind
            if kind == "refuse":
                # The port closes first: a client that retries at once is refused, not
                # queued on a listener about to close (which would read as a reset).
                listener.close_for(fault.seconds)
                self._drop()
            elif kind == "500":
                self._send(500, {"error": {"message": "injected internal error"}})
            elif kind == "429":
                retry_after = f"{fault.seconds:g}"
                self._send(429, {"error": "slow down"}, {"Retry-After": retry_after})
            elif kind == "503":
                when = email.utils.formatdate(time.time() + fault.seconds, usegmt=True)
                self._send(503, {"error": "unavailable"}, {"Retry-After": when})
            elif kind in ("hang", "slow"):
                if stopping.wait(fault.seconds):
                    return
                self._answer(body)
            elif kind == "malformed":
                self._send(200, chat_completion('{"word":"cut'))
            elif kind == "schema":
                self._send(200, chat_completion('{"wrong":1}'))
            elif kind == "drop":
                payload = json.dumps(chat_completion(answer(body))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self._drop()
            else:  # pragma: no cover - FaultKind is closed
                raise AssertionError(kind)

        def _answer(self, body: dict[str, Any]) -> None:
            if self._send(200, chat_completion(answer(body))):
                with state._lock:
                    state.answered += 1

        def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> bool:
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return True
            except OSError:
                return False  # the client gave up (it timed out): nothing to answer

        def _drop(self) -> None:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    listener.handler = _Handler
    listener.open()
    try:
        yield state
    finally:
        stopping.set()
        listener.stop()


class _Listener:
    """The listening side: opens, closes (refusing connections) and reopens one port."""

    def __init__(self, port: int) -> None:
        self.handler: type[BaseHTTPRequestHandler] | None = None
        self._lock = threading.Lock()
        self._server: DeepQueueServer | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._stopped = False
        if port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((HOST, 0))
                port = int(probe.getsockname()[1])
        self.port = port

    def open(self) -> None:
        with self._lock:
            if self._stopped or self._server is not None:
                return
            assert self.handler is not None
            server = DeepQueueServer((HOST, self.port), self.handler)
            server.daemon_threads = True
            server.block_on_close = False
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
            )
            thread.start()
            self._server, self._thread = server, thread

    def close_for(self, seconds: float) -> None:
        """Stop listening now, and listen again after ``seconds``."""
        self._close()
        with self._lock:
            if self._stopped:
                return
            self._timer = threading.Timer(seconds, self.open)
            self._timer.daemon = True
            self._timer.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
        self._close()

    def _close(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
