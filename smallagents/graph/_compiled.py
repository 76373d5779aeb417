"""The runnable graph: invoke, stream progress events, resume from a checkpoint file."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Protocol

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.errors import GraphRecursionError

from smallagents.errors import GraphInputError, RecursionLimitError, key_mismatch
from smallagents.graph._context import GraphContext
from smallagents.graph._events import (
    CustomEvent,
    Escalation,
    GraphEvent,
    GraphFinished,
    NodeFinished,
    NodeTiming,
    RoleFinished,
)
from smallagents.graph._state import field_types, inputs_fingerprint, json_schema
from smallagents.models.pool import thread_pool
from smallagents.run import Run

_FINGERPRINT_KEY = "smallagents_inputs"


@dataclass
class _Plan:
    config: dict[str, Any]
    first_input: Any  # the inputs, or None to continue an interrupted run
    resumed: bool = False
    finished: Mapping[str, Any] | None = None  # the stored output of a finished run


class GraphSource(Protocol):
    """What a compiled graph reads of the `Graph` it was compiled from.

    A protocol rather than the `Graph` class: the builder makes compiled graphs, so it
    imports this module, and this module does not import it back.
    """

    name: str
    input_schema: type[Any]
    output_schema: type[Any]


class CompiledGraph:
    """A runnable graph: `invoke`, `stream`, `mermaid`.

    The compiled LangGraph graph stays reachable as `langgraph` (run it with
    ``context=GraphContext(run)`` to keep role records on a run). Close it (or use
    it as a context manager) to release the checkpoint file.
    """

    def __init__(
        self,
        graph: GraphSource,
        compiled: Any,
        saver: SqliteSaver | None,
        recursion_limit: int,
    ) -> None:
        self.graph = graph
        self.langgraph = compiled
        self.recursion_limit = recursion_limit
        self._saver = saver

    @property
    def name(self) -> str:
        """The graph's name."""
        return self.graph.name

    def invoke(
        self,
        inputs: Mapping[str, Any],
        *,
        run: Run | None = None,
        thread_id: str | None = None,
    ) -> dict[str, Any]:
        """Run the graph to its end and return its output.

        With a checkpoint file, ``thread_id`` names the run in it: calling again
        with the same ``thread_id`` (after a crash, in any process) continues from
        the last finished step, and on a finished thread returns the stored output
        without running anything.

        Args:
            inputs: the graph's inputs (its input schema's keys).
            run: the run that pays for the role calls and keeps their records
                (default: a new one). A run without a model pool uses the calling
                thread's pool for every node, parallel ones included: models
                serialize their own use, and a pool per LangGraph worker thread
                would load every model again.
            thread_id: the run's name in the checkpoint file; required with one.

        Raises:
            GraphInputError: missing inputs, no ``thread_id`` with a checkpoint, or a
                thread that holds a run with other inputs.
            RecursionLimitError: the run took more than ``recursion_limit`` steps.
            RoleUnresolvedError: a role node could not settle its answer.
        """
        plan = self._plan(inputs, thread_id)
        if plan.finished is not None:
            return dict(plan.finished)
        run = run if run is not None else Run()
        with self._bound(run), self._translated():
            result = self.langgraph.invoke(
                plan.first_input, plan.config, context=GraphContext(run), **self._durability()
            )
        return dict(result or {})

    def stream(
        self,
        inputs: Mapping[str, Any],
        *,
        run: Run | None = None,
        thread_id: str | None = None,
    ) -> Iterator[GraphEvent]:
        """Run the graph and yield progress events as they happen.

        Yields `RoleFinished` and `Escalation` while role nodes
        finish, `NodeFinished` once a node's update is applied,
        `CustomEvent` for what steps write with ``get_stream_writer()``, and
        last `GraphFinished` with the output. Arguments, resuming and errors
        are those of `invoke`.
        """
        plan = self._plan(inputs, thread_id)
        if plan.finished is not None:
            yield GraphFinished(output=dict(plan.finished), seconds=0.0, resumed=False)
            return
        run = run if run is not None else Run()
        start = perf_counter()
        timings: dict[str, deque[float]] = defaultdict(deque)
        output: Mapping[str, Any] = {}
        with self._bound(run), self._translated():
            chunks = self.langgraph.stream(
                plan.first_input,
                plan.config,
                context=GraphContext(run),
                stream_mode=["updates", "custom", "values"],
                **self._durability(),
            )
            for mode, chunk in chunks:
                if mode == "custom":
                    if isinstance(chunk, NodeTiming):
                        timings[chunk.node].append(chunk.seconds)
                    elif isinstance(chunk, RoleFinished | Escalation):
                        yield chunk
                    else:
                        yield CustomEvent(chunk)
                elif mode == "updates":
                    for node, update in chunk.items():
                        if node.startswith("__"):
                            continue  # LangGraph's own bookkeeping (interrupts)
                        queue = timings[node]
                        seconds = queue.popleft() if queue else 0.0
                        yield NodeFinished(node, seconds, dict(update or {}))
                else:
                    output = chunk
        yield GraphFinished(
            output=self._output(output), seconds=perf_counter() - start, resumed=plan.resumed
        )

    def state(self, thread_id: str) -> dict[str, Any] | None:
        """The whole state of a thread in the checkpoint file (``None`` if it has none)."""
        if self._saver is None:
            raise GraphInputError(
                self.name, "no checkpoint file", fix="compile with checkpoint= to keep state"
            )
        snapshot = self.langgraph.get_state({"configurable": {"thread_id": thread_id}})
        return dict(snapshot.values) if snapshot.metadata is not None else None

    def mermaid(self) -> str:
        """The graph as a Mermaid flowchart (dotted arrows: branches and fan-outs)."""
        return str(self.langgraph.get_graph().draw_mermaid())

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema of the graph's input."""
        return json_schema(self.graph.input_schema)

    def output_schema(self) -> dict[str, Any]:
        """The JSON Schema of the graph's output."""
        return json_schema(self.graph.output_schema)

    def close(self) -> None:
        """Release the checkpoint file."""
        if self._saver is not None:
            self._saver.conn.close()
            self._saver = None

    def __enter__(self) -> CompiledGraph:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<compiled graph {self.name!r}>"

    # --- helpers ---

    def _plan(self, inputs: Mapping[str, Any], thread_id: str | None) -> _Plan:
        self._check_inputs(inputs)
        fingerprint = inputs_fingerprint(inputs)
        config: dict[str, Any] = {
            "recursion_limit": self.recursion_limit,
            "metadata": {_FINGERPRINT_KEY: fingerprint},
        }
        if self._saver is None:
            return _Plan(config, dict(inputs))
        if not thread_id:
            raise GraphInputError(
                self.name,
                "no thread_id with a checkpoint file",
                fix="pass thread_id= (one per run) so that the run can resume",
            )
        config["configurable"] = {"thread_id": thread_id}
        snapshot = self.langgraph.get_state(config)
        if snapshot.metadata is None:  # a new thread
            return _Plan(config, dict(inputs))
        if snapshot.metadata.get(_FINGERPRINT_KEY) != fingerprint:
            raise GraphInputError(
                self.name,
                f"thread {thread_id!r} holds a run with other inputs",
                fix="use a new thread_id for new inputs, or delete the checkpoint file",
            )
        if snapshot.next:
            return _Plan(config, None, resumed=True)
        return _Plan(config, None, finished=self._output(snapshot.values))

    def _durability(self) -> dict[str, Any]:
        # LangGraph's default ("async") writes a step's checkpoint while the next step
        # runs: a process killed meanwhile lost finished steps in our crash test.
        # "sync" writes each step before the next starts; a SQLite write is cheap next
        # to a model call.
        return {"durability": "sync"} if self._saver is not None else {}

    def _check_inputs(self, inputs: Mapping[str, Any]) -> None:
        schema = self.graph.input_schema
        required: frozenset[str] = getattr(schema, "__required_keys__", frozenset())
        missing = sorted(key for key in required if key not in inputs)
        known = field_types(schema)
        unknown = sorted(key for key in inputs if known and key not in known)
        if missing or unknown:
            raise GraphInputError(
                self.name,
                key_mismatch(missing, unknown),
                fix=f"pass the keys of {schema.__name__}: {', '.join(known)}",
            )

    def _output(self, values: Mapping[str, Any]) -> dict[str, Any]:
        channels = self.langgraph.output_channels
        if isinstance(channels, str):
            return {channels: values.get(channels)}
        return {key: values[key] for key in channels if key in values}

    @contextmanager
    def _bound(self, run: Run) -> Iterator[None]:
        # LangGraph runs parallel nodes on worker threads; a Run without a pool would
        # give each worker thread a pool of its own and load every model again.
        if run.pool is not None:
            yield
            return
        run.pool = thread_pool()
        try:
            yield
        finally:
            run.pool = None

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except GraphRecursionError as error:
            raise RecursionLimitError(self.name, self.recursion_limit) from error
