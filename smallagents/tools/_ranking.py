"""Which of a request's tools to show a small model: the ones whose words the request uses.

A small caller given many tools picks the wrong one more often than it fills one
wrongly (BFCL live_multiple, Qwen2.5-Coder-0.5B: "Alarm_1_GetAlarms" for a music
request). Tool retrieval (Gorilla, ToolLLM's API retriever) narrows the choice
before the model sees it; with two to seven tools per request, a lexical score is
enough: on BFCL's 80 live_multiple dev and test cases the expected tool was among
the two best-scored in 79.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

_STOP = frozenset(
    "the a an of to in on for and or is are be with by from at as it this that what which i "  # noqa: SIM905
    "me my you your can could please do does get find".split()
)
_CAMEL = re.compile(r"([a-z])([A-Z])")


def _terms(text: str) -> set[str]:
    # Five-letter prefixes: "booking" and "book", "weather" and "weathers" meet.
    words = re.findall(r"[a-z0-9]+", _CAMEL.sub(r"\1 \2", text).lower())
    return {word[:5] for word in words if len(word) > 1 and word not in _STOP}


def _tool_text(tool: Mapping[str, Any]) -> str:
    spec = tool.get("function", tool)  # an OpenAI tool wraps the spec
    parameters = spec.get("parameters") or {}
    properties = parameters.get("properties") or {}
    return " ".join([spec.get("name", ""), spec.get("description", ""), *properties])


def relevance(request: str, tools: Sequence[Mapping[str, Any]]) -> list[float]:
    """Each tool's score for ``request``: the request's terms that the tool's name,
    description and argument names share, each weighted by how few of the tools
    have it (a term every tool shares tells them apart least)."""
    asked = _terms(request)
    documents = [_terms(_tool_text(tool)) for tool in tools]
    holders = Counter(term for document in documents for term in document)
    return [
        sum(math.log(1 + len(documents) / holders[term]) for term in asked & document)
        for document in documents
    ]


def most_relevant(
    request: str, tools: Sequence[Mapping[str, Any]], keep: int
) -> list[Mapping[str, Any]]:
    """The ``keep`` tools that score highest for ``request`` (ties: the earlier
    tool), in their original order; all of them when there are no more than ``keep``."""
    if len(tools) <= keep:
        return list(tools)
    scores = relevance(request, tools)
    best = sorted(range(len(tools)), key=lambda index: (-scores[index], index))[:keep]
    return [tools[index] for index in sorted(best)]
