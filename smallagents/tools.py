"""Tools a Caller role may call: Python functions and OpenAI function specs, validated and timed."""

from __future__ import annotations

import inspect
import json
import re
import threading
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Annotated, Any, Literal, overload

import pydantic
import typing_extensions
from pydantic_core import to_jsonable_python

from smallagents.errors import (
    SchemaError,
    ToolArgumentError,
    ToolDefinitionError,
    ToolServerError,
    UsageError,
)
from smallagents.structured.schema import (
    CompiledSchema,
    RedFlag,
    check_json_schema,
    close_objects,
    compile_schema,
)
from smallagents.tool_specs import (
    MAX_SCHEMA_DEPTH,
    TOOL_NAME,
    ToolSpec,
    check_tool_name,
    read_spec,
    schema_depth,
)

__all__ = [
    "DEFAULT_MAX_CALLS",
    "DEFAULT_MAX_OUTPUT_CHARS",
    "DEFAULT_TIMEOUT",
    "TOOL_CALLS",
    "TOOL_NAME",
    "Tool",
    "ToolApproval",
    "ToolResult",
    "ToolStatus",
    "allow_tools",
    "as_tools",
    "calls_schema",
    "describe_schema",
    "describe_tools",
    "format_output",
    "parse_docstring",
    "run_calls",
    "tool",
    "truncate",
]

DEFAULT_TIMEOUT = 10.0
"""Seconds a tool may run before its observation says it timed out."""

# Observations go back into a small model's prompt, whose context is 4096 tokens:
# one chatty tool must not crowd out the request and the other results.
DEFAULT_MAX_OUTPUT_CHARS = 1000
"""Characters of a tool's output kept in its observation."""

DEFAULT_MAX_CALLS = 3
"""Calls one Caller answer may hold."""

TOOL_CALLS = "tool_calls."
"""The prefix of a run's counters of tool calls: ``tool_calls.ok``,
``tool_calls.needs_confirmation`` and so on, one per :data:`ToolStatus`."""

_ARGS_SECTIONS = ("Args", "Arguments", "Parameters")
_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Returns?|Yields?|Raises|Examples?|Notes?|Attributes|"
    r"See Also|Warnings?|Todo|References):\s*$"
)
_ARG_LINE = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

ToolStatus = Literal[
    "ok",
    "invalid_arguments",
    "error",
    "timeout",
    "unknown_tool",
    "not_runnable",
    "needs_confirmation",
]
"""How a tool call ended: ``ok``; ``invalid_arguments`` (refused before running);
``error`` (the tool raised); ``timeout``; ``unknown_tool`` (no tool of that name);
``not_runnable`` (a tool made from a spec without a Python function);
``needs_confirmation`` (a tool marked ``requires_confirmation`` that nobody approved:
it did not run)."""

ToolApproval = Callable[["Tool", Mapping[str, Any]], bool]
"""Decides whether one call of a tool marked ``requires_confirmation`` may run: called
with the tool and the validated arguments; ``True`` runs it. An exception it raises
is not caught: it is the operator's code, not the model's."""


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call; ``observation`` is what the model reads next.

    Attributes:
        name: the tool called.
        arguments: the arguments as the model gave them.
        status: how the call ended (see :data:`ToolStatus`).
        observation: the result (or the error) as text, at most the tool's
            ``max_output_chars``.
        seconds: wall time of the call, validation included.
        truncated: whether the observation was cut to ``max_output_chars``.
    """

    name: str
    arguments: dict[str, Any]
    status: ToolStatus
    observation: str
    seconds: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """Whether the tool ran and returned."""
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        """The result as plain JSON data (for a graph's state and checkpoints)."""
        return {
            "name": self.name,
            "arguments": to_jsonable_python(self.arguments, fallback=str),
            "status": self.status,
            "observation": self.observation,
            "truncated": self.truncated,
        }


class Tool:
    """A function a model may call: a name, a description and a JSON Schema of its arguments.

    Make one with :func:`tool` (a Python function), :meth:`Tool.from_spec` (a function
    spec: OpenAI, Anthropic, MCP or BFCL) or the constructor. Everything is checked when
    the tool is made: the name, the parameters as a JSON Schema, and that the grammar
    engine can express them (a keyword it cannot, such as ``uniqueItems``, is a
    :class:`~smallagents.errors.SchemaError` now, never a looser grammar later).

    :meth:`run` is how a model's call is executed: the arguments are validated
    against the schema (and, for a Python tool, converted by pydantic) before the
    function runs, on a worker thread with a timeout; the result or the error
    becomes an observation string. Model text is only ever data here: it is never
    evaluated. Calling the tool object itself (``tool(**kwargs)``) calls the plain
    Python function, unchecked, as Python code would.

    Attributes:
        name: the name the model calls it by.
        description: what it does, for the model.
        parameters: the JSON Schema of its arguments, an object schema, closed
            (``additionalProperties: false`` wherever it was not said otherwise).
        function: the Python function, or ``None`` for a spec only.
        timeout: seconds a call may run.
        max_output_chars: characters of output kept in an observation.
        requires_confirmation: whether a call runs only when approved.
        shown_parameters: the parameters as given (JSON Schema, before closing the
            objects): what a model's own tool template shows it.
        notes: what was changed to read its spec (BFCL's types mapped), one line each.
    """

    def __init__(
        self,
        *,
        name: str,
        description: str,
        parameters: Mapping[str, Any] | None = None,
        function: Callable[..., Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        requires_confirmation: bool = False,
    ) -> None:
        """Args:
        name: printable characters without whitespace, at most 256 (``math.gcd``
            is fine; see :mod:`smallagents.tool_specs` for endpoints' stricter rule).
        description: what the tool does, in a sentence the model can use.
        parameters: the JSON Schema of the arguments, with ``"type": "object"``
            (default: no arguments).
        function: called with the validated arguments as keyword arguments.
        timeout: seconds a call may run before its observation says it timed out.
        max_output_chars: characters of output kept in an observation.
        requires_confirmation: run a call only when an approval says so (see
            :meth:`run`); a job runs it only with ``--allow-tool NAME``.

        Raises:
            ToolDefinitionError: a bad name, a non-object schema, a remote ``$ref``,
                a timeout or output limit that is not positive.
            SchemaError: ``parameters`` is not a valid JSON Schema, or uses a keyword
                the grammar engine cannot express.
        """
        check_tool_name(name)
        if not isinstance(description, str):
            raise ToolDefinitionError(
                name, "the description is not a string", fix="pass description='What it does.'"
            )
        if not timeout > 0:
            raise ToolDefinitionError(name, f"timeout={timeout!r}", fix="use a timeout above 0")
        if max_output_chars < 1:
            raise ToolDefinitionError(
                name, f"max_output_chars={max_output_chars!r}", fix="use a limit of 1 or more"
            )
        self.name = name
        self.description = " ".join(description.split())
        self.function = function
        self.timeout = float(timeout)
        self.max_output_chars = int(max_output_chars)
        self.requires_confirmation = bool(requires_confirmation)
        self.notes: tuple[str, ...] = ()
        self.parameters, self._schema, self.shown_parameters = _checked_parameters(name, parameters)
        # Set by from_function: pydantic converts validated JSON into the Python types
        # the function declares (enums, dates, models).
        self._adapter: pydantic.TypeAdapter[Any] | None = None
        if function is not None:
            self.__doc__ = function.__doc__
            self.__wrapped__ = function

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        requires_confirmation: bool = False,
    ) -> Tool:
        """A tool from a typed Python function (what :func:`tool` does).

        The parameters' JSON Schema comes from their type hints (through pydantic),
        each parameter's description from the docstring's Google-style ``Args:``
        section, and the tool's description from the docstring's text before its
        first section. A parameter with a default is optional.

        Raises:
            ToolDefinitionError: a parameter without a type hint, ``*args`` or
                ``**kwargs``, a positional-only parameter, a type without a JSON
                Schema, no description, or an ``Args:`` entry that names no parameter.
        """
        tool_name = name or getattr(function, "__name__", "")
        summary, argument_docs = parse_docstring(inspect.getdoc(function) or "")
        text = description if description is not None else summary
        if not text or not text.strip():
            raise ToolDefinitionError(
                tool_name,
                "no description",
                fix="write a docstring that says what the tool does, or pass description=",
            )
        parameters, adapter = _function_parameters(tool_name, function, argument_docs)
        made = cls(
            name=tool_name,
            description=text,
            parameters=parameters,
            function=function,
            timeout=timeout,
            max_output_chars=max_output_chars,
            requires_confirmation=requires_confirmation,
        )
        made._adapter = adapter
        return made

    @classmethod
    def from_spec(
        cls,
        spec: Mapping[str, Any] | ToolSpec,
        *,
        function: Callable[..., Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        requires_confirmation: bool = False,
    ) -> Tool:
        """A tool from a function spec in any dialect people bring.

        OpenAI's ``{"name", "description", "parameters"}`` and its wrapped form
        ``{"type": "function", "function": {...}}``, Anthropic's ``input_schema``,
        MCP's ``inputSchema``, and BFCL's specs (types ``dict``, ``float``, ``tuple``,
        ``any``, mapped to JSON Schema; :attr:`notes` says what was mapped). Without
        ``function`` the tool can be offered to a Caller (its calls are produced,
        validated and returned) but not run: :meth:`run` answers ``not_runnable``.

        Raises:
            ToolDefinitionError: the spec is not an object, is of no known dialect
                (the message names those expected), or lacks a name.
            SchemaError: the parameters are not a valid JSON Schema, or use a keyword
                the grammar engine cannot express.
        """
        read = spec if isinstance(spec, ToolSpec) else read_spec(spec)
        made = cls(
            name=read.name,
            description=read.description,
            parameters=read.parameters,
            function=function,
            timeout=timeout,
            max_output_chars=max_output_chars,
            requires_confirmation=requires_confirmation,
        )
        made.notes = read.notes
        return made

    @classmethod
    def from_openai(
        cls,
        spec: Mapping[str, Any],
        *,
        function: Callable[..., Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
        requires_confirmation: bool = False,
    ) -> Tool:
        """A tool from an OpenAI function spec (any dialect: see :meth:`from_spec`)."""
        return cls.from_spec(
            spec,
            function=function,
            timeout=timeout,
            max_output_chars=max_output_chars,
            requires_confirmation=requires_confirmation,
        )

    def to_openai(self, *, name: str | None = None) -> dict[str, Any]:
        """The tool as an OpenAI function spec (``{"type": "function", "function": ...}``).

        Its parameters are those given (BFCL's types mapped), not closed: read back
        with :meth:`from_spec`, it is the same tool.

        Args:
            name: the name to give it instead of its own (an endpoint's alias, see
                :func:`smallagents.tool_specs.openai_aliases`).
        """
        return {
            "type": "function",
            "function": {
                "name": name or self.name,
                "description": self.description,
                "parameters": json.loads(json.dumps(self.shown_parameters)),
            },
        }

    def validate(self, arguments: Any) -> dict[str, Any]:
        """The arguments, checked against the schema and converted for the function.

        Raises:
            ToolArgumentError: the arguments break the schema (or the function's types).
        """
        if not isinstance(arguments, Mapping):
            raise ToolArgumentError(
                self.name,
                f"expected an object, got {type(arguments).__name__}",
                fix="pass the arguments as a JSON object",
            )
        data = dict(arguments)
        try:
            self._schema.check(data)
        except RedFlag as flag:
            raise ToolArgumentError(
                self.name,
                flag.reason.removeprefix("schema: "),
                fix=f"match the parameters {describe_schema(self.parameters)}",
            ) from None
        if self._adapter is None:
            return data
        try:
            converted: dict[str, Any] = self._adapter.validate_python(data)
        except pydantic.ValidationError as error:
            first = error.errors()[0]
            where = "/".join(str(part) for part in first["loc"]) or "(root)"
            raise ToolArgumentError(
                self.name,
                f"at {where}: {first['msg']}",
                fix=f"match the parameters {describe_schema(self.parameters)}",
            ) from None
        return converted

    def run(self, arguments: Any, *, approve: ToolApproval | None = None) -> ToolResult:
        """Execute one call: validate, run with the timeout, and make the observation.

        Never raises for the call's own failures: invalid arguments, an exception in
        the tool and a timeout all come back as a :class:`ToolResult` whose
        observation says what happened. A timed-out function keeps running on its
        daemon thread (Python cannot stop a thread); its result is discarded.

        Raises:
            ToolServerError: the tool's MCP server is gone (not the call's fault:
                a job rejects the unit rather than show the model an error).

        Args:
            arguments: the call's arguments, as the model gave them.
            approve: asked, after validation, whether a tool marked
                ``requires_confirmation`` may run with these arguments. Without
                one such a tool never runs: its result is ``needs_confirmation``.
        """
        start = perf_counter()
        given = dict(arguments) if isinstance(arguments, Mapping) else {}
        try:
            checked = self.validate(arguments)
        except ToolArgumentError as error:
            return self._result(given, "invalid_arguments", f"error: {error.message}", start)
        if self.function is None:
            return self._result(
                given,
                "not_runnable",
                f"error: tool {self.name!r} has no implementation here; it can be called "
                "but not run",
                start,
            )
        if self.requires_confirmation and (approve is None or approve(self, checked) is not True):
            return self._result(
                given,
                "needs_confirmation",
                f"error: {self.name} needs confirmation and was not run (nobody approved it)",
                start,
            )
        outcome = _call_with_timeout(self.function, checked, self.timeout)
        if outcome is _TIMED_OUT:
            return self._result(
                given, "timeout", f"error: {self.name} timed out after {self.timeout:g} s", start
            )
        if isinstance(outcome, _Raised):
            error = outcome.error
            if isinstance(error, ToolServerError):
                raise error  # the server is gone, not the call wrong: the unit fails
            return self._result(given, "error", f"error: {type(error).__name__}: {error}", start)
        return self._result(given, "ok", format_output(outcome), start)

    def describe(self) -> str:
        """The tool in two compact lines for a prompt: name and description, then arguments."""
        head = f"{self.name}: {self.description}" if self.description else self.name
        if self.requires_confirmation:  # the Planner may prefer a tool that will run
            head += " (runs only when a person approves it)"
        return f"{head}\n  arguments: {describe_schema(self.parameters)}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the plain Python function (no validation, no timeout)."""
        if self.function is None:
            raise ToolDefinitionError(
                self.name,
                "made from a spec without a Python function, so it cannot be called",
                fix="pass function= to Tool.from_openai",
            )
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        kind = "function" if self.function is not None else "spec"
        if self.requires_confirmation:
            kind += ", requires confirmation"
        return f"<tool {self.name!r} ({kind})>"

    def _result(
        self, arguments: dict[str, Any], status: ToolStatus, text: str, start: float
    ) -> ToolResult:
        observation, truncated = truncate(text, self.max_output_chars)
        return ToolResult(
            name=self.name,
            arguments=arguments,
            status=status,
            observation=observation,
            seconds=perf_counter() - start,
            truncated=truncated,
        )


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    requires_confirmation: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    requires_confirmation: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a typed Python function a :class:`Tool`; bare (``@tool``) or with arguments.

    ::

        @smallagents.tool(timeout=5)
        def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
            \"\"\"Get the current weather in a city.

            Args:
                city: the city's name, e.g. Paris.
                unit: the temperature unit.
            \"\"\"

    Args:
        name: the tool's name (default: the function's).
        description: what it does (default: the docstring before its sections).
        timeout: seconds a call may run.
        max_output_chars: characters of output kept in an observation.
        requires_confirmation: run a call only when approved (see :meth:`Tool.run`).

    Raises:
        ToolDefinitionError: see :meth:`Tool.from_function`.
    """

    def decorate(fn: Callable[..., Any]) -> Tool:
        return Tool.from_function(
            fn,
            name=name,
            description=description,
            timeout=timeout,
            max_output_chars=max_output_chars,
            requires_confirmation=requires_confirmation,
        )

    return decorate(function) if function is not None else decorate


def allow_tools(names: Iterable[str]) -> ToolApproval:
    """An approval that lets the named tools run, whatever their arguments.

    What ``smallagents run ... --allow-tool NAME`` gives a job: an operator approves a
    tool for the whole batch by name, ahead of time, since nobody is there to
    approve each call.
    """
    allowed = frozenset(names)

    def approve(called: Tool, arguments: Mapping[str, Any]) -> bool:
        return called.name in allowed

    return approve


def as_tools(items: Iterable[Tool | Mapping[str, Any] | Callable[..., Any]]) -> list[Tool]:
    """Tools from tools, OpenAI function specs and typed functions, in order.

    Raises:
        ToolDefinitionError: two tools share a name, or an item is not a tool.
        SchemaError: a spec's parameters are invalid or cannot be a grammar.
    """
    if isinstance(items, Mapping | str) or not isinstance(items, Iterable):
        raise ToolDefinitionError(
            "?", f"expected a list of tools, got {type(items).__name__}", fix="pass a list"
        )
    tools: list[Tool] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Tool):
            made = item
        elif isinstance(item, Mapping):
            made = Tool.from_spec(item)
        elif callable(item):
            made = Tool.from_function(item)
        else:
            raise ToolDefinitionError(
                "?",
                f"{type(item).__name__} is not a tool",
                fix="pass Tool objects, OpenAI function specs or typed functions",
            )
        if made.name in seen:
            raise ToolDefinitionError(
                made.name, "given twice", fix="give each tool its own name, once"
            )
        seen.add(made.name)
        tools.append(made)
    return tools


def calls_schema(
    tools: Iterable[Tool | Mapping[str, Any] | Callable[..., Any]],
    *,
    max_calls: int = DEFAULT_MAX_CALLS,
    min_calls: int = 1,
) -> dict[str, Any]:
    """The JSON Schema a Caller's answer is constrained to, for these tools.

    ``{"calls": [{"name": ..., "arguments": ...}, ...]}`` with ``min_calls`` (0: "no
    tool fits" is an answer) to ``max_calls`` calls, each an ``anyOf`` over the tools of
    ``{"name": {"const": TOOL}, "arguments": TOOL's parameters}``, every object closed.
    Decoded with this grammar, a model can only name a tool it was given, and only with
    arguments that tool's schema accepts. A tool's ``$ref``\\s are rebased under
    ``$defs/tool_INDEX`` so that they still resolve inside the union (by index, not
    name: a name may hold ``/`` or ``~``, which a JSON pointer would misread).

    Raises:
        UsageError: no tools, ``max_calls`` below 1, or ``min_calls`` not in 0..max_calls.
        ToolDefinitionError: two tools share a name.
        SchemaError: the union cannot be compiled to a grammar (never loosened).
    """
    checked = as_tools(tools)
    if not checked:
        raise UsageError("A calls schema needs at least one tool; got none.", fix="pass a tool.")
    if max_calls < 1:
        raise UsageError(f"max_calls={max_calls} is below 1.", fix="pass max_calls=1 or more.")
    if not 0 <= min_calls <= max_calls:
        raise UsageError(
            f"min_calls={min_calls} is not in 0..{max_calls}.", fix="pass min_calls=0 or 1."
        )
    branches: list[dict[str, Any]] = []
    definitions: dict[str, Any] = {}
    for index, item in enumerate(checked):
        arguments: dict[str, Any] = item.parameters
        if _has_local_ref(arguments):
            # A $ref points from the document root; inside the union the tool's schema
            # is no longer the root, so it moves under $defs and its refs follow it.
            key = f"tool_{index}"
            definitions[key] = _rebased(arguments, f"#/$defs/{key}")
            arguments = {"$ref": f"#/$defs/{key}"}
        branches.append(
            {
                "type": "object",
                # "name" comes first so that the grammar fixes the tool before its arguments.
                "properties": {"name": {"const": item.name}, "arguments": arguments},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    schema: dict[str, Any] = {
        "title": "ToolCalls",
        "type": "object",
        "properties": {
            "calls": {
                "type": "array",
                "items": branches[0] if len(branches) == 1 else {"anyOf": branches},
                "minItems": min_calls,
                "maxItems": max_calls,
            }
        },
        "required": ["calls"],
        "additionalProperties": False,
    }
    if definitions:
        schema["$defs"] = definitions
    compile_schema(schema)  # fail here, loudly; the Caller's call then finds it cached
    return schema


def run_calls(
    calls: Iterable[Mapping[str, Any]],
    tools: Iterable[Tool | Mapping[str, Any]],
    *,
    approve: ToolApproval | None = None,
) -> list[ToolResult]:
    """Run a Caller's calls in order; a name no tool has gives an ``unknown_tool`` result.

    ``approve`` decides on calls of tools marked ``requires_confirmation`` (see
    :meth:`Tool.run`); without it they do not run. Inside a graph run, each call is
    counted on the run as ``tool_calls.STATUS`` (:data:`TOOL_CALLS`), so a job's
    report says how many calls ran, failed or were refused.
    """
    by_name = {item.name: item for item in as_tools(tools)}
    results: list[ToolResult] = []
    for call in calls:
        name = str(call.get("name", ""))
        arguments = call.get("arguments", {})
        found = by_name.get(name)
        if found is None:
            known = ", ".join(sorted(by_name)) or "none"
            results.append(
                ToolResult(
                    name=name,
                    arguments=dict(arguments) if isinstance(arguments, Mapping) else {},
                    status="unknown_tool",
                    observation=f"error: no tool named {name!r} (tools: {known})",
                )
            )
            continue
        results.append(found.run(arguments, approve=approve))
    _count_on_run(results)
    return results


def _count_on_run(results: Sequence[ToolResult]) -> None:
    # Counted here, where every graph's calls pass, rather than in each graph: the
    # job then reports refused calls of any graph that runs tools.
    from smallagents.graph import current_run  # graph imports langgraph: only when used

    run = current_run()
    if run is not None:
        for result in results:
            run.count(TOOL_CALLS + result.status)


def describe_tools(tools: Iterable[Tool | Mapping[str, Any] | Callable[..., Any]]) -> str:
    """Tools for a prompt: one :meth:`Tool.describe` block per tool, each under a dash."""
    return "\n".join(f"- {item.describe()}" for item in as_tools(tools))


# --- definitions ------------------------------------------------------------------------


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


def _function_parameters(
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
    arguments_type: Any = typing_extensions.TypedDict(  # type: ignore[operator]
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
        except (pydantic.PydanticSerializationError, TypeError, ValueError):
            continue
    return schema, adapter


def _checked_parameters(
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


def _has_local_ref(schema: dict[str, Any]) -> bool:
    return any(ref.startswith("#") for ref in _walk_refs(schema))


def _rebased(node: Any, base: str) -> Any:
    if isinstance(node, list):
        return [_rebased(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = base + value[1:]
        elif key in ("default", "const", "enum", "examples"):
            out[key] = value
        else:
            out[key] = _rebased(value, base)
    return out


# --- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raised:
    error: BaseException


_TIMED_OUT = object()


def _call_with_timeout(
    function: Callable[..., Any], arguments: Mapping[str, Any], timeout: float
) -> Any:
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(function(**arguments))
        except BaseException as error:  # a tool's SystemExit must become an observation too
            outcome.append(_Raised(error))

    # A daemon thread, not an executor: an executor's shutdown would wait for a tool
    # that never returns, and a daemon thread does not keep the process alive.
    worker = threading.Thread(target=target, name="smallagents-tool", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or not outcome:
        return _TIMED_OUT if worker.is_alive() else _Raised(RuntimeError("no result"))
    return outcome[0]


def format_output(value: Any) -> str:
    """A tool's return value as observation text: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(
            to_jsonable_python(value, fallback=str), ensure_ascii=False, separators=(",", ":")
        )
    except (TypeError, ValueError):
        return str(value)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters, marker included, saying how much was cut."""
    if len(text) <= limit:
        return text, False
    # Sized with the longest count the marker could show, so that text and marker fit.
    kept = limit - len(f"... [truncated {len(text)} more chars]")
    if kept < 1:
        return text[:limit], True
    return f"{text[:kept]}... [truncated {len(text) - kept} more chars]", True


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
        return _render(_resolve_pointer(root, ref), root, depth + 1)
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


def _resolve_pointer(root: Mapping[str, Any], ref: str) -> Any:
    node: Any = root
    for part in ref.removeprefix("#").split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return {}
        node = node[part]
    return node
