"""The node wrappers: a role node runs its role with the graph's run, a step node plain code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any, Literal

from smallagents.errors import GraphInputError, RoleUnresolvedError
from smallagents.graph._context import GraphContext
from smallagents.graph._events import Escalation, NodeTiming, RoleFinished
from smallagents.graph._state import State, Update, plain
from smallagents.role import Role

Inputs = Callable[[State], Mapping[str, Any]]
Output = str | Callable[[Any, Any], Update]
Seed = int | Callable[[State], int] | None


def role_node(
    graph: str,
    node: str,
    role: Role,
    inputs: Inputs | None,
    output: Output | None,
    seed: Seed,
    on_unresolved: Literal["raise", "keep"],
) -> Callable[..., Update]:
    """The LangGraph action of a role node; see `Graph.role` for the arguments."""

    def run_role(state: Any, runtime: Any) -> Update:
        start = perf_counter()
        context = runtime.context
        run = context.run if isinstance(context, GraphContext) else None
        arguments = dict(inputs(state)) if inputs else _default_inputs(graph, node, role, state)
        chosen_seed = seed(state) if callable(seed) else seed
        # Role calls are deterministic (the default seed derives from the role's name
        # and inputs), so re-running this node after a crash or a retry asks the same
        # question and gets the same answer: the node is idempotent. Its record goes
        # to the run's ledger each time it runs, because each run costs tokens.
        record = role.invoke(arguments, run=run, seed=chosen_seed)
        writer = runtime.stream_writer
        writer(RoleFinished.of(node, record))
        if record.escalation_reason is not None:
            writer(
                Escalation(
                    node=node,
                    role=record.role,
                    reason=record.escalation_reason,
                    status=record.status,
                    model=record.model,
                    detail=record.detail,
                )
            )
        if not record.resolved and on_unresolved == "raise":
            raise RoleUnresolvedError(
                record,
                role=record.role,
                reason=record.escalation_reason or "unresolved",
                detail=record.detail,
            )
        value = plain(record.value)
        if output is None:
            update: Update = {}
        elif isinstance(output, str):
            update = {output: value}
        else:
            update = dict(output(value, state))
        writer(NodeTiming(node, perf_counter() - start))
        return update

    run_role.__name__ = node
    return run_role


def _default_inputs(graph: str, node: str, role: Role, state: Any) -> dict[str, Any]:
    missing = [key for key in role.spec.inputs if key not in state]
    if missing:
        raise GraphInputError(
            graph,
            f"node {node!r}: role {role.name!r} needs {', '.join(missing)}, "
            "which the node's input lacks",
            fix="pass inputs= to the node, or make sure an earlier node writes these keys",
        )
    return {key: state[key] for key in role.spec.inputs}


def step_node(node: str, fn: Callable[[Any], Update | None]) -> Callable[..., Update]:
    """The LangGraph action of a plain step: ``fn(state)``, timed for the progress events."""

    def run_step(state: Any, runtime: Any) -> Update:
        start = perf_counter()
        update = fn(state)
        runtime.stream_writer(NodeTiming(node, perf_counter() - start))
        return dict(update or {})

    run_step.__name__ = node
    return run_step
