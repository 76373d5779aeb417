"""The run-scoped context of one graph run: the `Run` that pays for its role calls."""

from __future__ import annotations

from dataclasses import dataclass

from langgraph.runtime import get_runtime

from smallagents.run import Run


@dataclass(frozen=True)
class GraphContext:
    """What every node of one graph run can reach (LangGraph's run-scoped context).

    Attributes:
        run: the run that pays for the role calls and keeps their records.
    """

    run: Run


def current_run() -> Run | None:
    """The `Run` of the graph run that calls this, from a step.

    A plain step gets only the state; one that needs the run (the tool agent's execute
    step reads its ``tool_approval``) asks here. ``None`` outside a graph run.
    """
    try:
        context = get_runtime().context
    except RuntimeError:  # not inside a graph run
        return None
    return context.run if isinstance(context, GraphContext) else None
