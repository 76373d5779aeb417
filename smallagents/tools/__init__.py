"""Tools a Caller role may call: Python functions, function specs and MCP servers' tools.

The modules, one concern each: ``_tool`` (the ``Tool`` type and ``@tool``),
``_signature`` (type hints and docstrings to JSON Schema), ``_parameters`` (a given
schema checked, closed and compiled), ``_specs`` (names and spec dialects: OpenAI,
Anthropic, MCP, BFCL), ``_result`` and ``_timeouts`` (running one call), ``_calls``
(the calls schema, running and counting a Caller's calls), ``_render`` (a schema as
prompt text), ``_files`` (file tools confined to one folder), ``_mcp`` and
``_mcp_job`` (MCP servers), ``_caller`` (the prompt format each model reads best).
"""

from __future__ import annotations

from smallagents.run import ToolApproval
from smallagents.tools._caller import (
    MAX_NO_CALL_CHARS,
    CallsAnswer,
    ToolPrompt,
    caller_inputs,
    calls_of,
    endpoint_answer,
    native_answer,
    query_messages,
    query_text,
    renders_tools,
)
from smallagents.tools._calls import (
    DEFAULT_MAX_CALLS,
    TOOL_CALLS,
    allow_tools,
    as_tools,
    calls_schema,
    describe_tools,
    run_calls,
)
from smallagents.tools._files import MAX_LISTED, MAX_WRITE_CHARS, ConfinedFolder, file_tools
from smallagents.tools._mcp import (
    DEFAULT_STARTUP_TIMEOUT,
    McpServer,
    McpServerConfig,
    McpToolError,
    mcp_tools,
)
from smallagents.tools._mcp_job import close_job_servers, job_tools, server_configs, use_servers
from smallagents.tools._ranking import most_relevant, relevance
from smallagents.tools._render import describe_schema
from smallagents.tools._result import ToolResult, ToolStatus, format_output, truncate
from smallagents.tools._signature import parse_docstring, without_titles
from smallagents.tools._specs import (
    MAX_SCHEMA_DEPTH,
    MAX_TOOL_NAME,
    OPENAI_TOOL_NAME,
    TOOL_NAME,
    ToolSpec,
    bfcl_messages,
    check_tool_name,
    openai_aliases,
    read_spec,
    schema_depth,
)
from smallagents.tools._tool import DEFAULT_MAX_OUTPUT_CHARS, DEFAULT_TIMEOUT, Tool, tool

__all__ = [
    "DEFAULT_MAX_CALLS",
    "DEFAULT_MAX_OUTPUT_CHARS",
    "DEFAULT_STARTUP_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "MAX_LISTED",
    "MAX_NO_CALL_CHARS",
    "MAX_SCHEMA_DEPTH",
    "MAX_TOOL_NAME",
    "MAX_WRITE_CHARS",
    "OPENAI_TOOL_NAME",
    "TOOL_CALLS",
    "TOOL_NAME",
    "CallsAnswer",
    "ConfinedFolder",
    "McpServer",
    "McpServerConfig",
    "McpToolError",
    "Tool",
    "ToolApproval",
    "ToolPrompt",
    "ToolResult",
    "ToolSpec",
    "ToolStatus",
    "allow_tools",
    "as_tools",
    "bfcl_messages",
    "caller_inputs",
    "calls_of",
    "calls_schema",
    "check_tool_name",
    "close_job_servers",
    "describe_schema",
    "describe_tools",
    "endpoint_answer",
    "file_tools",
    "format_output",
    "job_tools",
    "mcp_tools",
    "most_relevant",
    "native_answer",
    "openai_aliases",
    "parse_docstring",
    "query_messages",
    "query_text",
    "read_spec",
    "relevance",
    "renders_tools",
    "run_calls",
    "schema_depth",
    "server_configs",
    "tool",
    "truncate",
    "use_servers",
    "without_titles",
]
