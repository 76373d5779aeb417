"""Fuzzing the JSON Schema -> grammar path: refuse loudly or be exact, never looser.

A seeded generator writes many JSON Schemas (nested objects and arrays, enums,
const, anyOf/oneOf/allOf, patterns, bounds, required, additionalProperties,
$ref/$defs, formats) with some keywords the grammar engine cannot express mixed
in. Each schema either fails ``compile_schema`` with a ``SchemaError``, or its
grammar is checked against jsonschema on sampled instances, valid ones from an
instance generator and invalid ones from mutations of them:

* a **loosening** (the grammar accepts what the validator rejects) fails the test:
  validation after decoding would catch it, but then the grammar silently promised
  more than it enforces;
* a **tightening** (the grammar refuses a valid instance) is counted and bounded:
  the engine fixes the property order, for one, which JSON Schema leaves free.

The default run checks ``SMALLAGENTS_FUZZ_SCHEMAS`` schemas (default 150, a few
seconds); ``SMALLAGENTS_FUZZ_SCHEMAS=5000 pytest tests/test_schema_fuzz.py -s``
runs a long one and prints the counts.
"""

from __future__ import annotations

import copy
import json
import os
import random
import string
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import llguidance
import pytest

from smallagents.errors import SchemaError
from smallagents.models.embedded import embedded_path
from smallagents.models.vocab import tokenizer_for
from smallagents.structured.schema import close_objects, compile_schema

SCHEMAS = int(os.environ.get("SMALLAGENTS_FUZZ_SCHEMAS", "150"))
SEED = int(os.environ.get("SMALLAGENTS_FUZZ_SEED", "20261125"))
INSTANCES = 12  # valid instances drawn per schema; each also gives mutations

# Keywords llguidance cannot express: each must make compile_schema fail, never
# be dropped from the grammar.
UNSUPPORTED: list[tuple[str, Callable[[random.Random], dict[str, Any]]]] = [
    ("uniqueItems", lambda r: {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}),
    ("contains", lambda r: {"type": "array", "contains": {"type": "integer"}}),
    ("not", lambda r: {"not": {"type": "string"}}),
    ("if/then", lambda r: {"if": {"type": "integer"}, "then": {"minimum": 0}}),
    (
        "dependentRequired",
        lambda r: {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "dependentRequired": {"a": ["b"]},
        },
    ),
    ("oneOf", lambda r: {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]}),
    ("lookahead pattern", lambda r: {"type": "string", "pattern": "^(?=a)\\w+$"}),
    ("unknown format", lambda r: {"type": "string", "format": "postal-code"}),
]

PATTERNS = ["^[a-z]{1,5}$", "^[A-Z][a-z]*$", "^[0-9]{3}-[0-9]{4}$", "^(yes|no)$", "^a+b?$"]
FORMATS = ["date", "email", "uuid", "date-time", "time"]
WORDS = ["a", "b", "city", "unit", "x1", "name", "tags", "n", "ok", "note"]


# --- schemas -----------------------------------------------------------------------------


class SchemaMaker:
    """Random JSON Schemas, with ``$defs`` collected for the root."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.defs: dict[str, Any] = {}
        self.unsupported: list[str] = []

    def root(self, unsupported_rate: float) -> dict[str, Any]:
        schema = self.object(depth=0)
        if self.rng.random() < unsupported_rate:
            name, make = self.rng.choice(UNSUPPORTED)
            self.unsupported.append(name)
            key = f"u{len(schema['properties'])}"
            schema["properties"][key] = make(self.rng)
            schema.setdefault("required", []).append(key)
        if self.defs:
            schema["$defs"] = self.defs
        return schema

    def any(self, depth: int) -> dict[str, Any]:
        kinds = ["string", "integer", "number", "boolean", "null", "enum", "const", "format"]
        if depth < 3:
            kinds += ["object", "array", "anyOf", "allOf", "ref"] * 2
        kind = self.rng.choice(kinds)
        return getattr(self, kind.lower().replace("of", "_of"))(depth + 1)

    def string(self, depth: int) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        roll = self.rng.random()
        if roll < 0.3:
            schema["pattern"] = self.rng.choice(PATTERNS)
        elif roll < 0.7:
            low = self.rng.randint(0, 4)
            schema["minLength"] = low
            schema["maxLength"] = low + self.rng.randint(0, 6)
        return schema

    def format(self, depth: int) -> dict[str, Any]:
        return {"type": "string", "format": self.rng.choice(FORMATS)}

    def integer(self, depth: int) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.rng.random() < 0.6:
            low = self.rng.randint(-50, 50)
            schema["minimum"] = low
            schema["maximum"] = low + self.rng.randint(0, 100)
        if self.rng.random() < 0.2:
            schema["exclusiveMinimum"] = self.rng.randint(-60, 0)
        return schema

    def number(self, depth: int) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "number"}
        if self.rng.random() < 0.6:
            low = round(self.rng.uniform(-10, 10), 2)
            schema["minimum"] = low
            schema["maximum"] = round(low + self.rng.uniform(0, 20), 2)
        return schema

    def boolean(self, depth: int) -> dict[str, Any]:
        return {"type": "boolean"}

    def null(self, depth: int) -> dict[str, Any]:
        return {"type": "null"}

    def enum(self, depth: int) -> dict[str, Any]:
        pool: list[Any] = ["red", "green", "blue", 1, 2.5, None, True, "1"]
        return {"enum": self.rng.sample(pool, self.rng.randint(1, 4))}

    def const(self, depth: int) -> dict[str, Any]:
        return {"const": self.rng.choice(["on", 7, False, None, [1, 2], {"k": "v"}])}

    def object(self, depth: int) -> dict[str, Any]:
        names = self.rng.sample(WORDS, self.rng.randint(1, 4))
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: self.any(depth) for name in names},
            "required": [name for name in names if self.rng.random() < 0.6],
        }
        roll = self.rng.random()
        if roll < 0.15:
            schema["additionalProperties"] = {"type": "integer"}
        elif roll < 0.3:
            schema["additionalProperties"] = True
        return schema

    def array(self, depth: int) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.any(depth)}
        if self.rng.random() < 0.6:
            low = self.rng.randint(0, 2)
            schema["minItems"] = low
            schema["maxItems"] = low + self.rng.randint(0, 3)
        return schema

    def any_of(self, depth: int) -> dict[str, Any]:
        return {"anyOf": [self.any(depth) for _ in range(self.rng.randint(2, 3))]}

    def all_of(self, depth: int) -> dict[str, Any]:
        # What llguidance can merge: one typed schema and one that narrows it.
        low = self.rng.randint(0, 10)
        return {"allOf": [{"type": "integer"}, {"minimum": low, "maximum": low + 20}]}

    def ref(self, depth: int) -> dict[str, Any]:
        name = f"d{len(self.defs)}"
        self.defs[name] = {}  # the name is taken before a nested $ref picks one
        self.defs[name] = self.any(depth + 1)
        return {"$ref": f"#/$defs/{name}"}


# --- instances ---------------------------------------------------------------------------


class InstanceMaker:
    """Instances a schema should accept (most of the time: they are checked), in the
    schema's property order, the order the grammar emits."""

    def __init__(self, rng: random.Random, root: dict[str, Any]) -> None:
        self.rng = rng
        self.root = root

    def make(self, schema: Any, depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > 8:
            return None
        if "$ref" in schema:
            return self.make(self.root["$defs"][schema["$ref"].rsplit("/", 1)[1]], depth + 1)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            return copy.deepcopy(self.rng.choice(schema["enum"]))
        if "anyOf" in schema:
            return self.make(self.rng.choice(schema["anyOf"]), depth + 1)
        if "allOf" in schema:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(part)
            return self.make(merged, depth + 1)
        kind = schema.get("type")
        if kind == "object":
            return self.object(schema, depth)
        if kind == "array":
            low = schema.get("minItems", 0)
            count = self.rng.randint(low, schema.get("maxItems", low + 3))
            return [self.make(schema.get("items", {}), depth + 1) for _ in range(count)]
        if kind == "string":
            return self.string(schema)
        if kind == "integer":
            low = max(schema.get("minimum", -100), schema.get("exclusiveMinimum", -101) + 1)
            return self.rng.randint(low, max(low, schema.get("maximum", 100)))
        if kind == "number":
            low, high = schema.get("minimum", -100.0), schema.get("maximum", 100.0)
            return self.rng.choice([round(self.rng.uniform(low, high), 3), low, high])
        if kind == "boolean":
            return self.rng.random() < 0.5
        return None

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        required = set(schema.get("required", []))
        out = {
            name: self.make(child, depth + 1)
            for name, child in schema.get("properties", {}).items()
            if name in required or self.rng.random() < 0.5
        }
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra and self.rng.random() < 0.3:
            out["zz_extra"] = self.make(extra, depth + 1)
        return out

    def string(self, schema: dict[str, Any]) -> str:
        fixed = {
            "date": "2025-03-14",
            "email": "ana@example.com",
            "uuid": "12345678-1234-1234-1234-123456789abc",
            "date-time": "2025-03-14T09:30:00Z",
            "time": "09:30:00Z",
        }
        if "format" in schema:
            return fixed.get(schema["format"], "x")
        pattern = schema.get("pattern")
        if pattern is not None:
            return {
                "^[a-z]{1,5}$": "abc",
                "^[A-Z][a-z]*$": "Oslo",
                "^[0-9]{3}-[0-9]{4}$": "555-1234",
                "^(yes|no)$": "yes",
                "^a+b?$": "aab",
            }.get(pattern, "a")
        low = schema.get("minLength", 0)
        length = self.rng.randint(low, schema.get("maxLength", low + 6))
        return "".join(self.rng.choice(string.ascii_letters + ' é"\\') for _ in range(length))


def mutations(rng: random.Random, value: Any) -> Iterator[Any]:
    """Near misses: one change somewhere in the value."""
    yield {**value, "zz_unknown": 1} if isinstance(value, dict) else [value]
    yield rng.choice([None, "text", -1, 1.5, True, [], {}, 10**12, "2025-13-45", "a@", "ZZ"])
    paths = list(_paths(value))
    for _ in range(4 if paths else 0):
        path = rng.choice(paths)
        changed = copy.deepcopy(value)
        parent, key = _locate(changed, path)
        if parent is None:
            continue
        current = parent[key]
        replacements: list[Any] = [None, "x", 0, -(10**6), 10**6, 0.5, True, [], {}, "not-a-date"]
        if isinstance(current, str):
            replacements += [current + "Z9!", "", current * 3, "2025-02-30", "no-at-sign"]
        if isinstance(current, int | float) and not isinstance(current, bool):
            replacements += [current + 1, current - 1, current + 0.5, current * 1000]
        if isinstance(current, list):
            replacements += [[*current, current[0] if current else 1], current[:-1]]
        if isinstance(current, dict) and current:
            replacements.append(dict(list(current.items())[1:]))  # a required key dropped
        parent[key] = rng.choice(replacements)
        yield changed


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _locate(value: Any, path: tuple[Any, ...]) -> tuple[Any, Any]:
    if not path:
        return None, None
    node = value
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


# --- the check ---------------------------------------------------------------------------


@dataclass
class Tally:
    """What the fuzz run saw."""

    schemas: int = 0
    compiled: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    unsupported_compiled: list[str] = field(default_factory=list)
    valid_checked: int = 0
    invalid_checked: int = 0
    loosenings: list[str] = field(default_factory=list)
    tightenings: list[str] = field(default_factory=list)
    format_tightenings: int = 0
    integral_float_tightenings: int = 0

    def line(self) -> str:
        return (
            f"schemas {self.schemas}, compiled {self.compiled}, refused "
            f"{sum(self.refused.values())} ({dict(self.refused)}), valid instances "
            f"{self.valid_checked}, invalid instances {self.invalid_checked}, loosenings "
            f"{len(self.loosenings)}, tightenings {len(self.tightenings)} (and "
            f"{self.format_tightenings} on formats the validator does not check, "
            f"{self.integral_float_tightenings} on integers written as 3.0)"
        )


@pytest.fixture(scope="module")
def tokenizer() -> llguidance.LLTokenizer:
    return tokenizer_for(str(embedded_path("default")))


def accepts(matcher: llguidance.LLMatcher, tokenizer: llguidance.LLTokenizer, text: str) -> bool:
    """Whether the grammar lets a decoder emit exactly ``text`` (token by token)."""
    matcher.reset()
    tokens = tokenizer.tokenize_str(text)
    return matcher.try_consume_tokens(tokens) == len(tokens) and matcher.is_accepting()


def without_formats(node: Any) -> Any:
    """The schema with its ``format`` keywords removed (no property here is named so)."""
    if isinstance(node, list):
        return [without_formats(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: value if key in ("const", "enum") else without_formats(value)
        for key, value in node.items()
        if key != "format"
    }


def integral_as_int(value: Any) -> str:
    """``value`` as compact JSON with every integral float written as an integer."""

    def convert(node: Any) -> Any:
        if isinstance(node, float) and node.is_integer():
            return int(node)
        if isinstance(node, list):
            return [convert(item) for item in node]
        if isinstance(node, dict):
            return {key: convert(item) for key, item in node.items()}
        return node

    return json.dumps(convert(value), ensure_ascii=False, separators=(",", ":"))


def explained_by_format(tokenizer: llguidance.LLTokenizer, raw: dict[str, Any], text: str) -> bool:
    """Whether the grammar refused ``text`` only for a ``format``: jsonschema checks
    ``date``, ``email`` loosely and ``date-time``, ``time`` not at all (without extra
    packages), while llguidance enforces them; the validator is the weaker side."""
    if "format" not in json.dumps(raw):
        return False
    loose = compile_schema(without_formats(raw))
    return accepts(llguidance.LLMatcher(tokenizer, loose.grammar, log_level=0), tokenizer, text)


def fuzz(tokenizer: llguidance.LLTokenizer, count: int, seed: int) -> Tally:
    tally = Tally()
    for index in range(count):
        rng = random.Random(seed * 100_003 + index)
        maker = SchemaMaker(rng)
        raw = maker.root(unsupported_rate=0.25)
        tally.schemas += 1
        try:
            compiled = compile_schema(raw)
        except SchemaError as error:
            assert "Fix:" in str(error) and "\n" not in error.message
            # A schema of supported keywords only (an unsatisfiable one): say why.
            reason = maker.unsupported[0] if maker.unsupported else f"other: {error.message[:120]}"
            tally.refused[reason] += 1
            continue
        tally.compiled += 1
        if maker.unsupported:
            tally.unsupported_compiled.append(f"{maker.unsupported[0]}: {json.dumps(raw)}")
        validator = jsonschema.Draft202012Validator(
            close_objects(raw), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        matcher = llguidance.LLMatcher(tokenizer, compiled.grammar, log_level=0)
        instances = InstanceMaker(rng, raw)
        seen: set[str] = set()
        for _ in range(INSTANCES):
            value = instances.make(raw)
            for candidate in [value, *mutations(rng, value)]:
                text = json.dumps(candidate, ensure_ascii=False, separators=(",", ":"))
                if text in seen:
                    continue
                seen.add(text)
                valid = validator.is_valid(candidate)
                accepted = accepts(matcher, tokenizer, text)
                if valid:
                    tally.valid_checked += 1
                    if not accepted and accepts(matcher, tokenizer, integral_as_int(candidate)):
                        # jsonschema counts 3.0 as an integer; the grammar writes 3.
                        tally.integral_float_tightenings += 1
                    elif not accepted and explained_by_format(tokenizer, raw, text):
                        tally.format_tightenings += 1
                    elif not accepted:
                        tally.tightenings.append(f"{text}  under  {json.dumps(raw)}")
                else:
                    tally.invalid_checked += 1
                    if accepted:
                        tally.loosenings.append(f"{text}  under  {json.dumps(raw)}")
    return tally


def test_the_grammar_is_never_looser_than_the_schema(tokenizer: llguidance.LLTokenizer) -> None:
    tally = fuzz(tokenizer, SCHEMAS, SEED)
    print(f"\nschema fuzz (seed {SEED}): {tally.line()}")
    # Enough of each side ran for the check to mean something.
    assert tally.compiled >= SCHEMAS // 2
    assert sum(tally.refused.values()) >= SCHEMAS // 10
    assert tally.valid_checked >= 5 * tally.compiled
    assert tally.invalid_checked >= 5 * tally.compiled
    # Every keyword the engine cannot express was refused, never dropped.
    assert tally.unsupported_compiled == []
    assert tally.loosenings == [], tally.loosenings[:5]
    # Valid instances are accepted, except where a format is stricter in the grammar.
    assert tally.tightenings == [], tally.tightenings[:5]


@pytest.mark.parametrize(("name", "make"), UNSUPPORTED, ids=[name for name, _ in UNSUPPORTED])
def test_each_unsupported_keyword_fails_loudly_alone_and_nested(
    name: str, make: Callable[[random.Random], dict[str, Any]]
) -> None:
    fragment = make(random.Random(0))
    nested = {
        "type": "object",
        "properties": {"list": {"type": "array", "items": {"anyOf": [{"type": "null"}, fragment]}}},
    }
    for schema in (fragment, nested, {"$defs": {"x": fragment}, "$ref": "#/$defs/x"}):
        with pytest.raises(SchemaError, match="cannot be expressed as a grammar") as caught:
            compile_schema(schema)
        assert "\n" not in caught.value.message and caught.value.fix


# --- regressions the fuzzing found -------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/d0", "$defs": {"d0": {"$ref": "#/$defs/d0"}}},
        {"$ref": "#"},
        {
            "type": "object",
            "properties": {"x": {"$ref": "#/$defs/a"}},
            "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        },
    ],
)
def test_a_ref_cycle_is_refused_instead_of_crashing_validation(schema: dict[str, Any]) -> None:
    # llguidance compiled these; jsonschema then recursed forever on every output.
    with pytest.raises(SchemaError, match=r"\$ref cycle that no value ends: #"):
        compile_schema(schema)


def test_a_recursive_schema_that_reaches_a_type_still_compiles() -> None:
    node = {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}
    schema = compile_schema({"$defs": {"n": node}, "$ref": "#/$defs/n"})
    assert schema.parse('{"next":{"next":{}}}') == {"next": {"next": {}}}


def test_a_regex_error_is_one_line() -> None:
    # llguidance reports a bad pattern on three lines, with a caret under it.
    with pytest.raises(SchemaError) as caught:
        compile_schema({"type": "string", "pattern": "^(?=a)b$"})
    assert "\n" not in str(caught.value)
    assert "look-around" in caught.value.message and "^(?=a)b$" in caught.value.message
