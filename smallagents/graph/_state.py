"""State, input and output schemas: their keys, their JSON Schema, answers as plain JSON."""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Mapping
from typing import Any

import pydantic

State = Mapping[str, Any]
Update = Mapping[str, Any]


def field_types(schema: type[Any]) -> dict[str, Any]:
    """The keys of a state, input or output schema and their annotations (``Annotated`` kept)."""
    try:
        return typing.get_type_hints(schema, include_extras=True)
    except (NameError, TypeError):  # unresolvable forward references: fall back to raw names
        return dict(getattr(schema, "__annotations__", {}))


def json_schema(schema: type[Any]) -> dict[str, Any]:
    """The JSON Schema of a state, input or output schema.

    A ``typing.TypedDict`` is rebuilt as a pydantic model first: pydantic refuses
    ``typing.TypedDict`` before Python 3.12, which is what LangGraph's own
    ``get_input_jsonschema`` hands it.
    """
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return schema.model_json_schema()
    required: frozenset[str] = getattr(schema, "__required_keys__", frozenset())
    fields: dict[str, Any] = {
        key: (annotation, ... if key in required else None)
        for key, annotation in field_types(schema).items()
    }
    model = pydantic.create_model(schema.__name__, __doc__=schema.__doc__, **fields)
    return dict(model.model_json_schema())


def plain(value: Any) -> Any:
    """An answer as plain JSON data, the form it takes in the state and checkpoints."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def inputs_fingerprint(inputs: Mapping[str, Any]) -> str:
    """A short digest of a run's inputs, kept in the checkpoint to refuse other inputs later."""
    text = json.dumps(plain(dict(inputs)), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
