"""The graph builder: LangGraph `StateGraph`s whose nodes run roles, built in a few lines."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import StateGraph
from langgraph.types import Send

from smallagents.errors import GraphDefinitionError
from smallagents.graph._compiled import CompiledGraph
from smallagents.graph._context import GraphContext
from smallagents.graph._nodes import Inputs, Output, Seed, role_node, step_node
from smallagents.graph._retry import DEFAULT_RETRY, RetryPolicy
from smallagents.graph._state import Update, field_types
from smallagents.role import Role

# LangGraph's own default is 10007 steps: far too many for a loop of model calls
# that never converges. 100 steps is more than any built-in pipeline takes.
DEFAULT_RECURSION_LIMIT = 100


class Graph:
    """A graph of roles and plain steps, built by name; compile it to run it.

    Every method returns the graph, so calls chain. Mistakes (an unknown node, a
    name used twice, an output key the state lacks) raise
    `GraphDefinitionError` where they are made.

    A `Graph` is a thin builder over `langgraph.graph.StateGraph`::

        g = Graph("peer_review", state=ReviewState, input=ReviewInput, output=ReviewOutput)
        g.role("generate", generator, inputs=lambda s: {"domain": s["domain"]}, output="pair")
        g.fan_out("generate", "review", lambda s: [{"pair": s["pair"], "focus": f} for f in FOCI])
        g.role("review", reviewer, output=lambda review, s: {"reviews": [review]})
        g.step("tally", tally)
        g.edge(START, "generate").edge("review", "tally")
        g.branch("tally", lambda s: "adjudicate" if s["disagree"] else END, to=["adjudicate", END])
        app = g.compile(checkpoint="runs.sqlite")
        app.invoke({"domain": "cooking"}, run=run, thread_id="item-17")

    Design points:

    * **No globals.** The `Run` that pays for the role calls
      travels in LangGraph's run-scoped context (`GraphContext`); a role node
      reads it from the ``runtime`` LangGraph injects, so two graphs in one process
      never share a ledger or an escalation budget.
    * **Plain state.** A role's answer is written into the state as plain JSON (a
      pydantic answer is dumped), so checkpoints stay readable by any process and the
      next role validates it back into its own input types.
    * **Resume.** With ``checkpoint=`` a SQLite file keeps every finished step. The
      same ``thread_id`` on the same file continues an unfinished run from its last
      finished step, and returns the stored output of a finished one without running
      anything. A node that was running when the process died runs again from its
      start; role nodes are safe to re-run because role calls are deterministic (the
      default seed derives from the role's name and inputs).
    * **Retries** only on errors that may go away (`is_transient`): an endpoint
      that is down, never a ``ValueError`` or a validation error, which would fail
      the same way again.
    * **Progress** comes from LangGraph's ``stream_mode=["updates", "custom", "values"]``:
      role nodes write their record summaries with the stream writer, and
      `CompiledGraph.stream` turns both into `GraphEvent` dataclasses.
    """

    def __init__(
        self,
        name: str,
        *,
        state: type[Any],
        input: type[Any] | None = None,
        output: type[Any] | None = None,
        description: str = "",
        retry: RetryPolicy | None = DEFAULT_RETRY,
    ) -> None:
        """Start a graph with no nodes.

        Args:
            name: the graph's name (how registries and the CLI find it).
            state: the state schema, a ``TypedDict``; reducers via ``Annotated`` (e.g.
                ``Annotated[list[dict], operator.add]`` for the answers of a fan-out).
            input: the input schema (default: ``state``); its required keys are checked
                when the graph is invoked.
            output: the output schema (default: ``state``).
            description: one line for listings.
            retry: the retry policy of every node unless a node sets its own; ``None``
                never retries.
        """
        self.name = name
        self.description = description
        self.state_schema = state
        self.input_schema = input or state
        self.output_schema = output or state
        self.retry = retry
        self._keys = set(field_types(state))
        self._builder: StateGraph[Any, GraphContext, Any, Any] = StateGraph(
            state, context_schema=GraphContext, input_schema=input, output_schema=output
        )
        self._roles: dict[str, Role] = {}
        self._state_inputs: set[str] = set()  # role nodes that read inputs by state key
        self._send_targets: set[str] = set()

    @property
    def nodes(self) -> list[str]:
        """The node names, in the order they were added."""
        return list(self._builder.nodes)

    @property
    def roles(self) -> dict[str, Role]:
        """The role of each role node."""
        return dict(self._roles)

    def role(
        self,
        node: str,
        role: Role,
        *,
        output: Output | None,
        inputs: Inputs | None = None,
        seed: Seed = None,
        on_unresolved: Literal["raise", "keep"] = "raise",
        retry: RetryPolicy | None = None,
    ) -> Graph:
        """Add a node that runs ``role`` with the graph's `Run`.

        Args:
            node: the node's name.
            role: the role to run.
            output: the state key that receives the answer (as plain JSON); or a
                function ``(answer, node_input) -> update``, e.g.
                ``lambda review, s: {"reviews": [review]}`` for a list with a reducer;
                or ``None`` to keep the answer only in the run's ledger.
            inputs: the role's inputs from the node's input (the state, or the payload
                of a fan-out); default: the keys named like the role's inputs.
            seed: the first sampling seed, or a function of the node's input; default:
                derived from the role and its inputs.
            on_unresolved: ``raise`` stops the graph with
                `RoleUnresolvedError` (retried when a model
                error caused it); ``keep`` writes the vote leader (or ``None``).
            retry: this node's retry policy (default: the graph's).
        """
        if not isinstance(role, Role):
            raise GraphDefinitionError(
                self.name,
                f"node {node!r} got {type(role).__name__}, not a role",
                fix="pass a role made with @smallagents.role or a Role subclass instance",
            )
        if isinstance(output, str):
            self._check_key(node, output)
        self._add(
            node, role_node(self.name, node, role, inputs, output, seed, on_unresolved), retry
        )
        self._roles[node] = role
        if inputs is None:
            self._state_inputs.add(node)
        return self

    def step(
        self,
        node: str,
        fn: Callable[[Any], Update | None],
        *,
        retry: RetryPolicy | None = None,
    ) -> Graph:
        """Add a plain Python node: ``fn(state) -> dict`` of state updates.

        Args:
            node: the node's name.
            fn: reads the node's input (the state, or a fan-out payload) and returns
                the keys to update (or ``None``). It may report progress with
                LangGraph's ``get_stream_writer()``; the stream yields that as
                `CustomEvent`.
            retry: this node's retry policy (default: the graph's).
        """
        self._add(node, step_node(node, fn), retry)
        return self

    def edge(self, source: str | Sequence[str], target: str) -> Graph:
        """Run ``target`` after ``source`` (after all of them, for a list: a join)."""
        try:
            if isinstance(source, str):
                self._builder.add_edge(source, target)
            else:
                self._builder.add_edge(list(source), target)
        except ValueError as error:
            raise self._definition_error(error, "edge") from None
        return self

    def branch(
        self,
        source: str,
        choose: Callable[[Any], str | Sequence[str]],
        *,
        to: Sequence[str] | None = None,
    ) -> Graph:
        """After ``source``, go where ``choose(state)`` says (a node name or ``END``).

        Args:
            source: the node the branch follows.
            choose: returns the next node's name (or several, run in parallel), or
                ``END``.
            to: every name ``choose`` may return; drawn in `CompiledGraph.mermaid`
                and checked when the graph compiles (default: any node).
        """
        try:
            self._builder.add_conditional_edges(source, choose, list(to) if to else None)
        except ValueError as error:
            raise self._definition_error(error, "branch") from None
        return self

    def fan_out(
        self,
        source: str,
        target: str,
        payloads: Callable[[Any], Iterable[Mapping[str, Any] | Send]],
    ) -> Graph:
        """After ``source``, run ``target`` once per payload, in parallel.

        Each payload (a mapping) becomes the input of one run of ``target``, not the
        state: a role node's ``inputs`` then reads the payload. Their updates merge
        through the state's reducers, so the key they write should have one
        (``Annotated[list[...], operator.add]``). A `Send` to ``target`` is
        passed through as it is.

        Args:
            source: the node the fan-out follows.
            target: the node to run per payload.
            payloads: the payloads, from the state after ``source``.
        """

        graph = self.name

        def sends(state: Any) -> list[Send]:
            out = [
                item if isinstance(item, Send) else Send(target, dict(item))
                for item in payloads(state)
            ]
            strays = sorted({send.node for send in out if send.node != target})
            if strays:
                # The chart and the compile-time checks only know about ``target``.
                raise GraphDefinitionError(
                    graph,
                    f"fan-out from {source!r} to {target!r} sent to {', '.join(strays)}",
                    fix=f"send only to {target!r}, or add one fan_out per target",
                )
            return out

        sends.__name__ = f"fan_out_{target}"
        self._send_targets.add(target)
        try:
            self._builder.add_conditional_edges(source, sends, [target])
        except ValueError as error:
            raise self._definition_error(error, "fan_out") from None
        return self

    def compile(
        self,
        *,
        checkpoint: str | Path | None = None,
        recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    ) -> CompiledGraph:
        """Check the graph and make it runnable.

        Args:
            checkpoint: a SQLite file that keeps every finished step, so a run can
                resume after a crash (see `CompiledGraph.invoke`); created with
                its folder if missing. ``None`` keeps nothing.
            recursion_limit: the most steps one run may take before
                `RecursionLimitError`.

        Raises:
            GraphDefinitionError: a node is unreachable, an edge names an unknown node,
                or a role node's default inputs are not state keys.
        """
        self._check_default_inputs()
        saver = None
        if checkpoint is not None:
            path = Path(checkpoint)
            path.parent.mkdir(parents=True, exist_ok=True)
            # The saver serializes access with its own lock, so LangGraph's worker
            # threads may share the connection.
            saver = SqliteSaver(sqlite3.connect(str(path), check_same_thread=False))
        try:
            compiled = self._builder.compile(checkpointer=saver, name=self.name)
        except ValueError as error:
            if saver is not None:
                saver.conn.close()
            raise self._definition_error(error, "compile") from None
        return CompiledGraph(self, compiled, saver, recursion_limit)

    def __repr__(self) -> str:
        return f"<graph {self.name!r}: {', '.join(self.nodes) or 'no nodes'}>"

    # --- helpers ---

    def _add(self, node: str, action: Callable[..., Any], retry: RetryPolicy | None) -> None:
        if node in self._builder.nodes:
            raise GraphDefinitionError(
                self.name, f"node {node!r} is added twice", fix="give each node its own name"
            )
        policy = retry if retry is not None else self.retry
        try:
            self._builder.add_node(node, action, retry_policy=policy)
        except ValueError as error:
            raise self._definition_error(error, f"node {node!r}") from None

    def _check_key(self, node: str, key: str) -> None:
        if key not in self._keys:
            raise GraphDefinitionError(
                self.name,
                f"node {node!r} writes {key!r}, which is not a key of the state "
                f"{self.state_schema.__name__}",
                fix=f"add {key!r} to the state or use one of: {', '.join(sorted(self._keys))}",
            )

    def _check_default_inputs(self) -> None:
        for node in sorted(self._state_inputs - self._send_targets):
            # A fan-out target reads its payload instead, which only exists at run time.
            role = self._roles[node]
            missing = [key for key in role.spec.inputs if key not in self._keys]
            if missing:
                raise GraphDefinitionError(
                    self.name,
                    f"role node {node!r} reads its inputs from the state, which lacks "
                    f"{', '.join(missing)}",
                    fix="pass inputs= to map the state to the role's inputs",
                )

    def _definition_error(self, error: ValueError, where: str) -> GraphDefinitionError:
        # LangGraph reports graph mistakes as ValueError with a good message.
        message = str(error).rstrip(".")
        return GraphDefinitionError(self.name, f"{where}: {message}", fix="fix the graph's wiring")
