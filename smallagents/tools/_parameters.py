"""A tool's parameters as given: checked, closed and compiled; its ``$ref``s walked and rebased."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from smallagents.errors import SchemaError, ToolDefinitionError
from smallagents.structured.schema import (
    CompiledSchema,
    check_json_schema,
    close_objects,
    compile_schema,
)
from smallagents.tools._specs import MAX_SCHEMA_DEPTH, schema_depth

_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def checked_parameters(
    name: str, parameters: Mapping[str, Any] | None
) -> tuple[dict[str, Any], CompiledSchema, dict[str, Any]]:
    if parameters is None:
        parameters = _NO_PARAMETERS
    if not isinstance(parameters, Mapping):
        raise ToolDefinitionError(
            name,
            f"parameters must be a JSON Schema object, got {type(parameters).__name__}",
            fix='pass {"type": "object", "properties": {...}, "required": [...]}',
        )
    depth = schema_depth(parameters)
    if depth > MAX_SCHEMA_DEPTH:
        raise ToolDefinitionError(
            name,
            f"the parameters nest {depth} levels deep, more than {MAX_SCHEMA_DEPTH}",
            fix="flatten the arguments' schema",
        )
    try:
        schema: dict[str, Any] = json.loads(json.dumps(parameters))
    except (TypeError, ValueError) as error:
        raise ToolDefinitionError(
            name, f"parameters are not JSON ({error})", fix="use only JSON values in the schema"
        ) from None
    check_json_schema(schema, subject=f"Tool {name!r}: parameters are")
    if "type" not in schema and "properties" in schema:
        schema["type"] = "object"
    if schema.get("type") != "object":
        raise ToolDefinitionError(
            name,
            f"parameters must be an object schema, got type {schema.get('type')!r}",
            fix='put the arguments under {"type": "object", "properties": {...}}',
        )
    remote = _remote_refs(schema)
    if remote:
        raise ToolDefinitionError(
            name,
            f"parameters use a $ref outside the schema ({remote[0]})",
            fix="inline the referenced schema, or move it under $defs",
        )
    closed = close_objects(schema)
    try:
        compiled = compile_schema(closed)
    except SchemaError as error:
        raise SchemaError(f"Tool {name!r}: {error.message}", fix=error.fix) from None
    return closed, compiled, schema


def _walk_refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key not in ("default", "const", "enum", "examples"):
                yield from _walk_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_refs(item)


def _remote_refs(schema: dict[str, Any]) -> list[str]:
    return [ref for ref in _walk_refs(schema) if not ref.startswith("#")]


def has_local_ref(schema: dict[str, Any]) -> bool:
    return any(ref.startswith("#") for ref in _walk_refs(schema))


def rebased(node: Any, base: str) -> Any:
    if isinstance(node, list):
        return [rebased(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = base + value[1:]
        elif key in ("default", "const", "enum", "examples"):
            out[key] = value
        else:
            out[key] = rebased(value, base)
    return out
