"""Test doubles for code built on smallagents (ours and our users').

`ScriptedModel` answers from a script instead of a network or weights. It
is for logic that a real model cannot drive deterministically (a red flag on the
second attempt, a vote that splits exactly 2 to 1); the real path is tested with
the embedded models. `WithModels` serves such models to every worker of a
job (``run_job``), whose workers each load their own models.
"""

from __future__ import annotations

__all__ = ["ScriptedCall", "ScriptedModel", "WithModels"]

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smallagents.models.base import Completion, FinishReason, Model, Prompt
from smallagents.models.pool import thread_pool
from smallagents.structured.schema import CompiledSchema

if TYPE_CHECKING:
    from smallagents.jobs.pipelines import Pipeline, UnitResult
    from smallagents.run import Run

ScriptItem = str | dict[str, Any] | list[Any] | Callable[[Prompt, int], str]


@dataclass(frozen=True)
class ScriptedCall:
    """One call a `ScriptedModel` received."""

    prompt: Prompt
    schema: str | None
    seed: int
    max_tokens: int
    temperature: float


class ScriptedModel(Model):
    """A model that replays scripted answers, in order.

    Each item is the text to return: a string as it is, a dict or list as compact
    JSON, or a callable ``(prompt, seed) -> str``. A string ending in the marker
    `TRUNCATED` comes back with ``finish_reason="length"``. Once the script
    runs out, the last item repeats when ``repeat_last`` is set; otherwise the
    model raises ``IndexError``. Every call is kept in `calls`, unless
    ``keep_calls=False``: a long run (a load test of thousands of records) would
    otherwise hold every prompt it was sent, and read as a leak.
    """

    TRUNCATED = "\x00<truncated>"

    def __init__(
        self,
        script: Iterable[ScriptItem],
        *,
        name: str = "scripted",
        repeat_last: bool = False,
        chat: bool = True,
        keep_calls: bool = True,
    ) -> None:
        self.name = name
        self.chat = chat
        self._script = list(script)
        self._repeat_last = repeat_last
        self._keep_calls = keep_calls
        self._count = 0
        self._count_lock = threading.Lock()
        self.calls: list[ScriptedCall] = []

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
        with self._count_lock:  # workers may share one model (it holds no native state)
            index = self._count
            self._count += 1
            if self._keep_calls:
                self.calls.append(
                    ScriptedCall(
                        prompt, schema.name if schema else None, seed, max_tokens, temperature
                    )
                )
        if index >= len(self._script):
            if not (self._repeat_last and self._script):
                raise IndexError(f"ScriptedModel {self.name!r} ran out of script at call {index}")
            index = len(self._script) - 1
        item = self._script[index]
        if callable(item):
            text = item(prompt, seed)
        elif isinstance(item, str):
            text = item
        else:
            text = json.dumps(item, separators=(",", ":"))
        finish: FinishReason = "stop"
        if text.endswith(self.TRUNCATED):
            text, finish = text.removesuffix(self.TRUNCATED), "length"
        prompt_text = prompt if isinstance(prompt, str) else " ".join(m["content"] for m in prompt)
        return Completion(
            text=text,
            prompt_tokens=len(prompt_text.split()),
            completion_tokens=max(1, len(text) // 4),
            finish_reason=finish,
            seconds=0.0,
        )


class WithModels:
    """A job pipeline that serves ``models`` (spec name -> model) in every worker.

    A job gives each worker thread a model pool of its own (a new one per job), so
    a custom model has to be registered from inside the worker: this does it at
    each unit (a dict entry; a worker may serve several jobs), then runs ``inner``.
    The models are shared by the workers, so they must be safe to call from
    several threads (a `ScriptedModel` is). The inner pipeline's writer
    hooks (``seeds``, ``start``, ``finish_unit``), its ``settings`` (part of the
    job's fingerprint) and the files it ``reads``, where it has them, are its own.
    """

    _HOOKS = frozenset({"seeds", "start", "finish_unit", "settings", "reads"})

    def __init__(self, inner: Pipeline, models: Mapping[str, Model]) -> None:
        self.inner = inner
        self.models = dict(models)
        self.name = inner.name

    def required_fields(self) -> tuple[str, ...]:
        return self.inner.required_fields()

    def __getattr__(self, name: str) -> Any:
        # Only hooks the inner pipeline has: the runner asks with getattr(..., None).
        if name in self._HOOKS:
            return getattr(self.inner, name)
        raise AttributeError(name)

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        pool = thread_pool()
        for name, model in self.models.items():
            pool.register(name, model)
        return self.inner.run_unit(data, run=run, seed=seed, unit_id=unit_id)
