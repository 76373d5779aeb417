"""Graphs: LangGraph `StateGraph`s whose nodes run roles, built in a few lines."""

from langgraph.graph import END, START
from langgraph.types import Send

from smallagents.graph._builder import DEFAULT_RECURSION_LIMIT, Graph
from smallagents.graph._compiled import CompiledGraph
from smallagents.graph._context import GraphContext, current_run
from smallagents.graph._events import (
    CustomEvent,
    Escalation,
    GraphEvent,
    GraphFinished,
    NodeFinished,
    RoleFinished,
)
from smallagents.graph._retry import DEFAULT_RETRY, RetryPolicy, is_transient

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "DEFAULT_RETRY",
    "END",
    "START",
    "CompiledGraph",
    "CustomEvent",
    "Escalation",
    "Graph",
    "GraphContext",
    "GraphEvent",
    "GraphFinished",
    "NodeFinished",
    "RetryPolicy",
    "RoleFinished",
    "Send",
    "current_run",
    "is_transient",
]
