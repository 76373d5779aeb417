"""Servers for tests: the real llama-cpp-python server, and tiny fake ones.

Not tests. ``start_llama_server`` runs llama-cpp-python's server on a GGUF file, as
a user would (through ``python -m smallagents.models.server``, which loads models as
smallagents does: see ``smallagents.models.native.use_extra_buffers``);
``start_fake_server`` runs a threaded ``http.server`` whose answers a test scripts
(garbage, 500, 429, hangs). Every wait here is bounded, and both stop what they
started on exit, failure included.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"


class DeepQueueServer(ThreadingHTTPServer):
    """A threading HTTP server whose accept queue holds a job's whole burst.

    ``socketserver``'s default backlog is 5: when 32 workers connect at once on a
    loaded machine, the serving thread cannot accept fast enough, the queue
    overflows, and a client that already sent its request reads a reset (seen once
    in ``.ci/run``: test_endpoint_concurrency's 32-worker job).
    """

    request_queue_size = 128


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- real server


@dataclass(frozen=True)
class ServerHandle:
    """A running OpenAI-compatible server."""

    base_url: str
    """The API root, e.g. ``http://127.0.0.1:PORT/v1``."""
    model: str
    """The model name the server answers to."""
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def spec(self) -> str:
        """The smallagents model spec, ``openai:BASE_URL#MODEL``."""
        return f"openai:{self.base_url}#{self.model}"

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the server's combined stdout and stderr."""
        return _tail(self.log_path, chars)


@contextlib.contextmanager
def start_llama_server(
    model_path: str | os.PathLike[str],
    *,
    model_alias: str = "smol",
    n_ctx: int = 2048,
    n_threads: int = 1,
    startup_timeout: float = 60.0,
) -> Iterator[ServerHandle]:
    """Run llama-cpp-python's real server on ``model_path`` until the block ends.

    Waits (at most ``startup_timeout`` seconds) until ``GET /v1/models`` answers.
    On failure the error carries the tail of the server's log.
    """
    port = free_port()
    base_url = f"http://{HOST}:{port}/v1"
    command = [
        sys.executable,
        "-m",
        "smallagents.models.server",
        "--model",
        str(model_path),
        "--host",
        HOST,
        "--port",
        str(port),
        "--n_threads",
        str(n_threads),
        # Prompt evaluation too: its default is every core, and two OpenMP threads on a
        # core that something else keeps busy spin at barriers (8 tokens took 8 s).
        "--n_threads_batch",
        str(n_threads),
        "--n_ctx",
        str(n_ctx),
        "--interrupt_requests",
        "False",
        "--model_alias",
        model_alias,
    ]
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in the finally below
        prefix="llama-server-", suffix=".log", delete=False
    )
    log_path = Path(log_file.name)
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
    )
    handle = ServerHandle(base_url, model_alias, process, log_path)
    try:
        _wait_until_up(handle, startup_timeout)
        yield handle
    finally:
        _stop(process)
        log_file.close()
        with contextlib.suppress(OSError):
            log_path.unlink()


def _wait_until_up(handle: ServerHandle, timeout: float) -> None:
    assert handle.process is not None
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    while time.monotonic() < deadline:
        code = handle.process.poll()
        if code is not None:
            raise RuntimeError(
                f"llama_cpp.server exited with code {code} before answering; "
                f"log tail:\n{handle.log_tail()}"
            )
        try:
            response = httpx.get(f"{handle.base_url}/models", timeout=2.0)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}"
        except httpx.HTTPError as error:
            last_error = f"{type(error).__name__}: {error}"
        time.sleep(0.2)
    raise RuntimeError(
        f"llama_cpp.server did not answer GET /v1/models within {timeout:g} s "
        f"(last: {last_error}); log tail:\n{handle.log_tail()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _tail(path: Path | None, chars: int) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError as error:
        return f"(log unreadable: {error})"


# --------------------------------------------------------------------------- fake server


@dataclass(frozen=True)
class Request:
    """One request a fake server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """What a fake server answers.

    ``body``: bytes and str go out as they are, anything else as JSON.
    ``delay``: seconds to hang before answering (cut short when the server stops).
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Request], Reply]


@dataclass
class FakeServer:
    """A running fake server: where it listens and what it was asked."""

    base_url: str
    requests: list[Request]
    stopping: threading.Event

    def spec(self, model: str = "fake") -> str:
        return f"openai:{self.base_url}#{model}"

    def posts(self) -> list[Request]:
        """The POST requests received, in order."""
        return [r for r in list(self.requests) if r.method == "POST"]


@contextlib.contextmanager
def start_fake_server(handler: Handler, *, port: int | None = None) -> Iterator[FakeServer]:
    """Serve ``handler`` on 127.0.0.1 (a free port unless given) until the block ends.

    ``base_url`` ends in ``/v1``; the handler sees full paths (``/v1/models``).
    A handler that raises answers HTTP 599 with the error, so that a broken test
    double shows up as an assertion, not as a hang.
    """
    requests: list[Request] = []
    stopping = threading.Event()

    class _Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            requests.append(request)
            try:
                reply = handler(request)
            except Exception as error:
                reply = Reply(599, f"fake handler failed: {type(error).__name__}: {error}")
            if reply.delay and stopping.wait(reply.delay):
                return  # the server is stopping: drop the connection
            if isinstance(reply.body, bytes):
                payload, content_type = reply.body, "application/octet-stream"
            elif isinstance(reply.body, str):
                payload, content_type = reply.body.encode(), "text/plain; charset=utf-8"
            else:
                payload, content_type = json.dumps(reply.body).encode(), "application/json"
            try:
                self.send_response(reply.status)
                headers = {"Content-Type": content_type, **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a timeout test): nothing to answer

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = DeepQueueServer((HOST, port or 0), _Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    bound = server.server_address[1]
    try:
        yield FakeServer(f"http://{HOST}:{bound}/v1", requests, stopping)
    finally:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- canned answers


def chat_completion(
    content: str | None,
    *,
    model: str = "fake",
    finish_reason: str = "stop",
    prompt_tokens: int = 7,
    completion_tokens: int = 5,
) -> dict[str, Any]:
    """A valid OpenAI ``chat.completion`` envelope around ``content``."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def model_list(model: str = "fake", *, owned_by: str = "me") -> dict[str, Any]:
    """A ``GET /models`` answer; ``owned_by="me"`` is what llama-cpp-python's server says."""
    return {"object": "list", "data": [{"id": model, "object": "model", "owned_by": owned_by}]}


def openai_handler(content: str | Callable[[Request], str], *, owned_by: str = "me") -> Handler:
    """A well-behaved fake: lists one model and answers every chat with ``content``."""

    def handle(request: Request) -> Reply:
        if request.method == "GET" and request.path.endswith("/models"):
            return Reply(body=model_list(owned_by=owned_by))
        if request.method == "POST" and request.path.endswith("/chat/completions"):
            text = content(request) if callable(content) else content
            return Reply(body=chat_completion(text))
        return Reply(404, {"error": f"no route {request.method} {request.path}"})

    return handle
