"""A JSON Schema as compact, JSON-like prompt text for a small model."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from smallagents.structured.schema import resolve_pointer


def describe_schema(schema: Mapping[str, Any], *, root: Mapping[str, Any] | None = None) -> str:
    """A JSON Schema as a compact, JSON-like type for a prompt.

    ``{"city": string (the city), "unit"?: "celsius"|"fahrenheit" = "celsius"}``:
    ``?`` marks an optional property, ``|`` alternatives, ``[...]`` arrays.
    """
    return _render(schema, root or schema, 0)


def _render(schema: Any, root: Mapping[str, Any], depth: int) -> str:
    if not isinstance(schema, Mapping):
        return "any"
    if depth > 6:  # a recursive $ref: enough detail for a prompt
        return "..."
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _render(resolve_pointer(root, ref), root, depth + 1)
    if "const" in schema:
        return json.dumps(schema["const"], ensure_ascii=False)
    if "enum" in schema:
        return "|".join(json.dumps(value, ensure_ascii=False) for value in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [_render(option, root, depth + 1) for option in schema[key]]
            return "|".join(dict.fromkeys(options))
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _render(schema["allOf"][0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(_render({**schema, "type": one}, root, depth) for one in kind)
    if kind == "object" or "properties" in schema:
        return _render_object(schema, root, depth)
    if kind == "array":
        items = schema.get("items")
        return f"[{_render(items, root, depth + 1)}]" if isinstance(items, Mapping) else "[any]"
    text = str(kind) if kind else "any"
    if "format" in schema:
        text += f" ({schema['format']})"
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None or high is not None:
        text += f" {'' if low is None else low}..{'' if high is None else high}"
    return text


def _render_object(schema: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> str:
    properties = schema.get("properties") or {}
    if not properties:
        return "{}" if schema.get("additionalProperties") is False else "object"
    required = set(schema.get("required") or ())
    parts = []
    for key, child in properties.items():
        text = (
            f"{json.dumps(key)}{'' if key in required else '?'}: {_render(child, root, depth + 1)}"
        )
        if isinstance(child, Mapping):
            if "default" in child:
                text += f" = {json.dumps(child['default'], ensure_ascii=False)}"
            description = " ".join(str(child.get("description", "")).split())
            if description:
                text += f" ({description[:80]})"
        parts.append(text)
    return "{" + ", ".join(parts) + "}"
