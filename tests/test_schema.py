"""Schema compilation: resolution, closing objects, loud failures, red flags."""

from __future__ import annotations

import json
from typing import Literal

import pydantic
import pytest

from smallagents import compile_schema
from smallagents.errors import SchemaError
from smallagents.structured.schema import RedFlag, close_objects


class Pet(pydantic.BaseModel):
    kind: Literal["cat", "dog"]
    age: int = pydantic.Field(ge=0, le=30)


def test_pydantic_class_compiles_closed_and_parses_to_instances() -> None:
    schema = compile_schema(Pet)
    assert schema.name == "Pet"
    assert schema.json_schema["additionalProperties"] is False
    value = schema.parse('{"kind":"cat","age":3}')
    assert isinstance(value, Pet)
    assert value.age == 3


def test_compiled_schemas_are_cached_by_content() -> None:
    as_dict = {"type": "object", "properties": {"x": {"type": "integer"}}}
    assert compile_schema(as_dict) is compile_schema(json.loads(json.dumps(as_dict)))
    assert compile_schema(Pet) is compile_schema(Pet)


def test_bundled_schema_by_name() -> None:
    schema = compile_schema("person")
    assert schema.name == "person"
    assert set(schema.json_schema["required"]) == {"name", "age", "occupation", "hobbies"}


def test_close_objects_reaches_nested_and_defs_but_respects_open_objects() -> None:
    raw = {
        "type": "object",
        "properties": {
            "inner": {"type": "object", "properties": {"a": {"type": "string"}}},
            "open": {"type": "object", "additionalProperties": {"type": "integer"}},
            "list": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        },
        "$defs": {"Item": {"type": "object", "properties": {"b": {"type": "integer"}}}},
    }
    closed = close_objects(raw)
    assert closed["additionalProperties"] is False
    assert closed["properties"]["inner"]["additionalProperties"] is False
    assert closed["properties"]["open"]["additionalProperties"] == {"type": "integer"}
    assert closed["$defs"]["Item"]["additionalProperties"] is False
    assert "additionalProperties" not in raw  # the input is not modified


def test_extra_keys_are_red_flagged() -> None:
    schema = compile_schema({"type": "object", "properties": {"a": {"type": "integer"}}})
    with pytest.raises(RedFlag, match="schema"):
        schema.parse('{"a":1,"b":2}')


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"kind":"cat"', "invalid JSON"),
        ('{"kind":"cat","kind":"dog","age":1}', "duplicate key"),
        ('{"kind":"cat","age":NaN}', "NaN"),
        ('{"kind":"bird","age":1}', "schema"),
        ('{"kind":"cat","age":99}', "schema"),
    ],
)
def test_bad_outputs_are_red_flags_never_repaired(text: str, reason: str) -> None:
    with pytest.raises(RedFlag, match=reason):
        compile_schema(Pet).parse(text)


def test_invalid_json_schema_fails_at_definition_with_one_line_fix() -> None:
    with pytest.raises(SchemaError) as caught:
        compile_schema({"type": "objekt"})
    message = str(caught.value)
    assert "not a valid JSON Schema" in message and "Fix:" in message
    assert "\n" not in message


def test_unknown_schema_name_lists_the_bundled_ones() -> None:
    with pytest.raises(SchemaError, match="person"):
        compile_schema("no-such-schema")


def test_wrong_schema_type_is_a_usage_error() -> None:
    with pytest.raises(SchemaError, match="pydantic model class"):
        compile_schema(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
        {"type": "object", "properties": {"a": {"not": {"type": "string"}}}},
        {"type": "array", "contains": {"type": "integer"}},
    ],
)
def test_unsupported_keywords_fail_loudly_by_default(raw: dict[str, object]) -> None:
    with pytest.raises(SchemaError, match="cannot be expressed as a grammar"):
        compile_schema(raw)


def test_unsupported_keywords_can_fall_back_to_validation_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw = {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}
    schema = compile_schema(raw, on_unsupported="validate")
    assert "cannot enforce" in caplog.text
    assert schema.parse("[1,2]") == [1, 2]
    with pytest.raises(RedFlag, match="non-unique"):
        schema.parse("[1,1]")
