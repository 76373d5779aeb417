"""The graph runtime: builder, branches, fan-out, streaming, checkpoints, retries, CLI.

Logic runs on `ScriptedModel` (answers chosen from the
prompt, so parallel nodes get the right answer whatever their order); the built-in
``gra`` graph, on ScriptedModel and on the real embedded models, is tested in
``test_gra.py``.
"""

from __future__ import annotations

import json
import operator
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.config import get_stream_writer
from langgraph.errors import GraphRecursionError
from pydantic import BaseModel
from typer.testing import CliRunner

import smallagents
from smallagents import END, START, Graph, ModelPool, Run
from smallagents.cli import app as cli_app
from smallagents.errors import (
    ContentError,
    EndpointError,
    GraphDefinitionError,
    GraphInputError,
    RecursionLimitError,
)
from smallagents.graph import (
    DEFAULT_RETRY,
    CustomEvent,
    Escalation,
    GraphFinished,
    NodeFinished,
    RetryPolicy,
    RoleFinished,
    Send,
    is_transient,
)
from smallagents.models.base import Prompt
from smallagents.models.pool import thread_pool
from smallagents.registry import builtin_graphs, find_graph, load_graphs
from smallagents.testing import ScriptedModel

FAST_RETRY = RetryPolicy(initial_interval=0.01, max_attempts=3, jitter=False, retry_on=is_transient)


class Word(BaseModel):
    word: str


class Judgement(BaseModel):
    ok: bool


class Square(BaseModel):
    value: int


@smallagents.role(model="fake")
def echo(topic: str) -> Word:
    """Say one word about {topic}."""


@smallagents.role(model="fake")
def judge(text: str) -> Judgement:
    """Is this fine: {text}?"""


@smallagents.role(model="fake")
def square(n: int) -> Square:
    """Square of {n}."""


@smallagents.role(model="fake", voting=2)
def voter(topic: str) -> Word:
    """Vote on one word about {topic}."""


@smallagents.role(model="fake", fallback="big")
def climber(topic: str) -> Word:
    """Hard word about {topic}."""


def last_message(prompt: Prompt) -> str:
    return prompt if isinstance(prompt, str) else prompt[-1]["content"]


def scripted_run(answer: Any, **others: ScriptedModel) -> tuple[Run, ScriptedModel]:
    """A run whose model ``fake`` answers with ``answer(last_message) -> dict``."""
    fake = ScriptedModel(
        [lambda prompt, seed: json.dumps(answer(last_message(prompt)))], repeat_last=True
    )
    pool = ModelPool()
    pool.register("fake", fake)
    for name, model in others.items():
        pool.register(name, model)
    return Run(pool=pool), fake


class TopicState(TypedDict, total=False):
    topic: str
    word: dict[str, str]  # a Word answer, as plain JSON
    shout: str


class TopicInput(TypedDict):
    topic: str


# --- builder --------------------------------------------------------------------------


def test_role_and_step_nodes_run_in_order_and_fill_the_state() -> None:
    g = (
        Graph("wired", state=TopicState, input=TopicInput)
        .role("say", echo, output="word")  # inputs default to state keys of the same name
        .step("loud", lambda s: {"shout": s["word"]["word"].upper() + "!"})
        .edge(START, "say")
        .edge("say", "loud")
        .edge("loud", END)
    )
    run, fake = scripted_run(lambda text: {"word": "basil" if "herbs" in text else "?"})
    out = g.compile().invoke({"topic": "herbs"}, run=run)
    assert out == {"topic": "herbs", "word": {"word": "basil"}, "shout": "BASIL!"}
    assert g.nodes == ["say", "loud"]
    assert list(g.roles) == ["say"]
    assert [r.role for r in run.records] == ["echo"]  # the record went to the run's ledger
    assert last_message(fake.calls[0].prompt) == "Say one word about herbs."


def test_branch_goes_where_the_state_says() -> None:
    class State(TypedDict, total=False):
        text: str
        verdict: dict[str, Any]
        cheer: str

    g = (
        Graph("branchy", state=State)
        .role("check", judge, inputs=lambda s: {"text": s["text"]}, output="verdict")
        .step("celebrate", lambda s: {"cheer": "hooray"})
        .edge(START, "check")
        .branch(
            "check", lambda s: "celebrate" if s["verdict"]["ok"] else END, to=["celebrate", END]
        )
        .edge("celebrate", END)
    )
    app = g.compile()
    run, _ = scripted_run(lambda text: {"ok": "good" in text})
    assert app.invoke({"text": "good"}, run=run)["cheer"] == "hooray"
    rejected = app.invoke({"text": "bad"}, run=run)
    assert rejected["verdict"] == {"ok": False} and "cheer" not in rejected


def test_fan_out_runs_the_target_once_per_payload() -> None:
    class State(TypedDict, total=False):
        squares: Annotated[list[int], operator.add]

    g = (
        Graph("fan", state=State)
        .step("start", lambda s: {})
        .role("square", square, output=lambda answer, _: {"squares": [answer["value"]]})
        .edge(START, "start")
        # payloads are mappings, or Sends to the same target
        .fan_out("start", "square", lambda s: [Send("square", {"n": 2}), {"n": 3}, {"n": 4}])
        .edge("square", END)
    )

    def answer(text: str) -> dict[str, int]:
        n = int(re.search(r"-?\d+", text).group())  # type: ignore[union-attr]
        return {"value": n * n}

    run, fake = scripted_run(answer)
    events = list(g.compile().stream({}, run=run))
    finished = events[-1]
    assert isinstance(finished, GraphFinished)
    assert sorted(finished.output["squares"]) == [4, 9, 16]
    assert len(fake.calls) == 3 and len(run.records) == 3
    assert [e.node for e in events if isinstance(e, NodeFinished)].count("square") == 3

    stray = Graph("stray", state=State).step("start", lambda s: {}).step("other", lambda s: {})
    stray.edge(START, "start").fan_out("start", "square_not", lambda s: [Send("other", {})])
    with pytest.raises(GraphDefinitionError, match="sent to other"):
        stray.step("square_not", lambda s: {}).compile().invoke({})


def test_mistakes_are_caught_where_the_graph_is_built() -> None:
    g = Graph("bad", state=TopicState).role("say", echo, output="word")
    with pytest.raises(GraphDefinitionError, match="'nope', which is not a key"):
        g.role("other", echo, output="nope")
    with pytest.raises(GraphDefinitionError, match="added twice"):
        g.step("say", lambda s: {})
    with pytest.raises(GraphDefinitionError, match="not a role"):
        g.role("fn", lambda topic: topic, output="word")  # type: ignore[arg-type]
    with pytest.raises(GraphDefinitionError, match="unknown node"):
        g.edge(START, "say").edge("say", "ghost").compile()

    class NoTopic(TypedDict, total=False):
        word: str

    lacking = Graph("lacking", state=NoTopic).role("say", echo, output="word").edge(START, "say")
    with pytest.raises(GraphDefinitionError, match="lacks topic") as caught:
        lacking.compile()
    assert caught.value.exit_code == 2


def test_wrong_inputs_and_missing_thread_id_are_one_clear_error(tmp_path: Path) -> None:
    g = Graph("inputs", state=TopicState, input=TopicInput).step("s", lambda s: {})
    g.edge(START, "s")
    with pytest.raises(GraphInputError, match="missing topic; unexpected colour"):
        g.compile().invoke({"colour": "red"})
    with g.compile(checkpoint=tmp_path / "c.sqlite") as app, pytest.raises(GraphInputError):
        app.invoke({"topic": "x"})  # a checkpoint needs a thread_id


@smallagents.role(model="calling-thread-fake")
def local_echo(topic: str) -> Word:
    """Say one word about {topic}."""


def test_a_run_without_a_pool_uses_the_calling_threads_pool_in_every_node() -> None:
    class State(TypedDict, total=False):
        words: Annotated[list[str], operator.add]

    # Only the calling thread's pool knows this model; the fan-out runs on LangGraph's
    # worker threads, which would fail to load it from pools of their own.
    thread_pool().register("calling-thread-fake", ScriptedModel([{"word": "hi"}], repeat_last=True))
    g = (
        Graph("bound", state=State)
        .step("start", lambda s: {})
        .role("say", local_echo, output=lambda answer, _: {"words": [answer["word"]]})
        .edge(START, "start")
        .fan_out("start", "say", lambda s: [{"topic": "ferns"}, {"topic": "moss"}])
    )
    run = Run()
    out = g.compile().invoke({}, run=run)
    assert out["words"] == ["hi", "hi"] and len(run.records) == 2
    assert run.pool is None  # bound for the call only


# --- streaming ------------------------------------------------------------------------


def test_stream_reports_nodes_votes_escalations_and_custom_events() -> None:
    class State(TypedDict, total=False):
        topic: str
        voted: str
        climbed: str

    def announce(state: State) -> dict[str, str]:
        get_stream_writer()({"progress": "half way"})
        return {}

    g = (
        Graph("events", state=State)
        .role("vote", voter, output=lambda answer, _: {"voted": answer["word"]})
        .step("announce", announce)
        .role("climb", climber, output=lambda answer, _: {"climbed": answer["word"]})
        .edge(START, "vote")
        .edge("vote", "announce")
        .edge("announce", "climb")
        .edge("climb", END)
    )

    def small(text: str) -> Any:
        return {"word": "fern"} if text.startswith("Vote") else "not json"

    fake = ScriptedModel([lambda p, s: _as_text(small(last_message(p)))], repeat_last=True)
    big = ScriptedModel([{"word": "sequoia"}], name="big", repeat_last=True)
    pool = ModelPool()
    pool.register("fake", fake)
    pool.register("big", big)
    events = list(g.compile().stream({"topic": "trees"}, run=Run(pool=pool)))

    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "RoleFinished",
        "NodeFinished",
        "CustomEvent",
        "NodeFinished",
        "RoleFinished",
        "Escalation",
        "NodeFinished",
        "GraphFinished",
    ]
    vote = events[0]
    assert isinstance(vote, RoleFinished) and vote.node == "vote"
    assert list(vote.votes.values()) == [2] and vote.samples == 2 and not vote.escalated
    assert events[2] == CustomEvent({"progress": "half way"})
    climbed = events[4]
    assert isinstance(climbed, RoleFinished) and climbed.escalated and climbed.model == "big"
    escalation = events[5]
    assert isinstance(escalation, Escalation)
    assert (escalation.reason, escalation.status, escalation.model) == (
        "schema_failure",
        "escalated",
        "big",
    )
    nodes = [e for e in events if isinstance(e, NodeFinished)]
    assert [n.node for n in nodes] == ["vote", "announce", "climb"]
    assert all(n.seconds >= 0 for n in nodes) and nodes[2].update == {"climbed": "sequoia"}
    final = events[-1]
    assert isinstance(final, GraphFinished) and final.output["climbed"] == "sequoia"


def _as_text(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item)


# --- checkpoints ----------------------------------------------------------------------

CRASHY = '''
"""Three roles with a step between the second and third that kills its process once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypedDict

from pydantic import BaseModel

import smallagents
from smallagents import END, START


class Word(BaseModel):
    word: str


@smallagents.role(model="fake")
def first(topic: str) -> Word:
    """First word about {topic}."""


@smallagents.role(model="fake")
def second(word: str) -> Word:
    """Second word after {word}."""


@smallagents.role(model="fake")
def third(word: str) -> Word:
    """Third word after {word}."""


class CrashInput(TypedDict):
    topic: str
    flag: str


class CrashState(CrashInput, total=False):
    a: str
    b: str
    c: str


def crash_once(state: CrashState) -> dict[str, str]:
    flag = Path(state["flag"])
    if not flag.exists():
        flag.touch()
        os._exit(3)  # the process dies on the spot: no exception, no cleanup
    return {}


graph = (
    smallagents.Graph("crashy", state=CrashState, input=CrashInput)
    .role("first", first, output=lambda v, _: {"a": v["word"]})
    .role("second", second, inputs=lambda s: {"word": s["a"]}, output=lambda v, _: {"b": v["word"]})
    .step("crash", crash_once)
    .role("third", third, inputs=lambda s: {"word": s["b"]}, output=lambda v, _: {"c": v["word"]})
    .edge(START, "first")
    .edge("first", "second")
    .edge("second", "crash")
    .edge("crash", "third")
    .edge("third", END)
)
'''

CHILD = """
import json, sys
import smallagents
from smallagents.testing import ScriptedModel

graph_file, checkpoint, flag = sys.argv[1:]
words = {"First": "alpha", "Second": "beta", "Third": "gamma"}
answer = lambda prompt, seed: json.dumps({"word": words[prompt[-1]["content"].split()[0]]})
pool = smallagents.ModelPool()
pool.register("fake", ScriptedModel([answer], repeat_last=True))
graph = smallagents.load_graphs(graph_file)["crashy"]
graph.compile(checkpoint=checkpoint).invoke(
    {"topic": "sea", "flag": flag}, run=smallagents.Run(pool=pool), thread_id="item-1"
)
"""


def word_model() -> ScriptedModel:
    words = {"First": "alpha", "Second": "beta", "Third": "gamma"}
    return ScriptedModel(
        [lambda p, s: json.dumps({"word": words[last_message(p).split()[0]]})], repeat_last=True
    )


def test_a_killed_run_resumes_from_its_last_finished_step(tmp_path: Path) -> None:
    graph_file = tmp_path / "crashy.py"
    graph_file.write_text(CRASHY)
    checkpoint, flag = tmp_path / "state" / "runs.sqlite", tmp_path / "crashed.flag"
    inputs = {"topic": "sea", "flag": str(flag)}

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(graph_file), str(checkpoint), str(flag)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 3, child.stderr  # died inside the crash step
    graph = load_graphs(graph_file)["crashy"]

    with graph.compile(checkpoint=checkpoint) as app:
        assert app.state("item-1") == {**inputs, "a": "alpha", "b": "beta"}
        model = word_model()
        pool = ModelPool()
        pool.register("fake", model)
        run = Run(pool=pool)
        events = list(app.stream(inputs, run=run, thread_id="item-1"))

        # Only the step that was running when the process died and the node after it ran.
        assert [e.node for e in events if isinstance(e, NodeFinished)] == ["crash", "third"]
        assert [last_message(c.prompt) for c in model.calls] == ["Third word after beta."]
        final = events[-1]
        assert isinstance(final, GraphFinished) and final.resumed
        assert final.output == {**inputs, "a": "alpha", "b": "beta", "c": "gamma"}

        # A finished thread gives back its output without running anything.
        assert app.invoke(inputs, run=run, thread_id="item-1") == final.output
        assert len(model.calls) == 1 and len(run.records) == 1
        with pytest.raises(GraphInputError, match="other inputs"):
            app.invoke({**inputs, "topic": "land"}, run=run, thread_id="item-1")


def test_an_exception_mid_graph_resumes_in_process(tmp_path: Path) -> None:
    calls = {"boom": 0}

    def boom(state: TopicState) -> dict[str, str]:
        calls["boom"] += 1
        if calls["boom"] == 1:
            raise RuntimeError("simulated crash")
        return {"shout": state["word"]["word"].upper()}

    g = (
        Graph("boomy", state=TopicState, input=TopicInput)
        .role("say", echo, output="word")
        .step("boom", boom)
        .edge(START, "say")
        .edge("say", "boom")
        .edge("boom", END)
    )
    run, fake = scripted_run(lambda text: {"word": "kelp"})
    with g.compile(checkpoint=tmp_path / "c.sqlite") as app:
        with pytest.raises(RuntimeError, match="simulated crash"):  # not retried: not transient
            app.invoke({"topic": "sea"}, run=run, thread_id="t")
        out = app.invoke({"topic": "sea"}, run=run, thread_id="t")
    assert out == {"topic": "sea", "word": {"word": "kelp"}, "shout": "KELP"}
    assert len(fake.calls) == 1 and calls["boom"] == 2


# --- retries and limits ---------------------------------------------------------------


def test_default_retry_policy_retries_only_transient_errors() -> None:
    assert DEFAULT_RETRY.retry_on is is_transient
    assert is_transient(EndpointError("down", url="http://x"))
    assert not is_transient(ValueError("bad"))
    assert not is_transient(smallagents.errors.DownloadError("offline"))


def test_an_endpoint_error_is_retried_and_a_value_error_is_not() -> None:
    attempts = {"flaky": 0, "broken": 0}

    def flaky(state: TopicState) -> dict[str, Any]:
        attempts["flaky"] += 1
        if attempts["flaky"] < 3:
            raise EndpointError("connection refused", url="http://127.0.0.1:9")
        return {"word": {"word": "back"}}

    def broken(state: TopicState) -> dict[str, str]:
        attempts["broken"] += 1
        raise ValueError("a bug, not an outage")

    g = Graph("retry", state=TopicState, retry=FAST_RETRY).step("flaky", flaky)
    g.step("broken", broken).edge(START, "flaky").edge("flaky", "broken")
    with pytest.raises(ValueError, match="a bug"):
        g.compile().invoke({"topic": "x"})
    assert attempts == {"flaky": 3, "broken": 1}


def test_a_role_left_unresolved_by_an_endpoint_error_is_retried() -> None:
    def down(prompt: Prompt, seed: int) -> str:
        raise EndpointError("503 from server", url="http://127.0.0.1:9", status=503)

    fake = ScriptedModel([down, {"word": "up"}], repeat_last=True)
    pool = ModelPool()
    pool.register("fake", fake)
    run = Run(pool=pool)
    g = Graph("flaky_role", state=TopicState, retry=FAST_RETRY).role("say", echo, output="word")
    out = g.edge(START, "say").compile().invoke({"topic": "x"}, run=run)
    assert out["word"] == {"word": "up"}
    assert [r.escalation_reason for r in run.records] == ["model_error", None]


def test_recursion_limit_raises_a_clear_error() -> None:
    class Loop(TypedDict, total=False):
        n: int

    g = (
        Graph("loop", state=Loop)
        .step("inc", lambda s: {"n": s.get("n", 0) + 1})
        .edge(START, "inc")
        .branch("inc", lambda s: "inc", to=["inc"])  # never reaches END
    )
    with pytest.raises(RecursionLimitError, match=r"recursion_limit=5\)") as caught:
        g.compile(recursion_limit=5).invoke({"n": 0})
    assert isinstance(caught.value.__cause__, GraphRecursionError)
    assert "Fix:" in str(caught.value)


# --- registry and CLI -----------------------------------------------------------------


def test_registry_finds_builtin_and_user_graphs(tmp_path: Path) -> None:
    assert isinstance(builtin_graphs()["gra"], Graph)
    graph_file = tmp_path / "crashy.py"
    graph_file.write_text(CRASHY)
    assert list(load_graphs(graph_file)) == ["crashy"]
    assert find_graph("crashy", graph_file).name == "crashy"
    with pytest.raises(ContentError, match=r"known graphs: .*\bgra\b"):
        find_graph("nope")


runner = CliRunner()


def test_cli_lists_graphs() -> None:
    result = runner.invoke(cli_app, ["graphs"])
    assert result.exit_code == 0, result.output
    assert "gra" in result.stdout and "review_1" in result.stdout and "tally" in result.stdout


def test_cli_shows_a_graph_as_mermaid(tmp_path: Path) -> None:
    result = runner.invoke(cli_app, ["graph", "show", "gra"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("---") and "tally -.-> adjudicate;" in result.stdout
    graph_file = tmp_path / "crashy.py"
    graph_file.write_text(CRASHY)
    result = runner.invoke(cli_app, ["graph", "show", "crashy", "--graphs", str(graph_file)])
    assert result.exit_code == 0, result.output
    assert "second --> crash;" in result.stdout


def test_cli_lists_roles_with_model_and_schema() -> None:
    result = runner.invoke(cli_app, ["roles"])
    assert result.exit_code == 0, result.output
    for text in ("gra_generator", "gra_reviewer", "gra_adjudicator", "Adjudication", "default"):
        assert text in result.stdout


def test_cli_unknown_graph_is_one_line_with_exit_code_2() -> None:
    result = runner.invoke(cli_app, ["graph", "show", "nope"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "No graph named 'nope'" in lines[0] and "Fix:" in lines[0]
