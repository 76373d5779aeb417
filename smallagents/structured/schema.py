"""Turn a user's schema (pydantic class, JSON Schema dict, or bundled name) into a checked contract.

A ``CompiledSchema`` is built once per schema and cached. Building it:

1. resolves the schema to a JSON Schema dict and checks it against its metaschema;
2. closes every object to extra keys unless the schema opens them itself;
3. compiles it to an llguidance grammar with compact separators, so that the
   grammar engine either expresses the schema fully or fails here, loudly, at
   definition time (llguidance's ``lenient`` mode, which would silently drop
   unknown keywords, is used only when asked for with ``on_unsupported="validate"``,
   and then with a logged warning).

Every output is validated afterwards with jsonschema too: grammar engines let
some keywords through (llguidance does not enforce ``uniqueItems`` or ``format``
everywhere), and a validated output is the only thing we hand back.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pydantic
from jsonschema.exceptions import SchemaError as _JsonSchemaMetaError

from smallagents.content import content_dir
from smallagents.errors import SchemaError

logger = logging.getLogger(__name__)

SchemaLike = type[pydantic.BaseModel] | Mapping[str, Any] | str

# Compact JSON: a weak model given free whitespace fills its budget with spaces.
GRAMMAR_OPTIONS: dict[str, Any] = {
    "whitespace_flexible": False,
    "item_separator": ",",
    "key_separator": ":",
    "lenient": False,
}

_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_SINGLE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
)
_OPENING_KEYWORDS = ("additionalProperties", "patternProperties", "unevaluatedProperties")


class RedFlag(Exception):
    """An output that must be discarded and resampled, with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class CompiledSchema:
    """A schema ready for constrained decoding and validation."""

    name: str
    json_schema: dict[str, Any]
    grammar: str
    fingerprint: str
    model_class: type[pydantic.BaseModel] | None = None
    _validator: Any = field(default=None, repr=False, compare=False)

    def parse(self, text: str) -> Any:
        """Parse and validate model output; raise ``RedFlag`` if it is not acceptable."""
        try:
            data = json.loads(
                text,
                object_pairs_hook=_reject_duplicate_keys,
                parse_constant=_reject_constant,
            )
        except RedFlag:
            raise
        except ValueError as error:
            raise RedFlag(f"invalid JSON: {error}") from None
        self.check(data)
        if self.model_class is not None:
            try:
                return self.model_class.model_validate(data)
            except pydantic.ValidationError as error:
                first = error.errors()[0]
                raise RedFlag(f"pydantic: {first['loc']}: {first['msg']}") from None
        return data

    def check(self, data: Any) -> None:
        """Validate already-parsed data against the schema; raise ``RedFlag`` if invalid."""
        error = jsonschema.exceptions.best_match(self._validator.iter_errors(data))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "(root)"
            raise RedFlag(f"schema: at {where}: {error.message[:200]}")


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise RedFlag(f"invalid JSON: duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> float:
    raise RedFlag(f"invalid JSON: {name} is not JSON")


def close_objects(schema: dict[str, Any]) -> dict[str, Any]:
    """Return a copy where every object schema forbids keys it does not declare.

    An object that already says what to do with extra keys (``additionalProperties``,
    ``patternProperties`` or ``unevaluatedProperties``) is left as it is.
    """
    closed = copy.deepcopy(schema)
    _close_in_place(closed)
    return closed


def _close_in_place(node: Any) -> None:
    if not isinstance(node, dict):
        return
    is_object = node.get("type") == "object" or "properties" in node
    if is_object and not any(key in node for key in _OPENING_KEYWORDS):
        node["additionalProperties"] = False
    for key in _SUBSCHEMA_MAPS:
        for child in (node.get(key) or {}).values():
            _close_in_place(child)
    for key in _SUBSCHEMA_LISTS:
        for child in node.get(key) or ():
            _close_in_place(child)
    for key in _SUBSCHEMA_SINGLE:
        child = node.get(key)
        if isinstance(child, list):  # draft-4 style tuple "items"
            for item in child:
                _close_in_place(item)
        else:
            _close_in_place(child)


def schema_path(name: str) -> Path:
    """Path of a bundled schema file, by name (``"person"`` or ``"person.json"``)."""
    stem = name.removesuffix(".json")
    folder = content_dir("schemas")
    path = folder / f"{stem}.json"
    if not path.is_file() or "/" in stem or stem.startswith("."):
        known = ", ".join(sorted(p.stem for p in folder.glob("*.json"))) or "none"
        raise SchemaError(
            f"Unknown schema name {name!r}; bundled schemas: {known}.",
            fix="pass a pydantic model, a JSON Schema dict, or one of the bundled names.",
        )
    return path


def _resolve(schema: SchemaLike) -> tuple[str, dict[str, Any], type[pydantic.BaseModel] | None]:
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return schema.__name__, schema.model_json_schema(), schema
    if isinstance(schema, str):
        path = schema_path(schema)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise SchemaError(
                f"Schema file {path} is not valid JSON: {error}.",
                fix="correct the file so that it holds one JSON Schema object.",
            ) from None
        return path.stem, loaded, None
    if isinstance(schema, Mapping):
        as_dict = json.loads(json.dumps(schema))  # a plain, JSON-only deep copy
        return str(as_dict.get("title", "schema")), as_dict, None
    raise SchemaError(
        f"Expected a pydantic model class, a JSON Schema dict or a schema name; got "
        f"{type(schema).__name__}.",
        fix="pass e.g. schema=MyModel, schema={'type': 'object', ...} or schema='person'.",
    )


OnUnsupported = Literal["error", "validate"]


def _build(schema: SchemaLike, on_unsupported: OnUnsupported) -> CompiledSchema:

    name, raw, model_class = _resolve(schema)
    if not isinstance(raw, dict):
        raise SchemaError(
            f"Schema {name!r} must be a JSON object, got {type(raw).__name__}.",
            fix="wrap the schema in an object such as {'type': 'object', ...}.",
        )
    validator_class = check_json_schema(raw, subject=f"Schema {name!r} is")
    cycle = _ref_cycle(raw)
    if cycle is not None:
        # llguidance compiles it, but jsonschema follows it forever: every output
        # would crash validation with a RecursionError (found by fuzzing).
        raise SchemaError(
            f"Schema {name!r} has a $ref cycle that no value ends: {cycle}.",
            fix="point the $ref at a schema with a type, or remove it.",
        )
    closed = close_objects(raw)
    options = GRAMMAR_OPTIONS
    is_error, messages = _check_grammar(closed, options)
    if is_error and on_unsupported == "validate":
        lenient = {**GRAMMAR_OPTIONS, "lenient": True}
        if not _check_grammar(closed, lenient)[0]:
            logger.warning(
                "schema %r: the grammar cannot enforce (%s); outputs that break it are "
                "caught by validation and resampled",
                name,
                one_line(messages[0]),
            )
            is_error, options = False, lenient
    if is_error:
        raise SchemaError(
            f"Schema {name!r} cannot be expressed as a grammar: {one_line(messages[0])}",
            fix="remove or rewrite the unsupported keyword, or pass on_unsupported='validate' "
            "to enforce it by validation and resampling instead.",
        )
    grammar = _grammar_with_optional_leading_space(closed, options)
    canonical = json.dumps(closed, sort_keys=True, separators=(",", ":"))
    return CompiledSchema(
        name=name,
        json_schema=closed,
        grammar=grammar,
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest()[:16],
        model_class=model_class,
        _validator=validator_class(closed, format_checker=validator_class.FORMAT_CHECKER),
    )


def check_json_schema(schema: dict[str, Any], *, subject: str) -> Any:
    """Check ``schema`` against its metaschema and return its validator class.

    ``subject`` starts the error message (``"Schema 'x' is"``, ``"Tool 'x': parameters
    are"``).

    Raises:
        SchemaError: the schema is not a valid JSON Schema.
    """
    validator_class = jsonschema.validators.validator_for(
        schema, default=jsonschema.Draft202012Validator
    )
    try:
        validator_class.check_schema(schema)
    except _JsonSchemaMetaError as error:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise SchemaError(
            f"{subject} not a valid JSON Schema: at {where}: {error.message}.",
            fix="correct the schema so that it validates against its JSON Schema metaschema.",
        ) from None
    return validator_class


def _ref_cycle(schema: dict[str, Any]) -> str | None:
    """A chain of local ``$ref``s that comes back to where it started, or ``None``."""
    for start in _local_refs(schema):
        chain = [start]
        while True:
            target = resolve_pointer(schema, chain[-1])
            following = target.get("$ref") if isinstance(target, dict) else None
            if not isinstance(following, str) or not following.startswith("#"):
                break
            if following in chain:
                return " -> ".join([*chain, following])
            chain.append(following)
    return None


def _local_refs(node: Any) -> list[str]:
    if isinstance(node, list):
        return [ref for item in node for ref in _local_refs(item)]
    if not isinstance(node, dict):
        return []
    ref = node.get("$ref")
    found = [ref] if isinstance(ref, str) and ref.startswith("#") else []
    for key, value in node.items():
        if key not in ("const", "enum", "default", "examples"):
            found += _local_refs(value)
    return found


def resolve_pointer(root: Any, ref: str) -> Any:
    """The node a local ``$ref`` (``#/$defs/x``, JSON Pointer escapes) names, or ``None``."""
    node = root
    for part in ref.removeprefix("#").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def one_line(message: str) -> str:
    """An llguidance message as one line: a regex error comes as several, with a caret
    line under the pattern that means nothing once the lines are joined."""
    lines = [line.strip() for line in message.splitlines()]
    return " ".join(line for line in lines if line and set(line) != {"^"})


def _check_grammar(schema: dict[str, Any], options: dict[str, Any]) -> tuple[bool, list[str]]:
    import llguidance

    # The options are JsonCompileOptions keys (built in this module); the stub wants the TypedDict.
    grammar = llguidance.LLMatcher.grammar_from_json_schema(schema, defaults=options)  # type: ignore[arg-type]
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    return bool(is_error), list(messages)


def _grammar_with_optional_leading_space(schema: dict[str, Any], options: dict[str, Any]) -> str:
    """The schema's JSON grammar, allowing one space before the value.

    Few-shot prompts for base models read ``4 + 3 = 7``: the model's natural next
    token is `` 7``, with its space. Forbidding it pushed Gemma 270M from 76% to
    60% on single-digit sums; allowing one space gave back the unconstrained 76%.
    One space is not a whitespace run, and JSON parsing ignores it.
    """
    import llguidance

    embedded = {**schema, "x-guidance": {**options, **schema.get("x-guidance", {})}}
    lark = f'start: " "? value\nvalue: %json {json.dumps(embedded)}'
    return str(llguidance.LLMatcher.grammar_from_lark(lark))


_cache: dict[Any, CompiledSchema] = {}
_cache_lock = threading.Lock()


def compile_schema(
    schema: SchemaLike | CompiledSchema, *, on_unsupported: OnUnsupported = "error"
) -> CompiledSchema:
    """Build (or fetch from the cache) the compiled form of a schema.

    Args:
        schema: a pydantic model class, a JSON Schema dict, or a bundled schema name.
        on_unsupported: what to do with a keyword the grammar engine cannot express
            (``not``, ``uniqueItems``, ``if``/``then``, ``contains`` ...): ``"error"``
            raises ``SchemaError`` now; ``"validate"`` leaves it out of the grammar
            with a logged warning, and validation red-flags outputs that break it.
            Either way no output that breaks the schema is ever returned.

    Raises:
        SchemaError: the schema is invalid, unknown, or (with ``"error"``) not
            expressible as a grammar.
    """
    if isinstance(schema, CompiledSchema):
        return schema
    if isinstance(schema, Mapping):
        key: Any = ("dict", json.dumps(schema, sort_keys=True, default=str))
    elif isinstance(schema, str):
        key = ("name", schema)
    else:
        key = ("class", schema)
    key = (*key, on_unsupported)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    built = _build(schema, on_unsupported)
    with _cache_lock:
        _cache[key] = built
    return built
