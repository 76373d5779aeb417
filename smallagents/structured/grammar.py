"""Grammar-constrained decoding for llama.cpp models, driven by llguidance.

Why llguidance and not llama.cpp's GBNF or an outlines generator (numbers in the
README, ``benchmarks/decode.py``): it computes a token mask in well under a
millisecond, so constrained decoding runs at nearly raw speed; GBNF scans the
whole vocabulary every token (0.25x to 0.55x raw), and outlines rebuilds its
vocabulary index per generator and wraps base-model prompts in a foreign chat
template.

Two things are built once and shared:

* the tokenizer index, per model file (about one second to build; built by
  ``smallagents.models.vocab.tokenizer_for``, since loading a model file is the
  models layer's job);
* per (tokenizer, schema): a small pool of matchers, reset between calls, so a
  call with a schema already used pays a reset instead of a grammar compile.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from smallagents.structured.schema import CompiledSchema

if TYPE_CHECKING:
    import llguidance


class TokenMask:
    """Writes a matcher's allowed-token mask into a model's logits, in place.

    The logits are llama.cpp's own contiguous buffer: masking it before the native
    sampler chain runs costs a fraction of a millisecond even for Gemma's 262k
    vocabulary, where a llama-cpp-python logits processor (which copies the
    vocabulary through a strided record array twice per token) cost about 9% of
    decode speed.
    """

    def __init__(self, matcher: llguidance.LLMatcher, n_vocab: int) -> None:
        self.matcher = matcher
        self._n_vocab = n_vocab
        self._bitmask = np.zeros((n_vocab + 31) // 32, dtype=np.int32)
        self._buffer: np.ndarray[Any, Any] | None = None

    def apply(self, logits: np.ndarray[Any, Any], *, logsumexp: bool = False) -> float:
        """Set every token the grammar forbids next to minus infinity.

        With ``logsumexp``, also return the log-sum-exp of the masked logits (the
        normalizer of the masked distribution at temperature 1; ``0.0`` otherwise),
        computed on the legal tokens alone where they are few.
        """
        self.matcher.unsafe_compute_mask_ptr(self._bitmask.ctypes.data, self._bitmask.nbytes)
        allowed = np.unpackbits(
            self._bitmask.view(np.uint8), bitorder="little", count=self._n_vocab
        ).view(bool)
        kept = np.flatnonzero(allowed)
        if len(kept) * 4 < self._n_vocab:
            # Usual case: a few legal tokens. Copy them out and back around one fill.
            values = logits[kept]
            logits.fill(-np.inf)
            logits[kept] = values
            return log_sum_exp(values) if logsumexp else 0.0
        logits[~allowed] = -np.inf
        return log_sum_exp(logits, self._scratch()) if logsumexp else 0.0

    def _scratch(self) -> np.ndarray[Any, Any]:
        if self._buffer is None:
            self._buffer = np.empty(self._n_vocab, dtype=np.float32)
        return self._buffer


def log_sum_exp(values: np.ndarray[Any, Any], scratch: np.ndarray[Any, Any] | None = None) -> float:
    """``log(sum(exp(values)))``, stable; ``scratch`` (same shape) avoids an allocation."""
    if len(values) == 0:
        return float("-inf")
    top = values.max()
    if not np.isfinite(top):
        return float(top)
    shifted = np.subtract(values, top, out=scratch)
    np.exp(shifted, out=shifted)
    return float(top) + float(np.log(shifted.sum(dtype=np.float64)))


class GrammarEngine:
    """Per-model constrained decoding: one tokenizer index, pooled matchers per schema."""

    def __init__(self, tokenizer: llguidance.LLTokenizer, n_vocab: int) -> None:
        self._tokenizer = tokenizer
        self._n_vocab = n_vocab
        self._idle: dict[str, list[llguidance.LLMatcher]] = {}
        self._lock = threading.Lock()

    def acquire(self, schema: CompiledSchema) -> TokenMask:
        """A mask in the grammar's start state for one call; give it back with ``release``."""
        import llguidance

        with self._lock:
            idle = self._idle.get(schema.fingerprint)
            matcher = idle.pop() if idle else None
        if matcher is None:
            matcher = llguidance.LLMatcher(self._tokenizer, schema.grammar, log_level=0)
            if matcher.is_error():
                # validate_grammar passed at definition time; a tokenizer-specific
                # failure is still a failure, never a silent fall back to any JSON.
                from smallagents.errors import SchemaError

                raise SchemaError(
                    f"Schema {schema.name!r} failed to compile for this model: "
                    f"{matcher.get_error()}",
                    fix="simplify the schema (see the README's list of supported keywords).",
                )
        return TokenMask(matcher, self._n_vocab)

    def release(self, mask: TokenMask, schema: CompiledSchema) -> None:
        """Reset a mask's matcher and keep it for the next call on this schema."""
        matcher = mask.matcher
        if matcher.reset() and not matcher.is_error():
            with self._lock:
                self._idle.setdefault(schema.fingerprint, []).append(matcher)
