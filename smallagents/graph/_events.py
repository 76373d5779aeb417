"""The progress events that `CompiledGraph.stream` yields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smallagents.run import RoleRecord


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
    """A role node's call finished; a summary of its `RoleRecord`.

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
"""What `CompiledGraph.stream` yields."""


@dataclass(frozen=True)
class NodeTiming:
    """How long a node ran; not an event itself (see the comment)."""

    # Written by every node wrapper; paired with the node's "updates" chunk, which
    # carries no timing of its own.
    node: str
    seconds: float
