"""How a role votes on its samples and when it escalates to a fallback model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Unsure = str | Callable[[Any], bool]
"""An output field that says the role is unsure, or a predicate on the answer."""


@dataclass(frozen=True)
class VotingPolicy:
    """How many samples a role draws and how they vote.

    Attributes:
        k: first-to-ahead-by-k: the answer must lead every other by k votes
            (1 = accept the first valid sample; no voting).
        max_samples: draws allowed before the vote counts as undecided
            (default ``4 * k``).
        fields: vote on these output fields only (default: the whole answer).
        temperature: sampling temperature of the votes; greedy votes would all agree.
    """

    k: int = 1
    max_samples: int | None = None
    fields: tuple[str, ...] = ()
    temperature: float = 0.7

    @property
    def budget(self) -> int:
        """Draws allowed."""
        return self.max_samples if self.max_samples is not None else 4 * self.k


@dataclass(frozen=True)
class EscalationPolicy:
    """When a request leaves the small models for ``fallback``.

    Attributes:
        fallback: a model spec, usually ``openai:BASE_URL#MODEL`` for a larger LLM.
        on_schema_failure: escalate when every sample was red-flagged.
        on_undecided: escalate when the vote is undecided within its samples.
        min_margin: escalate when the winner leads by fewer votes than this.
        min_confidence: escalate when the answer's token confidence (the lowest
            per-field confidence of ``confidence_fields``, see
            `Generation.confidence` in `smallagents.models.base`) is below this.
            ``smallagents eval --large`` measures the threshold that reaches a
            target accuracy with the fewest escalations.
        confidence_fields: the answer fields whose confidence counts, as dotted
            paths or their prefixes (``"calls"`` covers ``"calls.0.name"``);
            empty: every field.
        unsure: an output field (truthy = unsure, or one of ``unsure``/``give_up``)
            or a predicate on the answer that says the role is unsure or gives up.
        on_model_error: escalate when the small model cannot run the request
            (context overflow, endpoint down).
    """

    fallback: str | None = None
    on_schema_failure: bool = True
    on_undecided: bool = True
    min_margin: int | None = None
    unsure: Unsure | None = None
    on_model_error: bool = True
    min_confidence: float | None = None
    confidence_fields: tuple[str, ...] = ()
