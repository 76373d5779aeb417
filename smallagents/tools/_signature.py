"""A typed Python function's signature and docstring as a tool's JSON Schema."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import pydantic
import typing_extensions
from pydantic_core import PydanticSerializationError, to_jsonable_python

from smallagents.errors import ToolDefinitionError

_ARGS_SECTIONS = ("Args", "Arguments", "Parameters")
_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Returns?|Yields?|Raises|Examples?|Notes?|Attributes|"
    r"See Also|Warnings?|Todo|References):\s*$"
)
_ARG_LINE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """A Google-style docstring's text before its sections, and its ``Args:`` entries.

    Returns:
        The description (whitespace collapsed) and each documented parameter's text.
    """
    summary: list[str] = []
    arguments: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    entry_indent: int | None = None
    for line in inspect.cleandoc(doc).splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(stripped)
        if header and indent == 0:
            section, current, entry_indent = header.group(1), None, None
            continue
        if section is None:
            summary.append(stripped)
        elif section in _ARGS_SECTIONS and stripped:
            match = _ARG_LINE.match(stripped)
            if match and (entry_indent is None or indent <= entry_indent):
                entry_indent, current = indent, match.group(1)
                arguments[current] = match.group(2).strip()
            elif current is not None:  # a continuation line of the entry above
                arguments[current] = f"{arguments[current]} {stripped}".strip()
    return " ".join(" ".join(summary).split()), arguments


def function_parameters(
    name: str, function: Callable[..., Any], argument_docs: Mapping[str, str]
) -> tuple[dict[str, Any], pydantic.TypeAdapter[Any]]:
    try:
        hints = typing.get_type_hints(function, include_extras=True)
        signature = inspect.signature(function)
    except (NameError, TypeError, ValueError) as error:
        raise ToolDefinitionError(
            name,
            f"cannot read the signature ({error})",
            fix="pass a plain function whose annotations are importable at module level",
        ) from None
    fields: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            stars = "*" if parameter.kind is parameter.VAR_POSITIONAL else "**"
            raise ToolDefinitionError(
                name,
                f"parameter {stars}{parameter.name} cannot be described to a model",
                fix="name every argument as its own parameter with a type hint",
            )
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise ToolDefinitionError(
                name,
                f"parameter {parameter.name!r} is positional-only, but arguments come by name",
                fix="remove the / from the signature",
            )
        if parameter.name not in hints:
            raise ToolDefinitionError(
                name,
                f"parameter {parameter.name!r} has no type hint",
                fix=f"annotate it, e.g. {parameter.name}: str",
            )
        hint = hints[parameter.name]
        doc = argument_docs.get(parameter.name)
        if doc:
            hint = Annotated[hint, pydantic.Field(description=doc)]
        if parameter.default is parameter.empty:
            fields[parameter.name] = typing_extensions.Required[hint]
        else:
            fields[parameter.name] = typing_extensions.NotRequired[hint]
            defaults[parameter.name] = parameter.default
    stray = sorted(set(argument_docs) - set(fields))
    if stray:
        raise ToolDefinitionError(
            name,
            f"the docstring's Args section names {', '.join(stray)}, which is not a parameter",
            fix="rename or remove the entry in the docstring",
        )
    # A TypedDict, not a model: arguments the model leaves out are not passed, so the
    # function's own defaults apply, and parameter names cannot clash with BaseModel's.
    # Called through an Any: the type checker only knows TypedDict's class syntax.
    make_typed_dict: Any = typing_extensions.TypedDict
    arguments_type: Any = make_typed_dict(
        f"{re.sub(r'[^0-9A-Za-z_]', '_', name)}_arguments", fields
    )
    arguments_type.__pydantic_config__ = pydantic.ConfigDict(extra="forbid")
    try:
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(arguments_type)
        schema = adapter.json_schema()
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError) as error:
        problem = str(error).splitlines()[0]
        raise ToolDefinitionError(
            name,
            f"a parameter's type has no JSON Schema ({problem})",
            fix="use JSON-like types: str, int, float, bool, Literal, Enum, list, dict, "
            "pydantic models",
        ) from None
    schema = without_titles(schema)
    for key, default in defaults.items():
        try:  # shown to the model; a default that is not JSON stays the function's secret
            schema["properties"][key]["default"] = to_jsonable_python(default)
        except (PydanticSerializationError, TypeError, ValueError):
            continue
    return schema, adapter


def without_titles(node: Any) -> Any:
    """The schema without pydantic's ``title`` keywords: noise in a small model's prompt."""
    if isinstance(node, list):
        return [without_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "definitions", "patternProperties"):
            # Maps from names to schemas: a property may itself be called "title".
            out[key] = {name: without_titles(child) for name, child in value.items()}
        elif key in ("default", "const", "enum", "examples"):
            out[key] = value  # values, not schemas
        else:
            out[key] = without_titles(value)
    return out
