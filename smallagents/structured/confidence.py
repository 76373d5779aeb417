"""Per-field confidence of a JSON answer, from the log-probabilities of the tokens that wrote it.

A decoder records, for every token it chose, the log-probability of that token
under the model's own distribution at temperature 1, restricted by the grammar
mask where there is one. This module maps tokens to the characters they wrote
(``token_char_spans``), finds the character span of every leaf value of the
JSON text (``leaf_spans``), and combines the two (``field_confidence``):

* a choice (a number, ``true``/``false``/``null``, an empty object or array, a
  string the schema lists in an ``enum`` or ``const`` at that place) gets the
  probability of the whole value, ``exp`` of the sum of its tokens' logprobs;
* a free string gets the mean of its tokens' probabilities (a long string's
  product would only measure its length).

A token counts for a value when the characters it wrote overlap the value's span
(a string's span includes its quotes), so a token that writes ``":"`` and the
opening quote of the value counts for the value, and a multi-byte character split
across two tokens counts for both. Paths are dotted: ``"verdict"``,
``"calls.0.arguments.city"``; a top-level scalar is ``""``.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from smallagents.structured.schema import resolve_pointer

PathPart = str | int
Span = tuple[int, int]

_WHITESPACE = " \t\n\r"
_DECODER = json.JSONDecoder()
_MAX_REF_DEPTH = 32


def token_char_spans(pieces: Sequence[bytes], *, skip_chars: int = 0) -> tuple[Span, ...]:
    """The ``[start, end)`` character span each token's bytes wrote in the decoded text.

    ``pieces`` are the tokens' bytes in order, whose UTF-8 decoding (invalid bytes
    replaced) is the text. A character whose bytes straddle two tokens lies in
    both spans. ``skip_chars`` shifts every span left, for a text whose first
    characters were cut (the optional leading space of a constrained answer).
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    spans: list[Span] = []
    written = 0
    for index, piece in enumerate(pieces):
        start = written
        written += len(decoder.decode(piece, final=index == len(pieces) - 1))
        pending = bool(decoder.getstate()[0])
        end = written + (1 if pending else 0)
        spans.append((max(0, start - skip_chars), max(0, end - skip_chars)))
    return tuple(spans)


def leaf_spans(text: str) -> list[tuple[tuple[PathPart, ...], Span, bool]]:
    """Every leaf value of the JSON ``text``: its path, its character span, whether a string.

    Empty objects and arrays are leaves. Raises ``ValueError`` on text that is not
    one JSON value.
    """
    found: list[tuple[tuple[PathPart, ...], Span, bool]] = []
    end = _skip(text, _walk(text, _skip(text, 0), (), found))
    if end != len(text):
        raise ValueError(f"extra data at character {end}")
    return found


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _walk(
    text: str,
    pos: int,
    path: tuple[PathPart, ...],
    found: list[tuple[tuple[PathPart, ...], Span, bool]],
) -> int:
    opening = text[pos : pos + 1]
    if opening not in ("{", "["):
        value, end = _DECODER.raw_decode(text, pos)
        found.append((path, (pos, end), isinstance(value, str)))
        return end
    closing = "}" if opening == "{" else "]"
    start, pos = pos, _skip(text, pos + 1)
    if text[pos : pos + 1] == closing:
        found.append((path, (start, pos + 1), False))
        return pos + 1
    index = 0
    while True:
        if opening == "{":
            key, pos = _DECODER.raw_decode(text, pos)
            pos = _skip(text, pos)
            if text[pos : pos + 1] != ":":
                raise ValueError(f"expected ':' at character {pos}")
            pos = _walk(text, _skip(text, pos + 1), (*path, str(key)), found)
        else:
            pos = _walk(text, pos, (*path, index), found)
        index += 1
        pos = _skip(text, pos)
        separator = text[pos : pos + 1]
        if separator == closing:
            return pos + 1
        if separator != ",":
            raise ValueError(f"expected ',' or {closing!r} at character {pos}")
        pos = _skip(text, pos + 1)


def dotted(path: Sequence[PathPart]) -> str:
    """``("calls", 0, "name")`` as ``"calls.0.name"``."""
    return ".".join(str(part) for part in path)


def field_confidence(
    text: str,
    spans: Sequence[Span],
    logprobs: Sequence[float],
    schema: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Confidence of every leaf value of the JSON ``text``, keyed by dotted path.

    Args:
        text: the answer (one JSON value).
        spans: the character span each generated token wrote in ``text``.
        logprobs: each token's log-probability (same length as ``spans``).
        schema: the answer's JSON Schema; a string it lists in an ``enum`` or
            ``const`` at that place is a choice, scored as a whole.

    Returns:
        ``{}`` when the text is not JSON or the tokens do not cover it.
    """
    if len(spans) != len(logprobs) or not spans:
        return {}
    try:
        leaves = leaf_spans(text)
    except (ValueError, IndexError):
        return {}
    confidence: dict[str, float] = {}
    for path, (start, end), is_string in leaves:
        chosen = [lp for (a, b), lp in zip(spans, logprobs, strict=True) if a < end and b > start]
        if not chosen:
            continue
        if is_string and not _is_choice(schema, path, json.loads(text[start:end])):
            confidence[dotted(path)] = sum(math.exp(lp) for lp in chosen) / len(chosen)
        else:
            confidence[dotted(path)] = math.exp(sum(chosen))
    return confidence


def _is_choice(schema: Mapping[str, Any] | None, path: Sequence[PathPart], value: Any) -> bool:
    """Whether some subschema at ``path`` lists ``value`` in its ``enum`` or ``const``."""
    if schema is None:
        return False
    nodes = _expand(schema, schema, 0)
    for part in path:
        nodes = [child for node in nodes for child in _children(schema, node, part)]
    return any(
        ("const" in node and node["const"] == value) or value in (node.get("enum") or ())
        for node in nodes
    )


def _expand(root: Mapping[str, Any], node: Any, depth: int) -> list[Mapping[str, Any]]:
    """``node`` and every schema its ``$ref`` and ``anyOf``/``oneOf``/``allOf`` lead to."""
    if not isinstance(node, Mapping) or depth > _MAX_REF_DEPTH:
        return []
    nodes = [node]
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        nodes += _expand(root, resolve_pointer(root, ref), depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key) or ():
            nodes += _expand(root, branch, depth + 1)
    return nodes


def _children(root: Mapping[str, Any], node: Mapping[str, Any], part: PathPart) -> list[Any]:
    if isinstance(part, int):
        prefix = node.get("prefixItems") or ()
        child = prefix[part] if part < len(prefix) else node.get("items")
    else:
        child = (node.get("properties") or {}).get(part, node.get("additionalProperties"))
    return _expand(root, child, 0)
