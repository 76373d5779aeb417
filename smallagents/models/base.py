"""The model contract: ``Model.generate`` returns a ``Generation``.

Backends implement one method, ``Model._complete``, which makes a single
call. Everything a backend should not have to know lives here: schema
compilation, validation, and resampling red-flagged outputs with a fresh seed.
A red-flagged output (invalid, truncated, off-schema) is discarded, never
repaired: repairing hides exactly the errors that voting and escalation exist
to catch.
"""

from __future__ import annotations

import random
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from smallagents.errors import StructuredOutputError
from smallagents.structured.confidence import field_confidence
from smallagents.structured.schema import CompiledSchema, RedFlag, SchemaLike, compile_schema

Message = Mapping[str, str]
"""A chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""

Prompt = str | Sequence[Message]
FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Completion:
    """What one backend call returns, before any validation."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    seconds: float
    token_logprobs: tuple[float, ...] = ()
    """Log-probability of each generated token under the model's distribution at
    temperature 1, restricted by the grammar mask when there is one (empty: the
    backend does not report them)."""
    token_spans: tuple[tuple[int, int], ...] = ()
    """The ``[start, end)`` characters of ``text`` each generated token wrote."""
    prompt_tokens_reused: int = 0
    """Prompt tokens not evaluated because their state was already there (the
    context, or a prefix cache); ``prompt_tokens`` counts them too."""


@dataclass(frozen=True)
class Generation:
    """The outcome of ``Model.generate``.

    Token counts and seconds add up every attempt, red-flagged ones included,
    so that accounting reflects what the answer really cost. ``token_logprobs``
    and ``confidence`` describe the accepted attempt alone.
    """

    text: str
    value: Any
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: FinishReason
    model: str
    attempts: int = 1
    red_flags: tuple[str, ...] = field(default=())
    seed: int | None = None
    token_logprobs: tuple[float, ...] = ()
    """Log-probability of each token of ``text`` under the model's own
    distribution at temperature 1, restricted by the grammar mask under a schema
    (whatever temperature sampled it). Empty where the backend gives none."""
    confidence: dict[str, float] = field(default_factory=dict)
    prompt_tokens_reused: int = 0
    """Of ``prompt_tokens``, those whose state was reused instead of evaluated."""
    """Per-field confidence of a schema answer, by dotted path of each leaf value
    (``"verdict"``, ``"calls.0.arguments.city"``; ``""`` for a top-level scalar):
    the probability of the whole value for a number, boolean, null or a string the
    schema enumerates; the mean token probability for a free string. See
    ``smallagents.structured.confidence``."""


RESAMPLE_TEMPERATURE = 0.7


def _confidence(compiled: CompiledSchema, completion: Completion) -> dict[str, float]:
    # A schema whose answer is written in another format than its JSON (a caller's
    # native tool calls) knows where its fields are in the text; plain JSON is read here.
    own = getattr(compiled, "field_confidence", None)
    if own is not None:
        return dict(own(completion.text, completion.token_spans, completion.token_logprobs))
    return field_confidence(
        completion.text, completion.token_spans, completion.token_logprobs, compiled.json_schema
    )


def _attempt_temperature(temperature: float, attempt_number: int) -> float:
    if attempt_number > 1 and temperature <= 0:
        return RESAMPLE_TEMPERATURE
    return temperature


class Model(ABC):
    """A language model that answers prompts, optionally constrained to a schema."""

    name: str
    chat: bool = True
    """Whether prompts are chat messages (False: plain completion text, a base model)."""

    def generate(
        self,
        prompt: Prompt,
        *,
        schema: SchemaLike | CompiledSchema | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
        attempts: int = 3,
        role: str | None = None,
    ) -> Generation:
        """Answer ``prompt``; with a schema, return a validated value or raise.

        Args:
            prompt: plain text, or chat messages (rendered with the model's own
                chat template; a model without one gets their contents as plain text).
            schema: a pydantic model class, a JSON Schema dict, or the name of a
                file in ``schemas/``. The answer is then grammar-constrained JSON,
                validated and parsed (a pydantic instance for a pydantic class).
            max_tokens: the most tokens to generate; an answer cut off here is a
                red flag when a schema is given.
            temperature: 0 decodes greedily.
            seed: sampling seed of the first attempt; attempt ``i`` uses ``seed + i``.
                ``None`` draws one. A greedy call (``temperature=0``) that was
                red-flagged resamples at ``RESAMPLE_TEMPERATURE``, since greedy
                decoding would only repeat the rejected answer.
            stop: strings that end the answer (ignored with a schema, where the
                grammar decides the end).
            attempts: how many samples to draw before giving up on a schema.
            role: the role asking, carried into errors for the caller's benefit.

        Raises:
            StructuredOutputError: every attempt was red-flagged.
            ContextOverflowError: the prompt does not fit the context.
        """
        compiled = compile_schema(schema) if schema is not None else None
        first_seed = seed if seed is not None else random.randrange(2**31)
        spent = _Spent()
        retrying = Retrying(
            stop=stop_after_attempt(max(1, attempts) if compiled else 1),
            retry=retry_if_exception_type(RedFlag),
            reraise=False,
        )
        try:
            for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    attempt_seed = first_seed + number - 1
                    completion = self._complete(
                        prompt,
                        schema=compiled,
                        max_tokens=max_tokens,
                        temperature=_attempt_temperature(temperature, number),
                        seed=attempt_seed,
                        stop=None if compiled else stop,
                    )
                    spent.add(completion)
                    self._count_prompt(role, completion)
                    value = _check(completion, compiled, spent)
        except RetryError:
            assert compiled is not None  # only schema calls retry
            raise StructuredOutputError(
                model=self.name,
                schema_name=compiled.name,
                attempts=spent.calls,
                red_flags=spent.red_flags,
                last_output=spent.last_text,
                role=role,
                prompt_tokens=spent.prompt_tokens,
                completion_tokens=spent.completion_tokens,
                seconds=spent.seconds,
            ) from None
        return Generation(
            text=completion.text,
            value=value,
            prompt_tokens=spent.prompt_tokens,
            completion_tokens=spent.completion_tokens,
            seconds=spent.seconds,
            finish_reason=completion.finish_reason,
            model=self.name,
            attempts=spent.calls,
            red_flags=tuple(spent.red_flags),
            seed=attempt_seed,
            prompt_tokens_reused=spent.prompt_tokens_reused,
            token_logprobs=completion.token_logprobs,
            confidence=(
                _confidence(compiled, completion)
                if compiled is not None and completion.token_spans
                else {}
            ),
        )

    @abstractmethod
    def _complete(
        self,
        prompt: Prompt,
        *,
        schema: CompiledSchema | None,
        max_tokens: int,
        temperature: float,
        seed: int,
        stop: Sequence[str] | None,
    ) -> Completion:
        """Make one call. With a schema, constrain decoding to it as far as the backend can."""

    def prompt_counts(self) -> dict[str, tuple[int, int]]:
        """Prompt tokens ``(evaluated, reused)`` per asking role (``""``: no role), so far."""
        with _counts_lock:
            return dict(self.__dict__.get("_prompt_counts", {}))

    def _count_prompt(self, role: str | None, completion: Completion) -> None:
        reused = completion.prompt_tokens_reused
        evaluated = completion.prompt_tokens - reused
        with _counts_lock:
            _add_count(self.__dict__.setdefault("_prompt_counts", {}), role, evaluated, reused)
        if not hasattr(_thread_counts, "counts"):
            _thread_counts.counts = {}
        _add_count(_thread_counts.counts, role, evaluated, reused)

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release what the model holds (memory, connections)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


_counts_lock = threading.Lock()
_thread_counts = threading.local()


def _add_count(
    counts: dict[str, tuple[int, int]], role: str | None, evaluated: int, reused: int
) -> None:
    before = counts.get(role or "", (0, 0))
    counts[role or ""] = (before[0] + evaluated, before[1] + reused)


def thread_prompt_counts() -> dict[str, tuple[int, int]]:
    """Prompt tokens ``(evaluated, reused)`` per role of every call made in this thread.

    A job's worker reads it around each unit (models may be shared by threads, a
    thread's own calls are its unit's).
    """
    return dict(getattr(_thread_counts, "counts", {}))


@dataclass
class _Spent:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    red_flags: list[str] = field(default_factory=list)
    last_text: str = ""
    prompt_tokens_reused: int = 0

    def add(self, completion: Completion) -> None:
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.prompt_tokens_reused += completion.prompt_tokens_reused
        self.completion_tokens += completion.completion_tokens
        self.seconds += completion.seconds
        self.last_text = completion.text


def _check(completion: Completion, schema: CompiledSchema | None, spent: _Spent) -> Any:
    if schema is None:
        return None
    try:
        if completion.finish_reason == "length":
            raise RedFlag(f"truncated at {completion.completion_tokens} tokens (max_tokens)")
        return schema.parse(completion.text)
    except RedFlag as flag:
        spent.red_flags.append(flag.reason)
        raise
