"""A small MCP server for the tests, written with the official SDK (mcp 2.x ``MCPServer``).

    python tests/mcp_server.py                  # over stdio
    python tests/mcp_server.py http PORT        # streamable HTTP on 127.0.0.1:PORT/mcp

Tools: ``math.add`` (a dotted name, as catalogs write them), ``convert_length``,
``shout``, ``slow`` (sleeps), ``die`` (the server process exits mid-call) and
``fail`` (the tool reports an error).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Literal

from mcp.server.mcpserver import MCPServer

server = MCPServer("smallagents-test")

_UNITS = {"m": 1.0, "km": 1000.0, "ft": 0.3048, "mi": 1609.344}


@server.tool(name="math.add", description="Add two numbers.")
def add(a: float, b: float) -> float:
    return a + b


@server.tool(description="Convert a length from one unit to another.")
def convert_length(
    value: float, from_unit: Literal["m", "km", "ft", "mi"], to_unit: Literal["m", "km", "ft", "mi"]
) -> float:
    return round(value * _UNITS[from_unit] / _UNITS[to_unit], 6)


@server.tool(description="Repeat a text in capitals, many times.")
def shout(text: str, times: int = 1) -> str:
    return " ".join([text.upper()] * times)


@server.tool(description="Wait, then answer.")
def slow(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


@server.tool(description="Stop the server.")
def die() -> str:
    os._exit(3)


@server.tool(description="Always fails.")
def fail() -> str:
    raise ValueError("the disk is on fire")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
