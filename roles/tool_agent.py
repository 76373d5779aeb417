"""Roles of the tool agent: a Planner decides, a Caller calls tools, a Summarizer answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field

import smallagents

# One call per Caller answer: the agent's loop makes the next call after seeing the
# result. Allowed three, Gemma 270M wrote three calls (repeats and wrong tools) for
# each of three single-call requests tried; a role may raise it, the answer is a list.
MAX_CALLS = 1

# Tools of the Caller's few-shot examples only: other domains than the benchmark's
# (benchmarks/data/function_calls.jsonl), so that no example gives an answer away.
_RECIPES = {
    "name": "find_recipe",
    "description": "Find a recipe for a dish.",
    "parameters": {
        "type": "object",
        "properties": {
            "dish": {"type": "string", "description": "the dish to cook"},
            "max_minutes": {"type": "integer", "description": "longest cooking time"},
        },
        "required": ["dish"],
    },
}
_FLIGHTS = {
    "name": "search_flights",
    "description": "Search flights between two cities on a day.",
    "parameters": {
        "type": "object",
        "properties": {
            "origin": {"type": "string", "description": "departure city"},
            "destination": {"type": "string", "description": "arrival city"},
            "date": {"type": "string", "description": "day of the flight, YYYY-MM-DD"},
            "cabin": {"type": "string", "enum": ["economy", "business"]},
        },
        "required": ["origin", "destination", "date"],
    },
}
_VOLUME = {
    "name": "set_volume",
    "description": "Set the speaker volume.",
    "parameters": {
        "type": "object",
        "properties": {"level": {"type": "integer", "minimum": 0, "maximum": 100}},
        "required": ["level"],
    },
}
_MUSIC = {
    "name": "play_music",
    "description": "Play a song.",
    "parameters": {
        "type": "object",
        "properties": {
            "song": {"type": "string", "description": "title of the song"},
            "artist": {"type": "string"},
        },
        "required": ["song"],
    },
}
_UNITS = ["m", "km", "ft", "mi"]
_LENGTH = {
    "name": "convert_length",
    "description": "Convert a length from one unit to another.",
    "parameters": {
        "type": "object",
        "properties": {
            "value": {"type": "number"},
            "from_unit": {"type": "string", "enum": _UNITS},
            "to_unit": {"type": "string", "enum": _UNITS},
        },
        "required": ["value", "from_unit", "to_unit"],
    },
}
EXAMPLE_TOOLS = [_RECIPES, _FLIGHTS, _VOLUME, _MUSIC, _LENGTH]


def results_text(history: str) -> str:
    """How the results so far read in a prompt ("none" before the first call)."""
    return history.strip() or "none"


def tool_names(tools: list[dict[str, Any]]) -> str:
    """One line per tool, its name and description: what the Planner needs to choose."""
    return "\n".join(f"- {t.name}: {t.description}" for t in smallagents.tools.as_tools(tools))


def with_system(messages: list[dict[str, str]], system: str | None) -> list[dict[str, str]]:
    """``messages`` with ``system`` first: a system turn of its own, or put before the one
    the request already has (a BFCL question may bring one)."""
    if not system:
        return messages
    if messages and messages[0]["role"] == "system":
        merged = f"{system}\n\n{messages[0]['content']}"
        return [{"role": "system", "content": merged}, *messages[1:]]
    return [{"role": "system", "content": system}, *messages]


class Plan(BaseModel):
    """The Planner's decision; the thought comes first so that the decision can follow it."""

    thought: str = Field(min_length=2, max_length=100)
    next: Literal["caller", "summarizer", "give_up"]


class FirstPlan(BaseModel):
    """The Planner's decision before any result: call a tool or give up.

    A summary of no results would be the small model's own guess at the answer,
    which is what the tools are there to replace.
    """

    thought: str = Field(min_length=2, max_length=100)
    next: Literal["caller", "give_up"]


class Answer(BaseModel):
    """The Summarizer's answer to the user."""

    answer: str = Field(min_length=1, max_length=300)


_WEATHER_RESULT = '1. get_weather({"city":"Rome"}) -> {"temp_c":21,"sky":"sunny"}'
_PLANNER_TOOLS = [
    {"name": "get_weather", "description": "Get the current weather in a city."},
    {"name": "find_recipe", "description": "Find a recipe for a dish."},
]


class Planner(smallagents.Role):
    """Decides the next step of the tool agent: call a tool, answer, or give up.

    ``give_up`` is the role saying it is unsure (``unsure="next"``): the request
    takes the escalation edge to the fallback model, when one is set. Before the
    first result its answer is constrained to ``FirstPlan``.
    """

    name = "planner"
    template = (
        "Tools:\n{tool_list}\n"
        "Request: {query}\n"
        "Results so far: {results}\n"
        'Choose the next step: "caller" to call a tool, "summarizer" when the results '
        'answer the request, "give_up" when no tool can help.\n'
        "Decision:"
    )
    schema = Plan
    inputs = {"query": str, "tools": list[dict[str, Any]], "history": str}  # noqa: RUF012
    state_fields = ("tool_list", "results")
    system = "You plan how to answer a request with tools. Answer with JSON only."
    max_tokens = 60
    unsure = "next"
    # The last example is the nearest to the request: a first step that calls a tool.
    examples = (
        (
            {
                "query": "Write a poem about the sea.",
                "tool_list": tool_names(_PLANNER_TOOLS),
                "results": "none",
            },
            Plan(thought="No tool can write a poem.", next="give_up"),
        ),
        (
            {
                "query": "What is the weather like in Rome?",
                "tool_list": tool_names(_PLANNER_TOOLS),
                "results": _WEATHER_RESULT,
            },
            Plan(thought="The result answers the request.", next="summarizer"),
        ),
        (
            {
                "query": "How do I make pancakes?",
                "tool_list": tool_names(_PLANNER_TOOLS),
                "results": "none",
            },
            Plan(thought="find_recipe can find a pancake recipe.", next="caller"),
        ),
        (
            {
                "query": "What is the weather like in Rome?",
                "tool_list": tool_names(_PLANNER_TOOLS),
                "results": "none",
            },
            Plan(thought="get_weather can answer this.", next="caller"),
        ),
    )

    def values(self, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        """Add the tool list and the results text to the template values."""
        return {
            **inputs,
            "tool_list": tool_names(inputs["tools"]),
            "results": results_text(inputs["history"]),
        }

    def output_schema_for(self, values: Mapping[str, Any]) -> Any:
        """Before any result, only "caller" or "give_up" (see ``FirstPlan``)."""
        return Plan if values["history"].strip() else FirstPlan


class Caller(smallagents.Role):
    """Writes the tool calls that answer a request, constrained to the request's tools.

    Its answer is decoded with ``smallagents.tools.calls_schema`` of the tools it is
    given (``output_schema_for``): it cannot name any other tool, nor give
    arguments that the tool's schema refuses, whatever the request says.
    """

    name = "caller"
    template = "Tools:\n{tool_list}\nResults so far: {results}\nRequest: {query}\nCalls:"
    schema = smallagents.tools.calls_schema(EXAMPLE_TOOLS, max_calls=MAX_CALLS)
    # A request is text, or chat messages (a BFCL question, system turn and all).
    inputs = {  # noqa: RUF012
        "query": str | list[dict[str, str]],
        "tools": list[dict[str, Any]],
        "history": str,
    }
    state_fields = ("tool_list", "results", "messages")
    system = (
        "You call tools for a user. Choose the tool that fits the request and fill in "
        "its arguments with the values the request gives; leave out optional arguments "
        "it does not mention. Answer with JSON only."
    )
    max_tokens = 200
    max_calls = MAX_CALLS
    # A model whose chat template shows tools (Qwen2.5) gets them through it, and may
    # answer with several calls or with none (see prompt_for); False: always this
    # role's own prompt.
    native_tools = True
    native_max_calls = 4
    # On the template path the model reads its own default system turn unless one is
    # given; this one says what BFCL-style grading (and a user) expects of a call.
    native_system: str | None = None
    # The model sees at most this many of a request's tools, those whose words the
    # request uses (smallagents.tools.most_relevant; None: all). On BFCL's 40
    # live_multiple dev cases (two to seven tools each) Qwen2.5-Coder-0.5B was right
    # in 14 shown every tool, 19 shown three (5 fixed, none broken), 19 shown two
    # (6 fixed, 1 broken): three hides less from a request that needs several tools.
    # README, "Fewer tools".
    shown_tools: int | None = 3
    # One greedy answer by default; with --votes k (k >= 2), at most 6 draws. With the
    # default 4k = 12, benchmarks/function_calling.py --quick drew 7.6 per request on
    # both embedded models and still left 5 of 14 requests undecided.
    voting = smallagents.VotingPolicy(k=1, max_samples=6)
    examples = (
        (
            {
                "query": "Find me a vegetable lasagna recipe ready in 45 minutes.",
                "tool_list": smallagents.tools.describe_tools([_RECIPES, _VOLUME]),
                "results": "none",
            },
            {
                "calls": [
                    {
                        "name": "find_recipe",
                        "arguments": {"dish": "vegetable lasagna", "max_minutes": 45},
                    }
                ]
            },
        ),
        (
            {
                "query": "How many feet are in 3.5 miles?",
                "tool_list": smallagents.tools.describe_tools([_LENGTH]),
                "results": "none",
            },
            {
                "calls": [
                    {
                        "name": "convert_length",
                        "arguments": {"value": 3.5, "from_unit": "mi", "to_unit": "ft"},
                    }
                ]
            },
        ),
        (
            {
                "query": "Turn the volume down to 20 please",
                "tool_list": smallagents.tools.describe_tools([_MUSIC, _VOLUME]),
                "results": "none",
            },
            {"calls": [{"name": "set_volume", "arguments": {"level": 20}}]},
        ),
        (
            {
                "query": "I need a business class flight from Boston to Denver on 2025-03-14.",
                "tool_list": smallagents.tools.describe_tools([_FLIGHTS]),
                "results": "none",
            },
            {
                "calls": [
                    {
                        "name": "search_flights",
                        "arguments": {
                            "origin": "Boston",
                            "destination": "Denver",
                            "date": "2025-03-14",
                            "cabin": "business",
                        },
                    }
                ]
            },
        ),
        (
            {
                "query": "Play Yellow Submarine",
                "tool_list": smallagents.tools.describe_tools([_FLIGHTS, _MUSIC]),
                "results": "none",
            },
            {"calls": [{"name": "play_music", "arguments": {"song": "Yellow Submarine"}}]},
        ),
    )

    def values(self, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        """Add the tools (name, description, arguments), at most ``shown_tools`` of
        them, and the results text."""
        messages = smallagents.tools.query_messages(inputs["query"])
        tools = inputs["tools"]
        if self.shown_tools is not None:
            asked = "\n".join(m["content"] for m in messages if m["role"] == "user")
            tools = smallagents.tools.most_relevant(asked, tools, self.shown_tools)
        return {
            **inputs,
            "tools": tools,
            "query": smallagents.tools.query_text(inputs["query"]),
            "messages": messages,
            "tool_list": smallagents.tools.describe_tools(tools),
            "results": results_text(inputs["history"]),
        }

    def output_schema_for(self, values: Mapping[str, Any]) -> Any:
        """The calls schema of this request's tools (see the class docstring)."""
        return smallagents.tools.calls_schema(values["tools"], max_calls=self.max_calls)

    def prompt_for(
        self, model: smallagents.Model, spec: smallagents.RoleSpec, values: Mapping[str, Any]
    ) -> tuple[smallagents.Prompt, smallagents.CompiledSchema]:
        """The request in the format ``model`` reads best.

        A model whose chat template shows tools gets the request's messages with
        the tools handed to its template, no few-shot examples, and an answer
        constrained to the calls it writes by habit (``smallagents.tools.native_answer``:
        up to ``native_max_calls``, or a sentence for none). An endpoint gets this
        role's prompt and the tools in its request, under names its API accepts
        (``smallagents.tools.endpoint_answer`` maps them back). Any other model gets
        this role's few-shot prompt.
        """
        tools = smallagents.tools.as_tools(values["tools"])
        if self.native_tools and smallagents.tools.renders_tools(model):
            messages = with_system(list(values["messages"]), self.native_system)
            if values["history"].strip():
                last = messages[-1]
                messages[-1] = {
                    "role": last["role"],
                    "content": f"{last['content']}\n\nResults so far:\n{values['history']}",
                }
            answer = smallagents.tools.native_answer(tools, max_calls=self.native_max_calls)
            return smallagents.tools.ToolPrompt(messages, [t.to_openai() for t in tools]), answer
        if getattr(model, "sends_tools", False):
            answer, aliased = smallagents.tools.endpoint_answer(tools, max_calls=self.max_calls)
            specs = [t.to_openai() for t in aliased]
            shown = self.values({**values, "tools": specs})
            prompt, _ = super().prompt_for(model, spec, shown)
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
            return smallagents.tools.ToolPrompt(messages, specs), answer
        return super().prompt_for(model, spec, values)


@smallagents.role(
    name="summarizer",
    system="You answer a user's request from the results of tool calls. Answer with JSON only.",
    max_tokens=120,
    examples=[
        (
            {"query": "What is the weather like in Rome?", "results": _WEATHER_RESULT},
            Answer(answer="It is sunny in Rome, 21 °C."),
        ),
        (
            {
                "query": "Find me a quick carbonara recipe.",
                "results": '1. find_recipe({"dish":"carbonara","max_minutes":20}) -> '
                '"Carbonara: spaghetti, eggs, pecorino, guanciale; 20 minutes."',
            },
            Answer(answer="Make carbonara with spaghetti, eggs, pecorino and guanciale: 20 min."),
        ),
    ],
)
def summarizer(query: str, results: str) -> Answer:
    """Request: {query}
    Results of the tool calls: {results}
    Answer the request in one or two sentences, using only the results.
    Answer:"""
