"""The Caller is shown the tools its request's words pick (``shown_tools``, default 3).

The ranking is a plain function, tested case by case; the Caller's use of it is
checked on what a real model is shown and answers.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

import smallagents
from smallagents import ModelPool
from smallagents.run import RoleSettings
from smallagents.tools import most_relevant, relevance


def spec(name: str, description: str, *arguments: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": {argument: {"type": "string"} for argument in arguments},
            "required": list(arguments),
        },
    }


ALARMS = spec("Alarm_1_GetAlarms", "List the alarms set on the user's phone.", "user_id")
MUSIC = spec("Music_3_LookupMusic", "Find songs by artist, album or genre.", "artist", "genre")
BUS = spec("Buses_3_BuyBusTicket", "Buy a bus ticket between two cities.", "from_city", "to_city")
WEATHER = spec("Weather_1_GetWeather", "Get the weather forecast for a city.", "city", "date")
TOOLS = [ALARMS, MUSIC, BUS, WEATHER]
SONGS = "Can you find me some songs by Taylor Swift? I like her pop albums."


def names(tools: list[Any]) -> list[str]:
    return [tool["name"] for tool in tools]


def test_the_tools_the_request_speaks_of_score_highest() -> None:
    scores = relevance(SONGS, TOOLS)
    assert max(range(len(TOOLS)), key=scores.__getitem__) == TOOLS.index(MUSIC)
    assert scores[TOOLS.index(ALARMS)] == 0  # no word in common
    # CamelCase and snake_case names are words too; "buses" meets "bus" by its prefix.
    bus_scores = relevance("I need a bus ticket from Fresno to Los Angeles", TOOLS)
    assert max(range(len(TOOLS)), key=bus_scores.__getitem__) == TOOLS.index(BUS)


def test_most_relevant_keeps_the_original_order() -> None:
    kept = most_relevant("What is the weather forecast in Oslo? Play some jazz songs.", TOOLS, 2)
    assert names(kept) == ["Music_3_LookupMusic", "Weather_1_GetWeather"]  # as given


def test_few_tools_are_all_kept_and_ties_keep_the_earlier() -> None:
    assert most_relevant("anything", TOOLS[:2], 2) == TOOLS[:2]
    assert names(most_relevant("nothing in common here", TOOLS, 2)) == names(TOOLS[:2])


def test_openai_style_tools_are_ranked_by_their_function() -> None:
    wrapped = [{"type": "function", "function": tool} for tool in TOOLS]
    assert [t["function"]["name"] for t in most_relevant(SONGS, wrapped, 1)] == [MUSIC["name"]]


def test_the_caller_shows_and_allows_only_the_chosen_tools(agent: ModuleType) -> None:
    caller = agent._ROLES["caller"]
    assert caller.shown_tools == 3
    values = caller.values({"query": SONGS, "tools": TOOLS, "history": ""})
    # Music, then the two earliest of the tools the request shares no word with.
    assert values["tools"] == [ALARMS, MUSIC, BUS]
    assert "Weather_1_GetWeather" not in values["tool_list"]
    schema = str(caller.output_schema_for(values))
    assert "Music_3_LookupMusic" in schema and "Weather_1_GetWeather" not in schema

    class EveryTool(type(caller)):  # type: ignore[misc]
        shown_tools = None

    every = EveryTool().values({"query": SONGS, "tools": TOOLS, "history": ""})
    assert every["tools"] == TOOLS and "Weather_1_GetWeather" in every["tool_list"]


def test_a_system_turn_does_not_choose_the_tools(agent: ModuleType) -> None:
    # BFCL requests bring system turns about the assistant, not about the task.
    caller = agent._ROLES["caller"]
    query = [
        {"role": "system", "content": "You manage alarms, buses and the weather for the user."},
        {"role": "user", "content": SONGS},
    ]
    values = caller.values({"query": query, "tools": TOOLS, "history": ""})
    assert MUSIC in values["tools"]


@pytest.mark.parametrize("shown", [3, None])
def test_the_real_caller_is_shown_the_chosen_tools_and_calls_one(
    agent: ModuleType, pool: ModelPool, shown: int | None
) -> None:
    qwen = pool.load("qwen-0.5b")
    base = type(agent._ROLES["caller"])

    class Shown(base):  # type: ignore[misc,valid-type]
        shown_tools = shown

    caller = Shown()
    inputs = {"query": SONGS, "tools": TOOLS, "history": ""}
    prompt, _ = caller.prompt_for(qwen, caller.spec, caller.values(inputs))
    rendered = qwen.render(prompt)
    assert ("Weather_1_GetWeather" in rendered) is (shown is None)
    assert "Music_3_LookupMusic" in rendered
    run = smallagents.Run(pool=pool, settings={"caller": RoleSettings(model="qwen-0.5b")})
    record = caller.invoke(inputs, run=run)
    calls = record.value["calls"]
    assert calls and {call["name"] for call in calls} <= {
        t["name"] for t in caller.values(inputs)["tools"]
    }
