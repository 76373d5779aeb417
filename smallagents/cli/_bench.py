"""``smallagents bench``: constrained against raw decode speed on this machine, in one run.

The full benchmark with per-call costs, prefix reuse and the GBNF and outlines
comparisons is ``benchmarks/decode.py`` in the source tree; this is the part a
user wants on their own machine to size a job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from smallagents.errors import UsageError
from smallagents.models import load_model
from smallagents.models.llama import LlamaModel

PROMPT = "Invent one fictional person. Give their name, age, occupation and up to three hobbies."


@dataclass(frozen=True)
class DecodeFigures:
    """Decode speeds measured on one model, alternating the two modes."""

    model: str
    raw_tokens_per_second: float
    constrained_tokens_per_second: float

    @property
    def ratio(self) -> float:
        """Constrained over raw throughput (1.0: constraints cost nothing)."""
        return self.constrained_tokens_per_second / self.raw_tokens_per_second


def measure_decode(spec: str = "default", rounds: int = 4) -> DecodeFigures:
    """Alternate schema-constrained and unconstrained decodes of the same length."""
    model = load_model(spec)
    if not isinstance(model, LlamaModel):
        raise UsageError(
            f"bench measures in-process GGUF models; {spec!r} is {type(model).__name__}.",
            fix="pass an embedded model name or a .gguf path.",
        )
    model.generate(PROMPT, schema="person", max_tokens=160, seed=0)  # warm: tokenizer index
    constrained_tokens = constrained_seconds = raw_tokens = raw_seconds = 0.0
    for seed in range(rounds):
        constrained = model.generate(
            PROMPT, schema="person", max_tokens=160, temperature=0.7, seed=seed
        )
        constrained_tokens += constrained.completion_tokens
        constrained_seconds += constrained.seconds
        started = time.perf_counter()
        raw = model.generate(
            PROMPT, max_tokens=constrained.completion_tokens, temperature=0.7, seed=seed
        )
        raw_seconds += time.perf_counter() - started
        raw_tokens += raw.completion_tokens
    return DecodeFigures(
        model=model.name,
        raw_tokens_per_second=raw_tokens / raw_seconds,
        constrained_tokens_per_second=constrained_tokens / constrained_seconds,
    )
