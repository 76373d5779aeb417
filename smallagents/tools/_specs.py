"""Tool specs as people write them: names, spec dialects (OpenAI, Anthropic, MCP, BFCL), aliases.

A tool's name is used in process, where the grammar can hold any string, so the
rule here is loose: a non-empty string of printable characters without
whitespace (or ``*``, which ``--allow-tool`` would read as a wildcard), at most
``MAX_TOOL_NAME`` long (``math.gcd``, ``uber.ride``,
``repos/list``, ``getUserInfo``). Only where a name crosses into an
OpenAI-compatible endpoint, whose API allows ``[A-Za-z0-9_-]{1,64}``, is it
replaced by an alias for the request (``openai_aliases``), and the answer's
names mapped back.

Dialects accepted by ``read_spec``:

* OpenAI: ``{"type": "function", "function": {"name", "description", "parameters"}}``
  and the bare ``{"name", "description", "parameters"}``;
* Anthropic: ``{"name", "description", "input_schema"}``; MCP's tool listing:
  ``{"name", "description", "inputSchema"}``;
* BFCL (the Berkeley Function Calling Leaderboard): the bare form with its own
  types, ``"dict"``, ``"float"``, ``"tuple"`` and ``"any"``, mapped to JSON Schema
  (``object``, ``number``, ``array``, no type) with a note of what was mapped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from smallagents.errors import ToolDefinitionError

MAX_TOOL_NAME = 256
"""The longest tool name accepted in process (the grammar has no limit; prompts do)."""

# Control characters are left out here; str.isprintable() rules out the rest. No "*":
# --allow-tool NAME has no wildcard, and a name "*" would read as one.
TOOL_NAME = re.compile(r"^[^\s\x00-\x1f\x7f-\x9f*]{1,256}$")
"""A tool name in process: printable characters but whitespace and ``*``, 1 to 256 of them."""

OPENAI_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""The OpenAI API's rule for function names (endpoints enforce it; see ``openai_aliases``)."""

MAX_SCHEMA_DEPTH = 32
"""How deep a tool's parameters may nest (objects and arrays): deeper is refused, not a crash."""

_BFCL_TYPES = {"dict": "object", "float": "number", "tuple": "array", "any": None}
_EXPECTED = (
    'expected an OpenAI spec {"name", "description", "parameters"} (or {"type": "function", '
    '"function": {...}}), an Anthropic one {"name", "description", "input_schema"}, or MCP\'s '
    '{"name", "inputSchema"}'
)


@dataclass(frozen=True)
class ToolSpec:
    """A spec read from any dialect: what a ``Tool`` is made from.

    Attributes:
        name: the tool's name, as given.
        description: what it does ("" when the spec has none).
        parameters: the JSON Schema of its arguments (``None``: no arguments).
        dialect: ``openai``, ``anthropic``, ``mcp`` or ``bfcl``.
        notes: what was changed to make it JSON Schema (BFCL's types), one line each.
    """

    name: str
    description: str
    parameters: Mapping[str, Any] | None
    dialect: str
    notes: tuple[str, ...] = ()


def check_tool_name(name: Any) -> str:
    """``name`` if it is a tool name (see the module docstring).

    Raises:
        ToolDefinitionError: not a string, empty, too long, or with whitespace or
            unprintable characters.
    """
    if not isinstance(name, str) or not name:
        shown = "" if name is None else str(name)
        raise ToolDefinitionError(
            shown or "?",
            "the name must be a non-empty string",
            fix='give the tool a name, e.g. "get_weather"',
        )
    if len(name) > MAX_TOOL_NAME:
        raise ToolDefinitionError(
            name[:40] + "...",
            f"the name has {len(name)} characters, more than {MAX_TOOL_NAME}",
            fix=f"use a name of at most {MAX_TOOL_NAME} characters",
        )
    if not TOOL_NAME.match(name) or not name.isprintable():
        raise ToolDefinitionError(
            name,
            "the name must be printable characters without whitespace or *",
            fix="replace spaces, * and control characters, e.g. get_weather or weather.get",
        )
    return name


def read_spec(spec: Any) -> ToolSpec:
    """A tool spec of any accepted dialect, checked and mapped to JSON Schema.

    Raises:
        ToolDefinitionError: not an object, an unknown dialect (the message names
            the dialects expected), no name, or a description that is not a string.
    """
    if not isinstance(spec, Mapping):
        raise ToolDefinitionError(
            "?", f"a tool spec must be an object, got {type(spec).__name__}", fix=_EXPECTED
        )
    inner: Mapping[str, Any] = spec
    dialect = "openai"
    if "function" in spec and spec.get("type", "function") == "function":
        inner = spec["function"]
        if not isinstance(inner, Mapping):
            raise ToolDefinitionError(
                str(spec.get("name", "?")),
                '"function" is not an object',
                fix='pass {"type": "function", "function": {"name": ..., ...}}',
            )
    if "name" not in inner:
        keys = ", ".join(sorted(map(str, spec))[:6]) or "none"
        raise ToolDefinitionError(
            "?", f"unknown tool spec (keys: {keys}); {_EXPECTED}", fix="give the spec a name"
        )
    name = check_tool_name(inner.get("name"))
    description = inner.get("description") or ""
    if not isinstance(description, str):
        raise ToolDefinitionError(
            name, "the description is not a string", fix='make "description" a string'
        )
    parameters: Any = inner.get("parameters")
    for key, kind in (("input_schema", "anthropic"), ("inputSchema", "mcp")):
        if key in inner:
            if parameters is not None:
                raise ToolDefinitionError(
                    name,
                    f'both "parameters" and "{key}"',
                    fix="keep one of them: the arguments' JSON Schema",
                )
            parameters, dialect = inner[key], kind
    notes: tuple[str, ...] = ()
    if isinstance(parameters, Mapping):
        depth = schema_depth(parameters)
        if depth > MAX_SCHEMA_DEPTH:
            raise ToolDefinitionError(
                name,
                f"the parameters nest {depth} levels deep, more than {MAX_SCHEMA_DEPTH}",
                fix="flatten the arguments' schema",
            )
        mapped, changes = _from_bfcl(parameters)
        if changes:
            parameters, dialect = mapped, "bfcl"
            notes = tuple(
                f"{name}: BFCL's {old} read as {new} ({count}x)"
                for (old, new), count in sorted(changes.items())
            )
    return ToolSpec(name, description, parameters, dialect, notes)


def schema_depth(node: Any) -> int:
    """How deep objects and arrays nest in ``node`` (iteratively: no recursion limit)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_SCHEMA_DEPTH * 4:  # far enough to report; stop walking a bomb
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _from_bfcl(schema: Mapping[str, Any]) -> tuple[dict[str, Any], dict[tuple[str, str], int]]:
    """BFCL's parameter schema as JSON Schema, and how often each type was mapped.

    Also drops BFCL's ``"optional"`` flag (not a JSON Schema keyword: optional is
    not being listed in ``required``).
    """
    changes: dict[tuple[str, str], int] = {}

    def walk(node: Any, in_values: bool) -> Any:
        if isinstance(node, list):
            return [walk(item, in_values) for item in node]
        if not isinstance(node, Mapping) or in_values:
            return node
        out: dict[str, Any] = {}
        node = _repaired(node, changes)
        for key, value in node.items():
            if key == "type" and isinstance(value, str) and value in _BFCL_TYPES:
                new = _BFCL_TYPES[value]
                pair = (f"type {value!r}", new or "any type")
                changes[pair] = changes.get(pair, 0) + 1
                if new is not None:
                    out[key] = new
            elif key == "optional" and isinstance(value, bool):
                pair = ('"optional" flag', "dropped (not JSON Schema)")
                changes[pair] = changes.get(pair, 0) + 1
            elif key in ("properties", "$defs", "definitions"):
                out[key] = (
                    {name: walk(child, False) for name, child in value.items()}
                    if isinstance(value, Mapping)
                    else value
                )
            else:
                out[key] = walk(value, key in ("default", "enum", "const", "examples"))
        return out

    mapped = walk(schema, False)
    return (mapped if changes else dict(schema)), changes


def _repaired(node: Mapping[str, Any], changes: dict[tuple[str, str], int]) -> Mapping[str, Any]:
    """Two BFCL habits that would make a schema unsatisfiable, read as BFCL means them."""
    kind = node.get("type")
    items = node.get("items")
    values = node.get("enum")
    if (
        kind == "array"
        and isinstance(values, list)
        and isinstance(items, Mapping)
        and not any(isinstance(value, list) for value in values)
    ):
        # An array whose enum lists its items' values: the enum is meant for the items.
        node = {key: value for key, value in node.items() if key != "enum"}
        node["items"] = {**items, "enum": values} if "enum" not in items else items
        changes[("array enum", "items' enum")] = changes.get(("array enum", "items' enum"), 0) + 1
    required = node.get("required")
    properties = node.get("properties")
    if kind in ("dict", "object") and isinstance(required, list):
        listed = properties if isinstance(properties, Mapping) else {}
        unlisted = [key for key in required if isinstance(key, str) and key not in listed]
        if unlisted:
            # Required keys without a schema: BFCL leaves them to the description.
            node = {**node, "properties": {**listed, **{key: {} for key in unlisted}}}
            pair = ("required key without a schema", "any value")
            changes[pair] = changes.get(pair, 0) + len(unlisted)
    return node


def openai_aliases(names: list[str]) -> dict[str, str]:
    """Each name's alias for an OpenAI-compatible endpoint (``[A-Za-z0-9_-]{1,64}``).

    A name that already fits, and is no other name's alias, stays itself. Any other
    becomes its characters with the rest replaced by ``_``, cut to 55, then ``_`` and
    8 hex digits of the name's SHA-256: deterministic (the same name always gets
    the same alias) and collision-free (checked; a clash lengthens the hash).

    Returns:
        ``{name: alias}`` for every name given.
    """
    aliases: dict[str, str] = {}
    taken = {name for name in names if OPENAI_TOOL_NAME.match(name)}
    for name in names:
        if name in aliases:
            continue
        if OPENAI_TOOL_NAME.match(name):
            aliases[name] = name
            continue
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
        for width in (8, 16, 32, 64):
            stem = re.sub(r"[^A-Za-z0-9_-]", "_", name)[: 63 - width]
            alias = f"{stem}_{digest[:width]}"
            if alias not in taken:
                break
        taken.add(alias)
        aliases[name] = alias
    return aliases


def bfcl_messages(question: Any) -> list[dict[str, str]]:
    """A BFCL ``question`` as chat messages: its one turn's ``{"role", "content"}`` list.

    BFCL wraps a single-turn conversation in a list of turns (``[[{"role": "user",
    "content": ...}]]``); a multi-turn one has several, which the caller cannot
    answer in one go.

    Raises:
        ValueError: not a list of one turn of messages with string contents.
    """
    turns = question
    if isinstance(turns, list) and turns and all(isinstance(t, list) for t in turns):
        if len(turns) != 1:
            raise ValueError(
                f"the question has {len(turns)} turns; the caller answers single-turn questions"
            )
        turns = turns[0]
    if not isinstance(turns, list) or not turns:
        raise ValueError("the question is not a list of chat messages")
    messages: list[dict[str, str]] = []
    for message in turns:
        if (
            not isinstance(message, Mapping)
            or message.get("role") not in ("system", "user", "assistant")
            or not isinstance(message.get("content"), str)
        ):
            raise ValueError('each message must be {"role": system|user|assistant, "content": str}')
        messages.append({"role": message["role"], "content": message["content"]})
    if messages[-1]["role"] != "user":
        raise ValueError("the last message is not the user's")
    return messages
