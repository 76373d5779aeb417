"""A job's MCP servers: from ``[mcp.servers.NAME]`` and ``--mcp``, started on first use."""

from __future__ import annotations

import atexit
import contextlib
import shlex
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from smallagents.errors import ConfigError, UsageError
from smallagents.tools._mcp import DEFAULT_STARTUP_TIMEOUT, McpServer, McpServerConfig
from smallagents.tools._tool import DEFAULT_MAX_OUTPUT_CHARS, DEFAULT_TIMEOUT, Tool

_SERVER_KEYS: dict[str, Any] = {
    "command": str,
    "args": list,
    "env": dict,
    "url": str,
    "timeout": (int, float),
    "startup_timeout": (int, float),
    "max_output_chars": int,
    "requires_confirmation": list,
}
_job_servers: list[McpServer] = []
_job_lock = threading.Lock()


def server_configs(
    tables: Mapping[str, Any],
    options: Sequence[str] = (),
    *,
    source: str = "smallagents.toml",
) -> list[McpServerConfig]:
    """The servers of ``[mcp.servers.NAME]`` tables and ``--mcp`` options (these win by name).

    A table has ``command`` (with ``args``, ``env``) or ``url``, and optionally
    ``timeout``, ``startup_timeout``, ``max_output_chars`` and
    ``requires_confirmation`` (tool names, or ``["*"]``). An option is
    ``NAME=URL`` (``http://`` or ``https://``) or ``NAME=COMMAND ARGS...``.

    Raises:
        ConfigError: an unknown key, a value of the wrong type, or an option not NAME=...
    """
    found: dict[str, McpServerConfig] = {}
    for name, table in tables.items():
        if isinstance(table, McpServerConfig):  # read from a file already
            found[name] = table
            continue
        where = f"{source}: [mcp.servers.{name}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table.", fix='write command = "..." under it.')
        extra = sorted(set(table) - set(_SERVER_KEYS))
        if extra:
            raise ConfigError(
                f"{where}: unknown key(s) {', '.join(extra)}.",
                fix=f"use only {', '.join(_SERVER_KEYS)}.",
            )
        for key, value in table.items():
            kind = _SERVER_KEYS[key]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ConfigError(
                    f"{where}: {key} = {value!r} has the wrong type.",
                    fix="see the README's MCP section for each key's type.",
                )
        if not all(isinstance(item, str) for item in table.get("args", [])):
            raise ConfigError(f"{where}: args must be strings.", fix='write args = ["x.py"].')
        try:
            found[name] = McpServerConfig(
                name,
                command=table.get("command"),
                args=tuple(table.get("args", ())),
                env={str(k): str(v) for k, v in table.get("env", {}).items()},
                url=table.get("url"),
                timeout=float(table.get("timeout", DEFAULT_TIMEOUT)),
                startup_timeout=float(table.get("startup_timeout", DEFAULT_STARTUP_TIMEOUT)),
                max_output_chars=int(table.get("max_output_chars", DEFAULT_MAX_OUTPUT_CHARS)),
                requires_confirmation=tuple(table.get("requires_confirmation", ())),
            )
        except UsageError as error:
            raise ConfigError(f"{where}: {error.message}", fix=error.fix or "") from None
    for option in options:
        name, sep, target = option.partition("=")
        if not sep or not name.strip() or not target.strip():
            raise ConfigError(
                f"--mcp {option!r} is not NAME=COMMAND or NAME=URL.",
                fix='write e.g. --mcp "files=python server.py" or --mcp web=http://127.0.0.1:8000/mcp',
            )
        if target.startswith(("http://", "https://")):
            found[name.strip()] = McpServerConfig(name.strip(), url=target.strip())
        else:
            words = shlex.split(target)
            found[name.strip()] = McpServerConfig(
                name.strip(), command=words[0], args=tuple(words[1:])
            )
    return list(found.values())


def use_servers(configs: Sequence[McpServerConfig]) -> None:
    """Make these the job's MCP servers (started when a unit first needs their tools)."""
    close_job_servers()
    with _job_lock:
        _job_servers.extend(McpServer(config) for config in configs)


def job_tools() -> list[Tool]:
    """The tools of every server of the job, starting any that is not running.

    Raises:
        ToolServerError: a server did not start (the unit that asked is rejected).
    """
    with _job_lock:
        servers = list(_job_servers)
    tools: list[Tool] = []
    for server in servers:
        tools += server.tools()
    return tools


@atexit.register
def close_job_servers() -> None:
    """Stop the job's servers (their processes too)."""
    with _job_lock:
        servers = list(_job_servers)
        _job_servers.clear()
    for server in servers:
        with contextlib.suppress(Exception):
            server.close()
