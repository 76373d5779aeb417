"""smallagents: small local language models that work together.

The public API is what this module exports, plus six public modules:
``smallagents.errors`` (the whole error tree), ``smallagents.tools`` (tool helpers,
spec dialects, MCP, the caller on a model's own tool template),
``smallagents.voting`` (first-to-ahead-by-k and its statistics, no model needed),
``smallagents.dedupe``, ``smallagents.decompose`` and ``smallagents.testing``.
``roles/``, ``graphs/``, ``schemas/`` and ``examples/`` are written against these and
nothing else (``tests/test_architecture.py`` checks it).
"""

from __future__ import annotations

from smallagents import decompose, dedupe, errors, testing, tools, voting
from smallagents._version import __version__
from smallagents.errors import SmallAgentsError
from smallagents.graph import END, START, CompiledGraph, Graph, current_run
from smallagents.jobs.caller_pipeline import CallerPipeline
from smallagents.jobs.inputs import InputRecord, read_records
from smallagents.jobs.pipelines import GraphPipeline, UnitResult
from smallagents.models import Generation, Message, Model, ModelPool, Prompt, load_model
from smallagents.prompts import Example
from smallagents.registry import load_graphs, load_roles
from smallagents.role import EscalationPolicy, Role, RoleSpec, VotingPolicy, role
from smallagents.run import EscalationBudget, Price, RoleRecord, Run, ToolApproval
from smallagents.structured import CompiledSchema, compile_schema
from smallagents.tools import Tool, ToolResult, tool

__all__ = [
    "END",
    "START",
    "CallerPipeline",
    "CompiledGraph",
    "CompiledSchema",
    "EscalationBudget",
    "EscalationPolicy",
    "Example",
    "Generation",
    "Graph",
    "GraphPipeline",
    "InputRecord",
    "Message",
    "Model",
    "ModelPool",
    "Price",
    "Prompt",
    "Role",
    "RoleRecord",
    "RoleSpec",
    "Run",
    "SmallAgentsError",
    "Tool",
    "ToolApproval",
    "ToolResult",
    "UnitResult",
    "VotingPolicy",
    "__version__",
    "compile_schema",
    "current_run",
    "decompose",
    "dedupe",
    "errors",
    "load_graphs",
    "load_model",
    "load_roles",
    "read_records",
    "role",
    "testing",
    "tool",
    "tools",
    "voting",
]
