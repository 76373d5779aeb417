"""Test doubles for code built on smallagents (ours and our users').

:class:`ScriptedModel` answers from a script instead of a network or weights. It
is for logic that a real model cannot drive deterministically (a red flag on the
second attempt, a vote that splits exactly 2 to 1); the real path is tested with
the embedded models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from smallagents.models.base import Completion, FinishReason, Model, Prompt
from smallagents.structured.schema import CompiledSchema

ScriptItem = str | dict[str, Any] | list[Any] | Callable[[Prompt, int], str]


@dataclass(frozen=True)
class ScriptedCall:
    """One call a :class:`ScriptedModel` received."""

    prompt: Prompt
    schema: str | None
    seed: int
    max_tokens: int
    temperature: float


class ScriptedModel(Model):
    """A model that replays scripted answers, in order.

    Each item is the text to return: a string as it is, a dict or list as compact
    JSON, or a callable ``(prompt, seed) -> str``. A string ending in the marker
    :attr:`TRUNCATED` comes back with ``finish_reason="length"``. Once the script
    runs out, the last item repeats when ``repeat_last`` is set; otherwise the
    model raises ``IndexError``.
    """

    TRUNCATED = "\x00<truncated>"

    def __init__(
        self,
        script: Iterable[ScriptItem],
        *,
        name: str = "scripted",
        repeat_last: bool = False,
        chat: bool = True,
    ) -> None:
        self.name = name
        self.chat = chat
        self._script = list(script)
        self._repeat_last = repeat_last
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
        index = len(self.calls)
        self.calls.append(
            ScriptedCall(prompt, schema.name if schema else None, seed, max_tokens, temperature)
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
