"""The tool agent graph (Planner, Caller, tool execution, Summarizer) and the caller pipeline."""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import smallagents
from smallagents import END, START

_ROLES = smallagents.load_roles(Path(__file__).resolve().parent.parent / "roles" / "tool_agent.py")

DEFAULT_MAX_STEPS = 4
# Each step is three nodes (planner, caller, execute): 20 steps stay well inside the
# default recursion limit of 100 that a compiled graph gets.
MAX_STEPS_LIMIT = 20
_NO_PLAN = {"thought": "The planner gave no valid answer.", "next": "give_up"}

_LENGTH_UNITS = {"m": 1.0, "km": 1000.0, "ft": 0.3048, "mi": 1609.344}


@smallagents.tool(timeout=2.0)
def calculate(
    operation: Literal["add", "subtract", "multiply", "divide", "power"], a: float, b: float
) -> float:
    """Apply an arithmetic operation to two numbers: a OPERATION b.

    Args:
        operation: what to do with a and b.
        a: the first number.
        b: the second number.
    """
    if operation == "add":
        return a + b
    if operation == "subtract":
        return a - b
    if operation == "multiply":
        return a * b
    if operation == "divide":
        return a / b  # a ZeroDivisionError becomes the observation
    if abs(b) > 1000 or abs(a) > 1e6:  # a number too large to print is no answer
        raise ValueError("the power is too large to compute")
    return float(math.pow(a, b))


@smallagents.tool(timeout=2.0)
def convert_length(
    value: float,
    from_unit: Literal["m", "km", "ft", "mi"],
    to_unit: Literal["m", "km", "ft", "mi"],
) -> float:
    """Convert a length from one unit to another.

    Args:
        value: the length to convert.
        from_unit: the unit of the length (m, km, ft or mi).
        to_unit: the unit wanted.
    """
    return round(value * _LENGTH_UNITS[from_unit] / _LENGTH_UNITS[to_unit], 6)


TOOLS: list[smallagents.Tool] = [calculate, convert_length]
"""The Python tools the built-in ``tool_agent`` graph can run."""


class _ToolAgentQuery(TypedDict):
    query: str


class ToolAgentInput(_ToolAgentQuery, total=False):
    """What the graph needs: the request; optionally more tools and a step limit.

    ``tools`` are OpenAI function specs offered besides the graph's Python tools (a
    spec named like a Python tool is replaced by it); ``max_steps`` caps the calls
    (1 to 20, default 4).
    """

    tools: list[dict[str, Any]]
    max_steps: int


class ToolAgentOutput(TypedDict, total=False):
    """What the graph returns.

    ``status`` is ``answered``, ``step_limit`` (answered from the results of the last
    allowed step), ``gave_up`` or ``unanswered`` (the Summarizer gave no valid
    answer). ``history`` holds each call: ``name``, ``arguments``, ``status``,
    ``observation``, ``truncated`` and ``step``.
    """

    answer: str
    status: str
    history: list[dict[str, Any]]
    steps: int


class ToolAgentState(TypedDict, total=False):
    """The whole state; ``history`` collects the calls and their observations."""

    query: str
    tools: list[dict[str, Any]]
    max_steps: int
    plan: dict[str, Any]
    calls: list[dict[str, Any]]
    history: Annotated[list[dict[str, Any]], operator.add]
    steps: int
    answer: str
    status: str


def history_text(history: Sequence[dict[str, Any]]) -> str:
    """The calls so far as the roles read them: ``1. name({...}) -> observation``."""
    return "\n".join(
        f"{index}. {entry['name']}({json.dumps(entry['arguments'], separators=(',', ':'))})"
        f" -> {entry['observation']}"
        for index, entry in enumerate(history, 1)
    )


def _role_inputs(state: ToolAgentState) -> dict[str, Any]:
    return {
        "query": state["query"],
        "tools": state["tools"],
        "history": history_text(state.get("history", [])),
    }


def _after_planner(state: ToolAgentState) -> str:
    return {"caller": "caller", "summarizer": "summarizer"}.get(state["plan"]["next"], "give_up")


def _after_execute(state: ToolAgentState) -> str:
    return "summarizer" if state["steps"] >= state["max_steps"] else "planner"


def build_graph(
    tools: Sequence[smallagents.Tool] = TOOLS,
    *,
    name: str = "tool_agent",
    max_steps: int = DEFAULT_MAX_STEPS,
) -> smallagents.Graph:
    """The tool agent graph with these Python tools.

    ::

        START -> setup -> planner -> caller -> execute -> planner -> ... -> summarizer -> END
                                 \\-> summarizer -> END      (the results answer the request)
                                 \\-> give_up -> END         (no tool can help; see below)
                                      execute -> summarizer  (the step limit is reached)

    The Planner's ``give_up`` is its ``unsure`` answer: the request first takes the
    escalation edge to the fallback model (``--fallback`` / ``fallback=``); only when
    that does not settle it (no fallback, or the fallback gives up too) does the run
    end with status ``gave_up``. The tools are ``tools``, the tools of the job's MCP
    servers (``smallagents.tools.job_tools``), and the function specs of the
    input's ``tools``; a spec without a Python function can be called
    but not run (its observation says so). The Caller is decoded with the calls
    schema of exactly these tools, so no request, however hostile, can make it call
    anything else; the execute step checks the name again anyway and validates every
    argument before running. A tool marked ``requires_confirmation`` runs only when
    the ``Run``'s ``tool_approval`` allows the call (a job's
    ``--allow-tool NAME``); otherwise its observation says it was not run.

    Args:
        tools: the tools it can run (plus the specs each input brings).
        name: the graph's name.
        max_steps: the default step limit (an input's ``max_steps`` overrides it).

    Raises:
        ToolDefinitionError: two tools share a name.
    """
    registered = {item.name: item for item in smallagents.tools.as_tools(tools)}

    def setup(state: ToolAgentState) -> dict[str, Any]:
        """Gather the tools of this run and check the step limit."""
        try:
            given = smallagents.tools.as_tools(state.get("tools", []))
        except smallagents.errors.UsageError as error:
            raise smallagents.errors.GraphInputError(
                name, f"tools: {error.message}", fix=error.fix or "pass OpenAI function specs"
            ) from None
        # The job's MCP servers (smallagents.toml [mcp.servers.NAME], --mcp): one that
        # does not start raises ToolServerError, and the job rejects this record.
        served = [item for item in smallagents.tools.job_tools() if item.name not in registered]
        offered = [item.to_openai() for item in [*registered.values(), *served]]
        known = set(registered) | {item.name for item in served}
        offered += [item.to_openai() for item in given if item.name not in known]
        if not offered:
            raise smallagents.errors.GraphInputError(
                name, "no tools to call", fix="pass tools= with OpenAI function specs"
            )
        limit = state.get("max_steps", max_steps)
        if not 1 <= limit <= MAX_STEPS_LIMIT:
            raise smallagents.errors.GraphInputError(
                name, f"max_steps={limit}", fix=f"pass max_steps from 1 to {MAX_STEPS_LIMIT}"
            )
        return {"tools": offered, "max_steps": limit, "steps": 0}

    def execute(state: ToolAgentState) -> dict[str, Any]:
        """Run the Caller's calls (validated, with timeouts) and record the observations."""
        step = state.get("steps", 0) + 1
        # Python tools run; specs from the input are known but have nothing to run.
        available = {
            spec_tool.name: spec_tool for spec_tool in smallagents.tools.as_tools(state["tools"])
        }
        available.update({item.name: item for item in smallagents.tools.job_tools()})
        available.update(registered)
        calls = state.get("calls") or []
        run = smallagents.current_run()
        # A tool marked requires_confirmation runs only when the run's approval says so
        # (a job's --allow-tool, or a callback in Python); otherwise its observation
        # tells the model it was not run.
        approve = run.tool_approval if run is not None else None
        if calls:
            results = smallagents.tools.run_calls(
                calls, available.values(), approve=approve, run=run
            )
            entries = [r.as_dict() for r in results]
        else:
            entries = [
                {
                    "name": "none",
                    "arguments": {},
                    "status": "error",
                    "observation": "error: the caller gave no valid call",
                    "truncated": False,
                }
            ]
        update: dict[str, Any] = {
            "history": [{**entry, "step": step} for entry in entries],
            "steps": step,
            "calls": [],
        }
        if step >= state["max_steps"]:
            update["status"] = "step_limit"
        return update

    def give_up(state: ToolAgentState) -> dict[str, Any]:
        """End without an answer: the Planner (and the escalation edge) gave up."""
        return {"status": "gave_up", "answer": ""}

    return (
        smallagents.Graph(
            name,
            state=ToolAgentState,
            input=ToolAgentInput,
            output=ToolAgentOutput,
            description="Plan, call tools (validated, timed out), and answer from the results.",
        )
        .step("setup", setup)
        .role(
            "planner",
            _ROLES["planner"],
            inputs=_role_inputs,
            output=lambda plan, _: {"plan": plan or _NO_PLAN},
            on_unresolved="keep",  # a give-up the fallback did not settle ends the run
        )
        .role(
            "caller",
            _ROLES["caller"],
            inputs=_role_inputs,
            output=lambda answer, _: {"calls": (answer or {}).get("calls", [])},
            on_unresolved="keep",  # no valid call: the execute step records it
        )
        .step("execute", execute)
        .role(
            "summarizer",
            _ROLES["summarizer"],
            inputs=lambda s: {
                "query": s["query"],
                "results": history_text(s.get("history", [])) or "none",
            },
            output=lambda answer, s: {
                "answer": answer["answer"] if answer else "",
                "status": (s.get("status") or "answered") if answer else "unanswered",
            },
            on_unresolved="keep",
        )
        .step("give_up", give_up)
        .edge(START, "setup")
        .edge("setup", "planner")
        .branch("planner", _after_planner, to=["caller", "summarizer", "give_up"])
        .edge("caller", "execute")
        .branch("execute", _after_execute, to=["planner", "summarizer"])
        .edge("summarizer", END)
        .edge("give_up", END)
    )


graph = build_graph()

caller = smallagents.CallerPipeline(_ROLES["caller"])
"""The Caller alone as a job pipeline named ``caller``."""
