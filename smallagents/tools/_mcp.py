"""Tools from MCP servers, through the official Python SDK (``mcp`` on PyPI, 2.x).

::

    with smallagents.tools.McpServer("files", command="python", args=["server.py"]) as server:
        tools = server.tools()          # smallagents.Tool objects, one per server tool
    tools = smallagents.tools.mcp_tools(url="http://127.0.0.1:8000/mcp")  # kept open until exit

A server is started over stdio (``command``, ``args``, ``env``) or reached over
streamable HTTP (``url``). Its tools are listed with their input schemas (MCP's
``inputSchema``, read like any other spec: see ``read_spec``) and
become ``Tool`` objects whose calls go to the server: the
arguments are validated against the schema first, the call has the tool's timeout,
a tool marked ``requires_confirmation`` runs only when approved (``--allow-tool``),
and the observation is cut to ``max_output_chars``, as for Python tools.

The session lives on one background thread with its own event loop, for as long as
the ``McpServer`` is open (a job opens it for the job). A server that does not
start, or that dies while a call waits, raises ``ToolServerError``
naming it: a job rejects the unit that needed it and goes on (and tries to start the
server again for the next unit).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smallagents.errors import ToolDefinitionError, ToolServerError, UsageError
from smallagents.tools._signature import without_titles
from smallagents.tools._tool import DEFAULT_MAX_OUTPUT_CHARS, DEFAULT_TIMEOUT, Tool

DEFAULT_STARTUP_TIMEOUT = 30.0
"""Seconds a server may take to start and list its tools."""


class McpToolError(Exception):
    """A tool that the server ran and that reported an error (``isError``): an observation."""


@dataclass(frozen=True)
class McpServerConfig:
    """How to reach one MCP server: a command over stdio, or a streamable-HTTP URL.

    Attributes:
        name: how errors, the job and ``[mcp.servers.NAME]`` name it.
        command: the program that starts the server over stdio.
        args: its arguments.
        env: environment variables added for it.
        url: the server's streamable-HTTP endpoint (``http://127.0.0.1:8000/mcp``).
        timeout: seconds one call may run.
        startup_timeout: seconds to start, connect and list the tools.
        max_output_chars: characters of a result kept in an observation.
        requires_confirmation: names of the server's tools that run only when approved
            (``["*"]``: all of them).
    """

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    requires_confirmation: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise UsageError(
                f"MCP server {self.name!r} needs a command or a url, exactly one.",
                fix='give command = "python" (with args) for stdio, or url = "http://..."',
            )
        if not self.timeout > 0 or not self.startup_timeout > 0:
            raise UsageError(
                f"MCP server {self.name!r}: timeouts must be above 0.", fix="use e.g. timeout = 10"
            )

    def describe(self) -> str:
        """The server in a few words (for errors and the job's fingerprint)."""
        return self.url or " ".join([self.command or "", *self.args])


class McpServer:
    """One MCP server's session, on a background thread; a context manager."""

    def __init__(
        self,
        name: str | McpServerConfig,
        *,
        command: str | None = None,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        requires_confirmation: Sequence[str] = (),
    ) -> None:
        """A server from its settings (see ``McpServerConfig``), or from one given as ``name``."""
        self.config = (
            name
            if isinstance(name, McpServerConfig)
            else McpServerConfig(
                name,
                command=command,
                args=tuple(args),
                env=dict(env or {}),
                url=url,
                timeout=timeout,
                startup_timeout=startup_timeout,
                max_output_chars=max_output_chars,
                requires_confirmation=tuple(requires_confirmation),
            )
        )
        self.name = self.config.name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: Any = None
        self._stop: asyncio.Event | None = None
        self._closed: concurrent.futures.Future[None] | None = None
        self._tools: list[Tool] | None = None
        self._dead = False

    # --- lifecycle ---------------------------------------------------------------------

    def tools(self) -> list[Tool]:
        """The server's tools, starting the server first if it is not running.

        Raises:
            ToolServerError: it did not start, or did not list its tools, in time.
            ToolDefinitionError: a tool's name or schema cannot be a tool here.
        """
        with self._lock:
            if self._tools is None or not self._alive():
                self._shutdown()
                self._tools = self._start()
            return list(self._tools)

    def close(self) -> None:
        """Stop the session (and the server process, for stdio)."""
        with self._lock:
            self._shutdown()
            self._tools = None

    def __enter__(self) -> McpServer:
        self.tools()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<MCP server {self.name!r} ({self.config.describe()})>"

    def _alive(self) -> bool:
        return not self._dead and self._closed is not None and not self._closed.done()

    def _start(self) -> list[Tool]:
        self._dead = False
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=loop.run_forever, name=f"smallagents-mcp-{self.name}", daemon=True
        )
        thread.start()
        self._loop, self._thread = loop, thread
        ready: concurrent.futures.Future[list[Any]] = concurrent.futures.Future()
        self._closed = asyncio.run_coroutine_threadsafe(self._serve(ready), loop)
        try:
            listing = ready.result(self.config.startup_timeout)
        except concurrent.futures.TimeoutError:
            self._shutdown()
            raise ToolServerError(
                self.name,
                f"did not start and list its tools within {self.config.startup_timeout:g} s "
                f"({self.config.describe()})",
                fix="check that the server starts on its own, or raise startup_timeout",
            ) from None
        except Exception as error:
            self._shutdown()
            raise ToolServerError(
                self.name,
                f"could not start ({self.config.describe()}): {_reason(error)}",
                fix="check the command and its arguments (or the url), and the server's stderr",
            ) from None
        return [self._tool(item) for item in listing]

    async def _serve(self, ready: concurrent.futures.Future[list[Any]]) -> None:
        from mcp import ClientSession, StdioServerParameters, stdio_client
        from mcp.client.streamable_http import streamable_http_client

        self._stop = asyncio.Event()
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.config.url is not None:
                    streams = await stack.enter_async_context(
                        streamable_http_client(self.config.url)
                    )
                else:
                    parameters = StdioServerParameters(
                        command=self.config.command or "",
                        args=list(self.config.args),
                        env=dict(self.config.env) or None,
                    )
                    errlog = stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115
                    streams = await stack.enter_async_context(stdio_client(parameters, errlog))
                read, write = streams
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                listing: list[Any] = []
                cursor: str | None = None
                while True:
                    from mcp.types import PaginatedRequestParams

                    params = PaginatedRequestParams(cursor=cursor) if cursor else None
                    page = await session.list_tools(params=params)
                    listing += page.tools
                    cursor = page.next_cursor
                    if not cursor:
                        break
                self._session = session
                ready.set_result(listing)
                await self._stop.wait()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error if isinstance(error, Exception) else RuntimeError(error))
            if not isinstance(error, Exception):
                raise
        finally:
            self._session = None

    def _shutdown(self) -> None:
        loop, thread, closed = self._loop, self._thread, self._closed
        self._loop = self._thread = self._closed = None
        if loop is None:
            return
        if closed is not None and not closed.done() and self._stop is not None:
            loop.call_soon_threadsafe(self._stop.set)
            with contextlib.suppress(Exception):
                closed.result(10)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)
        if not loop.is_running():
            loop.close()

    # --- calls -------------------------------------------------------------------------

    def _tool(self, listed: Any) -> Tool:
        spec = {
            "name": listed.name,
            "description": listed.description or listed.title or "",
            # The SDK's pydantic titles ("title": "A") are noise in a small model's prompt.
            "inputSchema": without_titles(listed.input_schema),
        }
        confirm = self.config.requires_confirmation
        try:
            return Tool.from_spec(
                spec,
                function=_Caller(self, listed.name),
                timeout=self.config.timeout,
                max_output_chars=self.config.max_output_chars,
                requires_confirmation="*" in confirm or listed.name in confirm,
            )
        except ToolDefinitionError as error:
            raise ToolDefinitionError(
                listed.name, f"from MCP server {self.name!r}: {error.message}", fix=error.fix or ""
            ) from None

    def call(self, tool: str, arguments: Mapping[str, Any]) -> str:
        """Call one of the server's tools (validated already) and return its result as text.

        Raises:
            McpToolError: the tool reported an error (the model reads it).
            ToolServerError: the server is not running or died during the call.
        """
        loop, session = self._loop, self._session
        if loop is None or session is None or not self._alive():
            raise ToolServerError(
                self.name,
                "is not running (it stopped, or was never started)",
                fix="check the server's own log; the job starts it again for the next record",
            )
        future = asyncio.run_coroutine_threadsafe(
            session.call_tool(tool, dict(arguments), read_timeout_seconds=self.config.timeout),
            loop,
        )
        try:
            result = future.result(self.config.timeout + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"{tool} did not answer") from None
        except Exception as error:
            if not self._alive() or _looks_closed(error):
                self._dead = True  # the next tools() starts it again
                raise ToolServerError(
                    self.name,
                    f"stopped during a call of {tool}: {_reason(error)}",
                    fix="check the server's own log; the job starts it again for the next record",
                ) from None
            raise McpToolError(_reason(error)) from None
        text = _result_text(result)
        if getattr(result, "is_error", False):
            raise McpToolError(text or "the tool reported an error")
        return text


class _Caller:
    """The function of an MCP tool: forwards the validated arguments to the server."""

    def __init__(self, server: McpServer, tool: str) -> None:
        self.server = server
        self.tool = tool
        self.__name__ = tool

    def __call__(self, **arguments: Any) -> str:
        return self.server.call(self.tool, arguments)


def _result_text(result: Any) -> str:
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        else:
            parts.append(f"[{kind or 'content'}]")
    if not parts and getattr(result, "structured_content", None) is not None:
        return json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
    return "\n".join(parts)


def _reason(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:300]


def _looks_closed(error: BaseException) -> bool:
    text = _reason(error).lower()
    return any(word in text for word in ("closed", "connection", "broken pipe", "eof"))


_open_servers: list[McpServer] = []


def mcp_tools(
    name: str = "mcp",
    *,
    command: str | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    requires_confirmation: Sequence[str] = (),
) -> list[Tool]:
    """The tools of one MCP server, kept running until the process exits.

    For a server that should stop sooner, use ``McpServer`` as a context manager.

    Raises:
        ToolServerError: the server did not start or list its tools.
    """
    server = McpServer(
        name,
        command=command,
        args=args,
        env=env,
        url=url,
        timeout=timeout,
        max_output_chars=max_output_chars,
        requires_confirmation=requires_confirmation,
    )
    tools = server.tools()
    _open_servers.append(server)
    return tools


@atexit.register
def _close_all() -> None:
    for server in _open_servers:
        with contextlib.suppress(Exception):
            server.close()
