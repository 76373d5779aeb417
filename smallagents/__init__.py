"""smallagents: small local language models that work together.

The public API is what this module exports; ``roles/``, ``graphs/`` and
``schemas/`` are written against it and nothing else.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from smallagents.dedupe import Duplicate, NearDuplicateIndex
from smallagents.errors import (
    CircuitOpenError,
    ContentError,
    ContextOverflowError,
    DownloadError,
    EndpointError,
    GenerationError,
    GraphDefinitionError,
    GraphInputError,
    ModelFileError,
    ModelSpecError,
    ModelUnavailableError,
    RecursionLimitError,
    RoleDefinitionError,
    RoleInputError,
    RoleUnresolvedError,
    SchemaError,
    SmallAgentsError,
    StructuredOutputError,
    ToolArgumentError,
    ToolDefinitionError,
    ToolServerError,
    UsageError,
)
from smallagents.graph import END, START, CompiledGraph, Graph, current_run
from smallagents.jobs.caller_pipeline import CallerPipeline
from smallagents.jobs.pipelines import GraphPipeline, UnitResult
from smallagents.models import Generation, Message, Model, ModelPool, Prompt, load_model
from smallagents.prompts import Example
from smallagents.registry import load_graphs, load_roles
from smallagents.role import EscalationPolicy, Role, RoleSpec, VotingPolicy, role
from smallagents.run import EscalationBudget, Price, RoleRecord, Run
from smallagents.structured import CompiledSchema, compile_schema
from smallagents.tools import (
    CallsAnswer,
    McpServer,
    McpServerConfig,
    Tool,
    ToolApproval,
    ToolPrompt,
    ToolResult,
    allow_tools,
    as_tools,
    calls_of,
    calls_schema,
    describe_tools,
    endpoint_answer,
    file_tools,
    mcp_tools,
    native_answer,
    openai_aliases,
    query_messages,
    query_text,
    read_spec,
    renders_tools,
    run_calls,
    tool,
)
from smallagents.tools import job_tools as job_mcp_tools

try:
    __version__ = version("smallagents")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "END",
    "START",
    "CallerPipeline",
    "CallsAnswer",
    "CircuitOpenError",
    "CompiledGraph",
    "CompiledSchema",
    "ContentError",
    "ContextOverflowError",
    "DownloadError",
    "Duplicate",
    "EndpointError",
    "EscalationBudget",
    "EscalationPolicy",
    "Example",
    "Generation",
    "GenerationError",
    "Graph",
    "GraphDefinitionError",
    "GraphInputError",
    "GraphPipeline",
    "McpServer",
    "McpServerConfig",
    "Message",
    "Model",
    "ModelFileError",
    "ModelPool",
    "ModelSpecError",
    "ModelUnavailableError",
    "NearDuplicateIndex",
    "Price",
    "Prompt",
    "RecursionLimitError",
    "Role",
    "RoleDefinitionError",
    "RoleInputError",
    "RoleRecord",
    "RoleSpec",
    "RoleUnresolvedError",
    "Run",
    "SchemaError",
    "SmallAgentsError",
    "StructuredOutputError",
    "Tool",
    "ToolApproval",
    "ToolArgumentError",
    "ToolDefinitionError",
    "ToolPrompt",
    "ToolResult",
    "ToolServerError",
    "UnitResult",
    "UsageError",
    "VotingPolicy",
    "__version__",
    "allow_tools",
    "as_tools",
    "calls_of",
    "calls_schema",
    "compile_schema",
    "current_run",
    "describe_tools",
    "endpoint_answer",
    "file_tools",
    "job_mcp_tools",
    "load_graphs",
    "load_model",
    "load_roles",
    "mcp_tools",
    "native_answer",
    "openai_aliases",
    "query_messages",
    "query_text",
    "read_spec",
    "renders_tools",
    "role",
    "run_calls",
    "tool",
]
