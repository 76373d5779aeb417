"""A run: the models it uses, its escalation budget, and the ledger of every role call.

A ``Run`` is passed explicitly (``role.run(..., run=run)``, or by the graph
runtime) rather than kept in a global, so two jobs in one process never share a
budget or a ledger. Each ``RoleRecord`` says what one role call produced and
what it cost; ``Run.summary`` adds them up per role and for the run.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from smallagents.errors import StructuredOutputError
from smallagents.models.base import Generation
from smallagents.models.pool import ModelPool, thread_pool

# Here rather than beside Tool: a Run holds one, and run sits below tools in the layers.
ToolApproval = Callable[[Any, Mapping[str, Any]], bool]
"""Decides whether one call of a tool marked ``requires_confirmation`` may run: called
with the tool (a ``smallagents.Tool``) and the validated arguments; ``True`` runs it.
An exception it raises is not caught: it is the operator's code, not the model's."""

RecordStatus = Literal["ok", "escalated", "unresolved"]
EscalationReason = Literal[
    "schema_failure", "undecided", "low_margin", "low_confidence", "unsure", "model_error"
]


@dataclass(frozen=True)
class RoleRecord:
    """Everything one role call produced.

    Attributes:
        role: the role's name.
        value: the accepted answer; for ``unresolved``, the best the small models
            had (the vote leader), or ``None``.
        status: ``ok`` (small models settled it), ``escalated`` (the fallback
            answered) or ``unresolved`` (nobody could; kept, never dropped).
        model: the model whose answer was accepted (or last tried).
        escalation_reason: why the request left the small models, if it did.
        generations: every valid generation drawn, fallback included.
        votes: vote counts per answer key, when the role votes.
        samples: draws made, red-flagged ones included.
        red_flags: reasons of the discarded draws.
        decided: whether the vote (or the single sample) settled the answer.
        margin: the winner's lead over the runner-up.
        prompt_tokens, completion_tokens, seconds: summed over every draw.
        cost: money spent, for models with a price set on the run.
        unreachable: an ``unresolved`` call whose last model could not be reached
            (an endpoint refused, timed out or has its circuit open): a retry later
            may settle it (``smallagents run --retry-failed``).
        confidence: per-field confidence of the accepted answer (the decoder's
            token probabilities, see ``smallagents.models.base.Generation.confidence``),
            from the small model's generation of it; empty where unknown.
    """

    role: str
    value: Any
    status: RecordStatus
    model: str
    escalation_reason: EscalationReason | None = None
    detail: str = ""
    generations: tuple[Generation, ...] = ()
    votes: Mapping[str, int] = field(default_factory=dict)
    samples: int = 0
    red_flags: tuple[str, ...] = ()
    decided: bool = True
    margin: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost: float = 0.0
    unreachable: bool = False
    confidence: Mapping[str, float] = field(default_factory=dict)

    @property
    def escalated(self) -> bool:
        """Whether the request was sent to the fallback model (and it answered)."""
        return self.status == "escalated"

    @property
    def resolved(self) -> bool:
        """Whether the record holds an accepted answer."""
        return self.status != "unresolved"


@dataclass(frozen=True)
class EscalationBudget:
    """A cap on escalations in one run: a count, a share of role calls, or both."""

    max_count: int | None = None
    max_share: float | None = None

    def allows(self, escalations: int, calls: int) -> bool:
        """Whether one more escalation fits, with ``calls`` role calls made so far."""
        if self.max_count is not None and escalations >= self.max_count:
            return False
        return self.max_share is None or escalations + 1 <= self.max_share * max(calls, 1)


@dataclass(frozen=True)
class Price:
    """Money per million tokens, for an endpoint model."""

    input_per_million: float
    output_per_million: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Cost of one call."""
        return (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        ) / 1_000_000


@dataclass(frozen=True)
class RoleSettings:
    """Run-time overrides of a role's definition (from the CLI or ``smallagents.toml``)."""

    model: str | None = None
    fallback: str | None = None
    votes: int | None = None
    min_confidence: float | None = None
    """Escalate when the answer's confidence is below this (calibrated by
    ``smallagents eval --large``)."""


class Run:
    """The state one job shares among its role calls."""

    def __init__(
        self,
        *,
        pool: ModelPool | None = None,
        budget: EscalationBudget | None = None,
        prices: Mapping[str, Price] | None = None,
        settings: Mapping[str, RoleSettings] | None = None,
        defaults: RoleSettings | None = None,
        aliases: Mapping[str, str] | None = None,
        salt: int | None = None,
        keep_records: bool = True,
        tool_approval: ToolApproval | None = None,
    ) -> None:
        """Args:
        pool: where models are loaded (default: the calling thread's pool).
        budget: the escalation cap (default: none).
        prices: money per model name (a model's ``name``, e.g. ``openai:URL#MODEL``).
        settings: overrides per role name; they win over ``defaults``.
        defaults: overrides for every role (e.g. one fallback for all).
        aliases: model names usable in specs and settings (``big`` ->
            ``openai:http://...#model``).
        salt: mixed into every role's default seed (a job gives each work unit its
            own, so that several samples of one record differ); a role call's own
            ``seed`` is its first sampling seed.
        keep_records: keep every record in ``records`` (a long job turns it off and
            keeps its figures in the job state instead, so memory stays flat).
        tool_approval: decides whether a call of a tool marked
            ``requires_confirmation`` may run (default: none may); graphs that run
            tools pass it to ``smallagents.tools.run_calls``.
        """
        self.pool = pool
        self.budget = budget or EscalationBudget()
        self.prices = dict(prices or {})
        self.settings = dict(settings or {})
        self.defaults = defaults or RoleSettings()
        self.aliases = dict(aliases or {})
        self.salt = salt
        self.keep_records = keep_records
        self.tool_approval = tool_approval
        self.records: list[RoleRecord] = []
        self.counters: dict[str, int] = {}
        """Named event counts (e.g. ``tool_calls.needs_confirmation``, see
        ``smallagents.tools.run_calls``); a job sums them over its units."""
        self._parent: Run | None = None
        self._escalations = 0
        self._calls = 0
        self._lock = threading.Lock()

    def derive(self, *, salt: int | None) -> Run:
        """A run for one unit of work: its own salt and ledger, this run's budget and models.

        Records added to it are added here too; escalations count against this
        run's budget.
        """
        child = Run(
            pool=self.pool,
            budget=self.budget,
            prices=self.prices,
            settings=self.settings,
            defaults=self.defaults,
            aliases=self.aliases,
            salt=salt,
            tool_approval=self.tool_approval,
        )
        child._parent = self
        return child

    def models(self) -> ModelPool:
        """The pool to load models from."""
        # Not `self.pool or ...`: a pool with nothing loaded yet has len 0, so it is falsy.
        return self.pool if self.pool is not None else thread_pool()

    def resolve(self, spec: str) -> str:
        """A model spec with aliases replaced."""
        return self.aliases.get(spec, spec)

    def settings_for(self, role: str) -> RoleSettings:
        """The overrides that apply to one role (its own over the defaults)."""
        own = self.settings.get(role, RoleSettings())
        return RoleSettings(
            model=own.model or self.defaults.model,
            fallback=own.fallback or self.defaults.fallback,
            votes=own.votes or self.defaults.votes,
            min_confidence=(
                own.min_confidence
                if own.min_confidence is not None
                else self.defaults.min_confidence
            ),
        )

    def reserve_escalation(self) -> bool:
        """Take one escalation from the budget; False if it is spent."""
        if self._parent is not None:
            return self._parent.reserve_escalation()
        with self._lock:
            if not self.budget.allows(self._escalations, self._calls + 1):
                return False
            self._escalations += 1
            return True

    def cost_of(self, generation: Generation | StructuredOutputError) -> float:
        """Money spent on one generation, or on a failed one (0 for models without a price)."""
        price = self.prices.get(generation.model)
        return price.cost(generation.prompt_tokens, generation.completion_tokens) if price else 0.0

    def add(self, record: RoleRecord) -> None:
        """Append a record to the ledger."""
        with self._lock:
            self._calls += 1
            if self.keep_records:
                self.records.append(record)
        if self._parent is not None:
            self._parent.add(record)

    def count(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to the counter ``name`` (and to the parent run's)."""
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + amount
        if self._parent is not None:
            self._parent.count(name, amount)

    @property
    def escalations(self) -> int:
        """Escalations taken from the budget so far."""
        return self._escalations

    def summary(self) -> dict[str, Any]:
        """Totals per role and for the run: validity, escalation, latency, tokens, cost."""
        with self._lock:
            records = list(self.records)
        per_role: dict[str, Any] = {}
        for name in sorted({r.role for r in records}):
            per_role[name] = _stats([r for r in records if r.role == name])
        totals = _stats(records)
        resolved = sum(r.resolved for r in records)
        totals["cost_per_resolved"] = totals["cost"] / resolved if resolved else None
        return {"run": totals, "roles": per_role}


def _stats(records: list[RoleRecord]) -> dict[str, Any]:
    samples = sum(r.samples for r in records)
    red_flags = sum(len(r.red_flags) for r in records)
    latencies = sorted(r.seconds for r in records)
    return {
        "calls": len(records),
        "resolved": sum(r.resolved for r in records),
        "escalated": sum(r.escalated for r in records),
        "unresolved": sum(not r.resolved for r in records),
        "escalation_rate": _share(sum(r.escalation_reason is not None for r in records), records),
        "samples": samples,
        "red_flags": red_flags,
        "schema_validity": (samples - red_flags) / samples if samples else None,
        "prompt_tokens": sum(r.prompt_tokens for r in records),
        "completion_tokens": sum(r.completion_tokens for r in records),
        "seconds": sum(latencies),
        "p50_seconds": _quantile(latencies, 0.50),
        "p95_seconds": _quantile(latencies, 0.95),
        "cost": sum(r.cost for r in records),
    }


def _share(count: int, records: list[RoleRecord]) -> float | None:
    return count / len(records) if records else None


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]
