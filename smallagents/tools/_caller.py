"""The caller: tool calls for a request, in the prompt format each model reads best.

Measured (FACTS.md, README "Tools"): a model whose chat template shows tools
(Qwen2.5's ChatML) calls them better when handed its tools through that template
than through our own prompt. So a Caller gives such a model a ``ToolPrompt``
(its messages plus the tools, which ``LlamaModel.render`` passes to the template)
and constrains only the call the model writes (``native_answer``): the JSON
object ``{"name": ..., "arguments": ...}`` it writes by habit (in a ```` ```json ````
fence or not, several on separate lines for several calls), or a short sentence
instead, which means no tool fits. Other models get the role's own few-shot
prompt; an OpenAI-compatible endpoint gets it too, with the tools in the request
under names its API accepts (``endpoint_answer`` maps them back).
Whatever the format, the answer parses to ``{"calls": [{"name", "arguments"}, ...]}``.
"""

from __future__ import annotations

import hashlib
import json
import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smallagents.errors import SchemaError
from smallagents.models.base import Message, Model
from smallagents.structured.confidence import field_confidence
from smallagents.structured.schema import CompiledSchema, RedFlag, compile_schema, one_line
from smallagents.tools._calls import as_tools, calls_schema
from smallagents.tools._mcp_job import job_tools
from smallagents.tools._specs import bfcl_messages, openai_aliases
from smallagents.tools._tool import Tool

MAX_NO_CALL_CHARS = 160
"""Characters of the sentence a model may write instead of a call ("no tool fits")."""


class ToolPrompt(list[Message]):
    """Chat messages with the tools they are about (OpenAI function specs).

    A model that renders tools through its chat template (``LlamaModel.render``)
    or sends them with the request (``OpenAIModel``) reads ``tools``; any other
    model sees the messages only.
    """

    def __init__(self, messages: Sequence[Message], tools: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(messages)
        self.tools = [dict(spec) for spec in tools]


@dataclass(frozen=True)
class CallsAnswer(CompiledSchema):
    """A calls schema whose answer is written in a model's own format.

    ``native``: the grammar is the model's habit (see the module docstring) and
    ``parse`` reads it; otherwise the answer is the ``{"calls": [...]}`` JSON of
    the schema. ``names`` maps the names the model writes (endpoint aliases) back
    to the tools' own. Either way the parsed value is ``{"calls": [...]}`` with the
    tools' own names, validated against ``calls_schema``.
    """

    native: bool = False
    names: Mapping[str, str] = field(default_factory=dict)

    def parse(self, text: str) -> Any:
        """The calls in ``text``, with the tools' own names; ``RedFlag`` if invalid."""
        if not self.native:
            value = super().parse(text)
            for call in value.get("calls", []):
                call["name"] = self.names.get(call["name"], call["name"])
            return value
        calls = _native_calls(text)
        value = {"calls": calls}
        self.check(value)
        return value

    def field_confidence(
        self, text: str, spans: Sequence[tuple[int, int]], logprobs: Sequence[float]
    ) -> dict[str, float]:
        """Per-field confidence keyed like the parsed value (``calls.0.name``, ...).

        A native answer is one or more JSON objects, perhaps fenced, or a sentence
        for no call: each object is scored on its own characters; a sentence gets
        the probability of its first token, the one that chose not to call.
        """
        if not self.native:
            return field_confidence(text, spans, logprobs, self.json_schema)
        found = _native_spans(text)
        if not found:
            return {"calls": math.exp(logprobs[0])} if logprobs else {}
        items = dict(self.json_schema["properties"]["calls"]["items"])
        if "$defs" in self.json_schema:
            items["$defs"] = self.json_schema["$defs"]
        confidence: dict[str, float] = {}
        for index, (start, end) in enumerate(found):
            inside = [
                ((a - start, b - start), lp)
                for (a, b), lp in zip(spans, logprobs, strict=True)
                if a < end and b > start
            ]
            scored = field_confidence(
                text[start:end], [span for span, _ in inside], [lp for _, lp in inside], items
            )
            confidence.update({f"calls.{index}.{path}": value for path, value in scored.items()})
        return confidence


def _native_spans(text: str) -> list[tuple[int, int]]:
    """Where each call's JSON object is in a native answer (none for a sentence)."""
    start = len(text) - len(text.lstrip())
    if text.startswith("```json", start):
        start += len("```json")
    decoder = json.JSONDecoder()
    found: list[tuple[int, int]] = []
    while True:
        while start < len(text) and text[start].isspace():
            start += 1
        if start >= len(text) or text[start] != "{":
            return found
        try:
            _, end = decoder.raw_decode(text, start)
        except ValueError:
            return found
        found.append((start, end))
        start = end


def _native_calls(text: str) -> list[Any]:
    body = text.strip()
    if body.startswith("```"):
        body = body.removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    if not body.startswith("{"):
        return []  # a sentence instead of a call: no tool fits
    decoder = json.JSONDecoder()
    calls: list[Any] = []
    position = 0
    while position < len(body):
        try:
            call, position = decoder.raw_decode(body, position)
        except ValueError as error:
            raise RedFlag(f"invalid JSON: {error}") from None
        calls.append(call)
        while position < len(body) and body[position].isspace():
            position += 1
    return calls


_answers: dict[tuple[str, int, bool], CallsAnswer] = {}


def native_answer(tools: Sequence[Tool], *, max_calls: int) -> CallsAnswer:
    """The grammar of a call as a tool-template model writes it, and its parse.

    One to ``max_calls`` compact JSON objects ``{"name": TOOL, "arguments": {...}}``
    (each an ``anyOf`` over the tools, as in ``calls_schema``) on
    separate lines, optionally in a ```` ```json ```` fence; or a sentence of at most
    ``MAX_NO_CALL_CHARS`` characters that does not start with ``{`` or a
    backtick, read as no call.

    Raises:
        SchemaError: a tool's parameters cannot be a grammar.
    """
    import llguidance

    base = compile_schema(calls_schema(tools, max_calls=max_calls, min_calls=0))
    key = (base.fingerprint, max_calls, True)
    cached = _answers.get(key)
    if cached is not None:
        return cached
    items = base.json_schema["properties"]["calls"]["items"]
    call = {
        **items,
        "x-guidance": {
            "whitespace_flexible": False,
            "item_separator": ", ",
            "key_separator": ": ",
            "lenient": False,
        },
    }
    if "$defs" in base.json_schema:
        call["$defs"] = base.json_schema["$defs"]
    repeat = " ".join(['("\\n" call)?'] * (max_calls - 1))
    lark = (
        f"start: calls | fenced | sentence\n"
        f'fenced: "```json\\n" calls "\\n```"\n'
        f"calls: call {repeat}\n"
        f"call: %json {json.dumps(call)}\n"
        f"sentence: /[^`{{\\s][^\\n]{{0,{MAX_NO_CALL_CHARS - 1}}}/\n"
    )
    grammar = str(llguidance.LLMatcher.grammar_from_lark(lark))
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    if is_error:
        raise SchemaError(
            f"The tools' calls cannot be a grammar: {one_line(messages[0])}",
            fix="simplify the tools' parameters.",
        )
    answer = CallsAnswer(
        name="NativeToolCalls",
        json_schema=base.json_schema,
        grammar=grammar,
        fingerprint=hashlib.sha256(grammar.encode()).hexdigest()[:16],
        _validator=base._validator,
        native=True,
    )
    _answers[key] = answer
    return answer


def endpoint_answer(tools: Sequence[Tool], *, max_calls: int) -> tuple[CallsAnswer, list[Tool]]:
    """The calls schema over endpoint aliases of the tools' names, mapped back on parse.

    Returns:
        The answer schema, and the tools under their aliases (for the request).
    """
    aliases = openai_aliases([item.name for item in tools])
    aliased = [
        item
        if aliases[item.name] == item.name
        else Tool.from_spec(item.to_openai(name=aliases[item.name]))
        for item in tools
    ]
    base = compile_schema(calls_schema(aliased, max_calls=max_calls))
    answer = CallsAnswer(
        name=base.name,
        json_schema=base.json_schema,
        grammar=base.grammar,
        fingerprint=base.fingerprint,
        _validator=base._validator,
        names={alias: name for name, alias in aliases.items()},
    )
    return answer, aliased


_renders: weakref.WeakKeyDictionary[Model, bool] = weakref.WeakKeyDictionary()
_PROBE: dict[str, Any] = {
    "name": "probe_tool_7f3a",
    "description": "",
    "parameters": {"type": "object"},
}


def renders_tools(model: Model) -> bool:
    """Whether ``model`` shows tools to itself through its own chat template.

    Found by rendering a probe tool (once per model): a template that ignores
    ``tools`` (SmolLM2's) and a model without a template (Gemma 270M base) do not.
    """
    known = _renders.get(model)
    if known is None:
        render = getattr(model, "render", None)
        known = False
        if callable(render) and getattr(model, "has_chat_template", False):
            probe = ToolPrompt(
                [{"role": "user", "content": "hi"}], [{"type": "function", "function": _PROBE}]
            )
            try:
                known = _PROBE["name"] in str(render(probe))
            except Exception:  # a template that raises on tools has no tool support
                known = False
        _renders[model] = known
    return known


def query_text(query: str | Sequence[Mapping[str, str]]) -> str:
    """A request as one text: a string as it is; chat messages as their lines."""
    if isinstance(query, str):
        return query
    if len(query) == 1:
        return str(query[0]["content"])
    return "\n".join(f"{message['role']}: {message['content']}" for message in query)


def query_messages(query: str | Sequence[Mapping[str, str]]) -> list[Message]:
    """A request as chat messages: a string is one user message."""
    if isinstance(query, str):
        return [{"role": "user", "content": query}]
    return [{"role": str(m["role"]), "content": str(m["content"])} for m in query]


def calls_of(value: Any) -> list[dict[str, Any]]:
    """The calls of a Caller's answer (``{"calls": [...]}``, or a pydantic object of it)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    calls = value.get("calls", []) if isinstance(value, Mapping) else []
    return [dict(call) for call in calls if isinstance(call, Mapping)]


def caller_inputs(data: Mapping[str, Any]) -> tuple[Any, list[Tool]]:
    """A record's request and tools: ``{"query", "tools"}``, or BFCL's ``{"question", "function"}``.

    The job's MCP servers' tools (``smallagents.tools.job_tools``) come after the
    record's own (a record may then leave ``tools`` out).

    Raises:
        ToolServerError: an MCP server of the job did not start.
        ValueError: neither form, a BFCL question the caller cannot answer, or no tools.
        UsageError: a tool spec that cannot be read.
    """
    served = job_tools()  # the job's MCP servers' tools, if it has any
    if "question" in data and "function" in data and "query" not in data:
        query: Any = bfcl_messages(data["question"])
        specs = data["function"]
    elif "query" in data and ("tools" in data or served):
        query, specs = data["query"], data.get("tools", [])
    else:
        keys = ", ".join(sorted(map(str, data))[:8]) or "none"
        raise ValueError(
            f'a record needs "query" and "tools" (or BFCL\'s "question" and "function"); '
            f"it has {keys}"
        )
    tools = as_tools(specs)
    names = {item.name for item in tools}
    tools += [item for item in served if item.name not in names]
    if not tools:
        raise ValueError("the record offers no tools, so there is nothing to call")
    return query, tools
