"""What one tool call gives back: its status, its observation text, and how output is cut."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic_core import to_jsonable_python

ToolStatus = Literal[
    "ok",
    "invalid_arguments",
    "error",
    "timeout",
    "unknown_tool",
    "not_runnable",
    "needs_confirmation",
]
"""How a tool call ended: ``ok``; ``invalid_arguments`` (refused before running);
``error`` (the tool raised); ``timeout``; ``unknown_tool`` (no tool of that name);
``not_runnable`` (a tool made from a spec without a Python function);
``needs_confirmation`` (a tool marked ``requires_confirmation`` that nobody approved:
it did not run)."""


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call; ``observation`` is what the model reads next.

    Attributes:
        name: the tool called.
        arguments: the arguments as the model gave them.
        status: how the call ended (see ``ToolStatus``).
        observation: the result (or the error) as text, at most the tool's
            ``max_output_chars``.
        seconds: wall time of the call, validation included.
        truncated: whether the observation was cut to ``max_output_chars``.
    """

    name: str
    arguments: dict[str, Any]
    status: ToolStatus
    observation: str
    seconds: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """Whether the tool ran and returned."""
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        """The result as plain JSON data (for a graph's state and checkpoints)."""
        return {
            "name": self.name,
            "arguments": to_jsonable_python(self.arguments, fallback=str),
            "status": self.status,
            "observation": self.observation,
            "truncated": self.truncated,
        }


def format_output(value: Any) -> str:
    """A tool's return value as observation text: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(
            to_jsonable_python(value, fallback=str), ensure_ascii=False, separators=(",", ":")
        )
    except (TypeError, ValueError):
        return str(value)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters, marker included, saying how much was cut."""
    if len(text) <= limit:
        return text, False
    # Sized with the longest count the marker could show, so that text and marker fit.
    kept = limit - len(f"... [truncated {len(text)} more chars]")
    if kept < 1:
        return text[:limit], True
    return f"{text[:kept]}... [truncated {len(text) - kept} more chars]", True
