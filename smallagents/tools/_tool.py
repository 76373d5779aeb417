"""The ``Tool`` type and the ``@tool`` decorator: a function a model may call, checked when made."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any, cast, overload

import pydantic

from smallagents.errors import ToolArgumentError, ToolDefinitionError, ToolServerError
from smallagents.run import ToolApproval
from smallagents.structured.schema import RedFlag
from smallagents.tools._parameters import checked_parameters
from smallagents.tools._render import describe_schema
from smallagents.tools._result import ToolResult, ToolStatus, format_output, truncate
from smallagents.tools._signature import function_parameters, parse_docstring
from smallagents.tools._specs import ToolSpec, check_tool_name, read_spec
from smallagents.tools._timeouts import TIMED_OUT, Raised, call_with_timeout

DEFAULT_TIMEOUT = 10.0
"""Seconds a tool may run before its observation says it timed out."""

# Observations go back into a small model's prompt, whose context is 4096 tokens:
# one chatty tool must not crowd out the request and the other results.
DEFAULT_MAX_OUTPUT_CHARS = 1000
"""Characters of a tool's output kept in its observation."""


class Tool:
    """A function a model may call: a name, a description and a JSON Schema of its arguments.

    Make one with ``tool`` (a Python function), ``Tool.from_spec`` (a function
    spec: OpenAI, Anthropic, MCP or BFCL) or the constructor. Everything is checked when
    the tool is made: the name, the parameters as a JSON Schema, and that the grammar
    engine can express them (a keyword it cannot, such as ``uniqueItems``, is a
    ``SchemaError`` now, never a looser grammar later).

    ``run`` is how a model's call is executed: the arguments are validated
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
        """Check the name, the limits and the parameters' schema.

        Args:
            name: printable characters without whitespace, at most 256 (``math.gcd``
                is fine; see ``openai_aliases`` for endpoints' stricter rule).
            description: what the tool does, in a sentence the model can use.
            parameters: the JSON Schema of the arguments, with ``"type": "object"``
                (default: no arguments).
            function: called with the validated arguments as keyword arguments.
            timeout: seconds a call may run before its observation says it timed out.
            max_output_chars: characters of output kept in an observation.
            requires_confirmation: run a call only when an approval says so (see
                ``run``); a job runs it only with ``--allow-tool NAME``.

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
        self.parameters, self._schema, self.shown_parameters = checked_parameters(name, parameters)
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
        """A tool from a typed Python function (what ``tool`` does).

        The parameters' JSON Schema comes from their type hints (through pydantic),
        each parameter's description from the docstring's Google-style ``Args:``
        section, and the tool's description from the docstring's text before its
        first section. A parameter with a default is optional.

        Raises:
            ToolDefinitionError: a parameter without a type hint, ``*args`` or
                ``**kwargs``, a positional-only parameter, a type without a JSON
                Schema, no description, or an ``Args:`` entry that names no parameter.
        """
        tool_name: str = name or cast(str, getattr(function, "__name__", ""))
        summary, argument_docs = parse_docstring(inspect.getdoc(function) or "")
        text = description if description is not None else summary
        if not text or not text.strip():
            raise ToolDefinitionError(
                tool_name,
                "no description",
                fix="write a docstring that says what the tool does, or pass description=",
            )
        parameters, adapter = function_parameters(tool_name, function, argument_docs)
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
        ``any``, mapped to JSON Schema; ``notes`` says what was mapped). Without
        ``function`` the tool can be offered to a Caller (its calls are produced,
        validated and returned) but not run: ``run`` answers ``not_runnable``.

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
        """A tool from an OpenAI function spec (any dialect: see ``from_spec``)."""
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
        with ``from_spec``, it is the same tool.

        Args:
            name: the name to give it instead of its own (an endpoint's alias, see
                ``openai_aliases``).
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
        the tool and a timeout all come back as a ``ToolResult`` whose
        observation says what happened. A timed-out function keeps running on its
        daemon thread (Python cannot stop a thread); its result is discarded.

        Args:
            arguments: the call's arguments, as the model gave them.
            approve: asked, after validation, whether a tool marked
                ``requires_confirmation`` may run with these arguments. Without
                one such a tool never runs: its result is ``needs_confirmation``.

        Raises:
            ToolServerError: the tool's MCP server is gone (not the call's fault:
                a job rejects the unit rather than show the model an error).
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
        outcome = call_with_timeout(self.function, checked, self.timeout)
        if outcome is TIMED_OUT:
            return self._result(
                given, "timeout", f"error: {self.name} timed out after {self.timeout:g} s", start
            )
        if isinstance(outcome, Raised):
            raised = outcome.error
            if isinstance(raised, ToolServerError):
                raise raised  # the server is gone, not the call wrong: the unit fails
            return self._result(given, "error", f"error: {type(raised).__name__}: {raised}", start)
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
    """Make a typed Python function a ``Tool``; bare (``@tool``) or with arguments.

    Example:
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
        requires_confirmation: run a call only when approved (see ``Tool.run``).

    Raises:
        ToolDefinitionError: see ``Tool.from_function``.
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
