"""A Caller's calls: the tools they may name, the calls schema, running them and counting them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from smallagents.errors import ToolDefinitionError, UsageError
from smallagents.run import Run, ToolApproval
from smallagents.structured.schema import compile_schema
from smallagents.tools._parameters import has_local_ref, rebased
from smallagents.tools._result import ToolResult
from smallagents.tools._tool import Tool

DEFAULT_MAX_CALLS = 3
"""Calls one Caller answer may hold."""

TOOL_CALLS = "tool_calls."
"""The prefix of a run's counters of tool calls: ``tool_calls.ok``,
``tool_calls.needs_confirmation`` and so on, one per ``ToolStatus``."""


def allow_tools(names: Iterable[str]) -> ToolApproval:
    """An approval that lets the named tools run, whatever their arguments.

    What ``smallagents run ... --allow-tool NAME`` gives a job: an operator approves a
    tool for the whole batch by name, ahead of time, since nobody is there to
    approve each call.
    """
    allowed = frozenset(names)

    def approve(called: Tool, arguments: Mapping[str, Any]) -> bool:
        return called.name in allowed

    return approve


def as_tools(items: Iterable[Tool | Mapping[str, Any] | Callable[..., Any]]) -> list[Tool]:
    """Tools from tools, OpenAI function specs and typed functions, in order.

    Raises:
        ToolDefinitionError: two tools share a name, or an item is not a tool.
        SchemaError: a spec's parameters are invalid or cannot be a grammar.
    """
    if isinstance(items, Mapping | str) or not isinstance(items, Iterable):
        raise ToolDefinitionError(
            "?", f"expected a list of tools, got {type(items).__name__}", fix="pass a list"
        )
    tools: list[Tool] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Tool):
            made = item
        elif isinstance(item, Mapping):
            made = Tool.from_spec(item)
        elif callable(item):
            made = Tool.from_function(item)
        else:
            raise ToolDefinitionError(
                "?",
                f"{type(item).__name__} is not a tool",
                fix="pass Tool objects, OpenAI function specs or typed functions",
            )
        if made.name in seen:
            raise ToolDefinitionError(
                made.name, "given twice", fix="give each tool its own name, once"
            )
        seen.add(made.name)
        tools.append(made)
    return tools


def calls_schema(
    tools: Iterable[Tool | Mapping[str, Any] | Callable[..., Any]],
    *,
    max_calls: int = DEFAULT_MAX_CALLS,
    min_calls: int = 1,
) -> dict[str, Any]:
    """The JSON Schema a Caller's answer is constrained to, for these tools.

    ``{"calls": [{"name": ..., "arguments": ...}, ...]}`` with ``min_calls`` (0: "no
    tool fits" is an answer) to ``max_calls`` calls, each an ``anyOf`` over the tools of
    ``{"name": {"const": TOOL}, "arguments": TOOL's parameters}``, every object closed.
    Decoded with this grammar, a model can only name a tool it was given, and only with
    arguments that tool's schema accepts. A tool's ``$ref``\\s are rebased under
    ``$defs/tool_INDEX`` so that they still resolve inside the union (by index, not
    name: a name may hold ``/`` or ``~``, which a JSON pointer would misread).

    Raises:
        UsageError: no tools, ``max_calls`` below 1, or ``min_calls`` not in 0..max_calls.
        ToolDefinitionError: two tools share a name.
        SchemaError: the union cannot be compiled to a grammar (never loosened).
    """
    checked = as_tools(tools)
    if not checked:
        raise UsageError("A calls schema needs at least one tool; got none.", fix="pass a tool.")
    if max_calls < 1:
        raise UsageError(f"max_calls={max_calls} is below 1.", fix="pass max_calls=1 or more.")
    if not 0 <= min_calls <= max_calls:
        raise UsageError(
            f"min_calls={min_calls} is not in 0..{max_calls}.", fix="pass min_calls=0 or 1."
        )
    branches: list[dict[str, Any]] = []
    definitions: dict[str, Any] = {}
    for index, item in enumerate(checked):
        arguments: dict[str, Any] = item.parameters
        if has_local_ref(arguments):
            # A $ref points from the document root; inside the union the tool's schema
            # is no longer the root, so it moves under $defs and its refs follow it.
            key = f"tool_{index}"
            definitions[key] = rebased(arguments, f"#/$defs/{key}")
            arguments = {"$ref": f"#/$defs/{key}"}
        branches.append(
            {
                "type": "object",
                # "name" comes first so that the grammar fixes the tool before its arguments.
                "properties": {"name": {"const": item.name}, "arguments": arguments},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    schema: dict[str, Any] = {
        "title": "ToolCalls",
        "type": "object",
        "properties": {
            "calls": {
                "type": "array",
                "items": branches[0] if len(branches) == 1 else {"anyOf": branches},
                "minItems": min_calls,
                "maxItems": max_calls,
            }
        },
        "required": ["calls"],
        "additionalProperties": False,
    }
    if definitions:
        schema["$defs"] = definitions
    compile_schema(schema)  # fail here, loudly; the Caller's call then finds it cached
    return schema


def run_calls(
    calls: Iterable[Mapping[str, Any]],
    tools: Iterable[Tool | Mapping[str, Any]],
    *,
    approve: ToolApproval | None = None,
    run: Run | None = None,
) -> list[ToolResult]:
    """Run a Caller's calls in order; a name no tool has gives an ``unknown_tool`` result.

    Args:
        calls: ``{"name", "arguments"}`` objects, as a Caller answers them.
        tools: the tools the calls may name (tools or function specs).
        approve: decides on calls of tools marked ``requires_confirmation`` (see
            ``Tool.run``); without it they do not run (e.g. ``run.tool_approval``).
        run: counts each call as ``tool_calls.STATUS`` (`TOOL_CALLS`), so that a
            job's report says how many calls ran, failed or were refused; a graph
            step passes its own (``smallagents.current_run()``). ``None``: not counted.
    """
    by_name = {item.name: item for item in as_tools(tools)}
    results: list[ToolResult] = []
    for call in calls:
        name = str(call.get("name", ""))
        arguments = call.get("arguments", {})
        found = by_name.get(name)
        if found is None:
            known = ", ".join(sorted(by_name)) or "none"
            results.append(
                ToolResult(
                    name=name,
                    arguments=dict(arguments) if isinstance(arguments, Mapping) else {},
                    status="unknown_tool",
                    observation=f"error: no tool named {name!r} (tools: {known})",
                )
            )
            continue
        results.append(found.run(arguments, approve=approve))
    if run is not None:
        # Counted here, where every graph's calls pass, rather than in each graph: the
        # job then reports refused calls of any graph that runs tools.
        for result in results:
            run.count(TOOL_CALLS + result.status)
    return results


def describe_tools(tools: Iterable[Tool | Mapping[str, Any] | Callable[..., Any]]) -> str:
    """Tools for a prompt: one ``Tool.describe`` block per tool, each under a dash."""
    return "\n".join(f"- {item.describe()}" for item in as_tools(tools))
