"""Tools from MCP servers: a real server written with the SDK (tests/mcp_server.py), over
stdio and over streamable HTTP on 127.0.0.1, called directly and through `smallagents run`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import smallagents
from smallagents.cli import app
from smallagents.errors import ConfigError, ToolServerError
from smallagents.tools import McpServer, server_configs

ROOT = Path(__file__).resolve().parents[1]
SERVER = [sys.executable, str(ROOT / "tests" / "mcp_server.py")]
runner = CliRunner()


@pytest.fixture(scope="module")
def stdio_server() -> Iterator[McpServer]:
    with McpServer(
        "test",
        command=SERVER[0],
        args=SERVER[1:],
        timeout=2,
        max_output_chars=60,
        requires_confirmation=["shout"],
    ) as server:
        yield server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [*SERVER, "http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:  # pragma: no cover - the server never came up
            pytest.fail("the MCP test server did not listen")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def test_a_stdio_server_lists_its_tools_with_their_schemas(stdio_server: McpServer) -> None:
    tools = {t.name: t for t in stdio_server.tools()}
    assert {"math.add", "convert_length", "shout", "slow", "die", "fail"} <= set(tools)
    add = tools["math.add"]
    assert add.description == "Add two numbers."
    assert add.parameters["required"] == ["a", "b"]
    assert "title" not in add.parameters["properties"]["a"]  # SDK noise left out
    units = tools["convert_length"].parameters["properties"]["to_unit"]
    assert units["enum"] == ["m", "km", "ft", "mi"]


def test_calls_are_validated_timed_confirmed_and_truncated(stdio_server: McpServer) -> None:
    tools = {t.name: t for t in stdio_server.tools()}
    assert tools["math.add"].run({"a": 2, "b": 3.5}).observation == "5.5"
    refused = tools["math.add"].run({"a": "two", "b": 1})
    assert refused.status == "invalid_arguments"  # never reached the server
    failed = tools["fail"].run({})
    assert failed.status == "error" and failed.observation.startswith("error: McpToolError")
    timed_out = tools["slow"].run({"seconds": 5})
    assert timed_out.status == "timeout" and "2 s" in timed_out.observation
    unapproved = tools["shout"].run({"text": "hey"})
    assert unapproved.status == "needs_confirmation"
    allowed = tools["shout"].run(
        {"text": "hey", "times": 40}, approve=smallagents.tools.allow_tools(["shout"])
    )
    assert allowed.status == "ok" and allowed.truncated and len(allowed.observation) <= 60
    assert allowed.observation.startswith("HEY HEY")


def test_a_server_over_streamable_http(http_url: str) -> None:
    tools = {t.name: t for t in smallagents.tools.mcp_tools("web", url=http_url)}
    assert (
        tools["convert_length"].run({"value": 2, "from_unit": "km", "to_unit": "m"}).observation
        == "2000.0"
    )


def test_a_server_that_dies_mid_call_raises_and_starts_again() -> None:
    with McpServer("dying", command=SERVER[0], args=SERVER[1:]) as server:
        tools = {t.name: t for t in server.tools()}
        with pytest.raises(ToolServerError) as caught:
            tools["die"].run({})
        message = str(caught.value)
        assert "MCP server 'dying'" in message and "\n" not in message and "Fix:" in message
        again = {t.name: t for t in server.tools()}  # a fresh process
        assert again["math.add"].run({"a": 1, "b": 1}).observation == "2.0"


def test_a_server_that_does_not_start_is_one_line_naming_it() -> None:
    with pytest.raises(ToolServerError) as caught:
        McpServer("broken", command=sys.executable, args=["-c", "raise SystemExit(1)"]).tools()
    message = str(caught.value)
    assert message.startswith("MCP server 'broken': could not start") and "\n" not in message


def test_server_settings_are_checked() -> None:
    made = server_configs(
        {"files": {"command": "python", "args": ["s.py"], "timeout": 5}},
        ["web=http://127.0.0.1:9/mcp", "cli=python other.py --flag"],
    )
    assert [(c.name, c.describe()) for c in made] == [
        ("files", "python s.py"),
        ("web", "http://127.0.0.1:9/mcp"),
        ("cli", "python other.py --flag"),
    ]
    with pytest.raises(ConfigError, match="unknown key"):
        server_configs({"x": {"command": "python", "cmd": "y"}})
    with pytest.raises(ConfigError, match="command or a url"):
        server_configs({"x": {"args": ["y"]}})
    with pytest.raises(ConfigError, match="NAME=COMMAND"):
        server_configs({}, ["no-equals-sign"])


# --- end to end through `smallagents run` with the embedded model ---------------------------


def test_the_caller_job_gets_a_stdio_servers_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMALLAGENTS_THREADS", "1")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "query": "Add 2 and 3.5"}) + "\n")
    command = " ".join(SERVER)
    result = runner.invoke(
        app,
        [
            "run", "caller", "--input", str(source), "--output", str(tmp_path / "out.jsonl"),
            "--mcp", f"test={command}", "--workers", "1", "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (output,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    served = {t.name: t for t in McpServer("check", command=SERVER[0], args=SERVER[1:]).tools()}
    assert output["calls"]
    for call in output["calls"]:
        served[call["name"]].validate(call["arguments"])


def test_the_tool_agent_job_calls_a_server_from_smallagents_toml(
    tmp_path: Path, http_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMALLAGENTS_THREADS", "1")
    config = tmp_path / "smallagents.toml"
    config.write_text(f'[mcp.servers.web]\nurl = "{http_url}"\ntimeout = 5\n')
    # The tool agent with no Python tools of its own: every call it makes goes to the server.
    graphs = tmp_path / "mcp_agent.py"
    agent_file = ROOT / "graphs" / "tool_agent.py"
    graphs.write_text(
        "from pathlib import Path\n"
        "from smallagents import registry\n"
        f"agent = registry.load_module(Path({str(agent_file)!r}))[0]\n"
        "graph = agent.build_graph([], name='mcp_agent')\n"
    )
    source = tmp_path / "in.jsonl"
    # One step (planner, caller, execute, summarizer): the machine is shared.
    record = {"id": "a", "query": "Use math.add to add 2 and 3.5", "max_steps": 1}
    source.write_text(json.dumps(record) + "\n")
    result = runner.invoke(
        app,
        [
            "run", "mcp_agent", "--graphs", str(graphs), "--input", str(source),
            "--output", str(tmp_path / "out.jsonl"), "--config", str(config),
            "--workers", "1", "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (output,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    served = {t.name for t in smallagents.tools.mcp_tools("list", url=http_url)}
    ran = output["history"]
    assert ran and all(entry["name"] in served for entry in ran), ran
    for entry in ran:
        assert entry["status"] in ("ok", "error", "timeout"), entry  # it reached the server
        if entry["name"] == "math.add" and entry["status"] == "ok":
            arguments = entry["arguments"]
            assert float(entry["observation"]) == arguments["a"] + arguments["b"]


def test_a_server_that_does_not_start_rejects_the_records_not_the_job(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(json.dumps({"id": str(i), "query": "Add 1 and 2"}) + "\n" for i in range(2))
    )
    result = runner.invoke(
        app,
        [
            "run", "caller", "--input", str(source), "--output", str(tmp_path / "out.jsonl"),
            "--mcp", f"broken={sys.executable} -c 'raise SystemExit(1)'", "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rejects = [
        json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()
    ]
    assert [r["id"] for r in rejects] == ["0", "1"]
    for reject in rejects:
        assert reject["reason"].startswith("MCP server 'broken': could not start")
