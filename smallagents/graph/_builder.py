"""Graphs: LangGraph ``StateGraph``\\s whose nodes run roles, built in a few lines.

A :class:`Graph` is a thin builder over :class:`langgraph.graph.StateGraph`::

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

* **No globals.** The :class:`~smallagents.run.Run` that pays for the role calls
  travels in LangGraph's run-scoped context (:class:`GraphContext`); a role node
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
* **Retries** only on errors that may go away (:func:`is_transient`): an endpoint
  that is down, never a ``ValueError`` or a validation error, which would fail
  the same way again.
* **Progress** comes from LangGraph's ``stream_mode=["updates", "custom", "values"]``:
  role nodes write their record summaries with the stream writer, and
  :meth:`CompiledGraph.stream` turns both into :data:`GraphEvent` dataclasses.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import typing
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any, Literal

import pydantic
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.errors import GraphRecursionError
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy, Send

from smallagents.errors import (
    DownloadError,
    GraphDefinitionError,
    GraphInputError,
    ModelUnavailableError,
    RecursionLimitError,
    RoleUnresolvedError,
    key_mismatch,
)
from smallagents.models.pool import thread_pool
from smallagents.role import Role
from smallagents.run import RoleRecord, Run

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

State = Mapping[str, Any]
Update = Mapping[str, Any]
Inputs = Callable[[State], Mapping[str, Any]]
Output = str | Callable[[Any, Any], Update]
Seed = int | Callable[[State], int] | None

# LangGraph's own default is 10007 steps: far too many for a loop of model calls
# that never converges. 100 steps is more than any built-in pipeline takes.
DEFAULT_RECURSION_LIMIT = 100


def is_transient(error: BaseException) -> bool:
    """Whether retrying the node may help: the model or endpoint may be back shortly.

    True for :class:`~smallagents.errors.ModelUnavailableError` (an endpoint that
    refused or timed out) but not for a failed download (offline stays offline),
    and for a role left unresolved by such a model error (a role turns model errors
    into an unresolved record rather than raising them). Everything else, a
    ``ValueError`` or a validation error above all, would fail the same way again.
    """
    if isinstance(error, RoleUnresolvedError):
        return error.reason == "model_error"
    return isinstance(error, ModelUnavailableError) and not isinstance(error, DownloadError)


DEFAULT_RETRY = RetryPolicy(
    initial_interval=1.0,
    backoff_factor=2.0,
    max_interval=30.0,
    max_attempts=3,
    retry_on=is_transient,
)
"""Three attempts, 1 s then 2 s apart (jittered), on :func:`is_transient` errors only."""


@dataclass(frozen=True)
class GraphContext:
    """What every node of one graph run can reach (LangGraph's run-scoped context).

    Attributes:
        run: the run that pays for the role calls and keeps their records.
    """

    run: Run


def current_run() -> Run | None:
    """The :class:`~smallagents.run.Run` of the graph run that calls this, from a step.

    A plain step gets only the state; one that needs the run (the tool agent's execute
    step reads its ``tool_approval``) asks here. ``None`` outside a graph run.
    """
    from langgraph.runtime import get_runtime

    try:
        context = get_runtime().context
    except RuntimeError:  # not inside a graph run
        return None
    return context.run if isinstance(context, GraphContext) else None


# --- progress events ------------------------------------------------------------------


@dataclass(frozen=True)
class NodeFinished:
    """A node finished and its update was applied to the state.

    Attributes:
        node: the node's name.
        seconds: how long the node ran (its last attempt, when it was retried).
        update: what it wrote into the state.
    """

    node: str
    seconds: float
    update: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RoleFinished:
    """A role node's call finished; a summary of its :class:`~smallagents.run.RoleRecord`.

    Attributes:
        node: the node that ran the role.
        role: the role's name.
        status: ``ok``, ``escalated`` or ``unresolved``.
        model: the model whose answer was accepted (or last tried).
        votes: vote counts per answer key (one entry when the role does not vote).
        samples: draws made, red-flagged ones included.
        decided: whether the vote settled the answer.
        escalated: whether the fallback model answered.
        escalation_reason: why the request left the small models, if it did.
        seconds: model time spent on the call.
    """

    node: str
    role: str
    status: str
    model: str
    votes: Mapping[str, int]
    samples: int
    decided: bool
    escalated: bool
    escalation_reason: str | None
    seconds: float

    @classmethod
    def of(cls, node: str, record: RoleRecord) -> RoleFinished:
        """The summary of ``record``, produced by node ``node``."""
        return cls(
            node=node,
            role=record.role,
            status=record.status,
            model=record.model,
            votes=dict(record.votes),
            samples=record.samples,
            decided=record.decided,
            escalated=record.escalated,
            escalation_reason=record.escalation_reason,
            seconds=record.seconds,
        )


@dataclass(frozen=True)
class Escalation:
    """A role call left the small models (whether or not the fallback settled it).

    Attributes:
        node: the node that ran the role.
        role: the role's name.
        reason: why (``schema_failure``, ``undecided``, ``low_margin``, ``unsure``,
            ``model_error``).
        status: ``escalated`` (the fallback answered) or ``unresolved``.
        model: the model that answered last.
        detail: the record's explanation.
    """

    node: str
    role: str
    reason: str
    status: str
    model: str
    detail: str


@dataclass(frozen=True)
class CustomEvent:
    """Anything a step wrote with LangGraph's ``get_stream_writer()``."""

    data: Any


@dataclass(frozen=True)
class GraphFinished:
    """The graph reached its end.

    Attributes:
        output: the graph's output (the state, restricted to its output schema).
        seconds: wall time of this call (0 when a finished thread was only read back).
        resumed: whether this call continued a run that a crash had interrupted.
    """

    output: Mapping[str, Any]
    seconds: float
    resumed: bool = False


GraphEvent = NodeFinished | RoleFinished | Escalation | CustomEvent | GraphFinished
"""What :meth:`CompiledGraph.stream` yields."""


@dataclass(frozen=True)
class _NodeTiming:
    # Written by every node wrapper; paired with the node's "updates" chunk, which
    # carries no timing of its own.
    node: str
    seconds: float


# --- the builder ----------------------------------------------------------------------


class Graph:
    """A graph of roles and plain steps, built by name; compile it to run it.

    Every method returns the graph, so calls chain. Mistakes (an unknown node, a
    name used twice, an output key the state lacks) raise
    :class:`~smallagents.errors.GraphDefinitionError` where they are made.
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
        """Args:
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
        self._keys = set(_annotations(state))
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
        """Add a node that runs ``role`` with the graph's :class:`~smallagents.run.Run`.

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
                :class:`~smallagents.errors.RoleUnresolvedError` (retried when a model
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
            node, _role_node(self.name, node, role, inputs, output, seed, on_unresolved), retry
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
                :class:`CustomEvent`.
            retry: this node's retry policy (default: the graph's).
        """
        self._add(node, _step_node(node, fn), retry)
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
            to: every name ``choose`` may return; drawn in :meth:`CompiledGraph.mermaid`
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
        (``Annotated[list[...], operator.add]``). A :class:`Send` to ``target`` is
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
                resume after a crash (see :meth:`CompiledGraph.invoke`); created with
                its folder if missing. ``None`` keeps nothing.
            recursion_limit: the most steps one run may take before
                :class:`~smallagents.errors.RecursionLimitError`.

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


def _annotations(schema: type[Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(schema, include_extras=True)
    except (NameError, TypeError):  # unresolvable forward references: fall back to raw names
        return dict(getattr(schema, "__annotations__", {}))


# --- node wrappers --------------------------------------------------------------------


def _role_node(
    graph: str,
    node: str,
    role: Role,
    inputs: Inputs | None,
    output: Output | None,
    seed: Seed,
    on_unresolved: Literal["raise", "keep"],
) -> Callable[..., Update]:
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
        value = _plain(record.value)
        if output is None:
            update: Update = {}
        elif isinstance(output, str):
            update = {output: value}
        else:
            update = dict(output(value, state))
        writer(_NodeTiming(node, perf_counter() - start))
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


def _step_node(node: str, fn: Callable[[Any], Update | None]) -> Callable[..., Update]:
    def run_step(state: Any, runtime: Any) -> Update:
        start = perf_counter()
        update = fn(state)
        runtime.stream_writer(_NodeTiming(node, perf_counter() - start))
        return dict(update or {})

    run_step.__name__ = node
    return run_step


def _json_schema(schema: type[Any]) -> dict[str, Any]:
    """The JSON Schema of a state, input or output schema.

    A ``typing.TypedDict`` is rebuilt as a pydantic model first: pydantic refuses
    ``typing.TypedDict`` before Python 3.12, which is what LangGraph's own
    ``get_input_jsonschema`` hands it.
    """
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return schema.model_json_schema()
    required = getattr(schema, "__required_keys__", frozenset())
    fields: dict[str, Any] = {
        key: (annotation, ... if key in required else None)
        for key, annotation in _annotations(schema).items()
    }
    model = pydantic.create_model(schema.__name__, __doc__=schema.__doc__, **fields)
    return model.model_json_schema()


def _plain(value: Any) -> Any:
    """An answer as plain JSON data, the form it takes in the state and checkpoints."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def _fingerprint(inputs: Mapping[str, Any]) -> str:
    text = json.dumps(_plain(dict(inputs)), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- the compiled graph ---------------------------------------------------------------

_FINGERPRINT_KEY = "smallagents_inputs"


@dataclass
class _Plan:
    config: dict[str, Any]
    first_input: Any  # the inputs, or None to continue an interrupted run
    resumed: bool = False
    finished: Mapping[str, Any] | None = None  # the stored output of a finished run


class CompiledGraph:
    """A runnable graph: :meth:`invoke`, :meth:`stream`, :meth:`mermaid`.

    The compiled LangGraph graph stays reachable as :attr:`langgraph` (run it with
    ``context=GraphContext(run)`` to keep role records on a run). Close it (or use
    it as a context manager) to release the checkpoint file.
    """

    def __init__(
        self,
        graph: Graph,
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

        Yields :class:`RoleFinished` and :class:`Escalation` while role nodes
        finish, :class:`NodeFinished` once a node's update is applied,
        :class:`CustomEvent` for what steps write with ``get_stream_writer()``, and
        last :class:`GraphFinished` with the output. Arguments, resuming and errors
        are those of :meth:`invoke`.
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
                    if isinstance(chunk, _NodeTiming):
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
        return _json_schema(self.graph.input_schema)

    def output_schema(self) -> dict[str, Any]:
        """The JSON Schema of the graph's output."""
        return _json_schema(self.graph.output_schema)

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
        fingerprint = _fingerprint(inputs)
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
        required = getattr(schema, "__required_keys__", frozenset())
        missing = sorted(key for key in required if key not in inputs)
        known = _annotations(schema)
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
