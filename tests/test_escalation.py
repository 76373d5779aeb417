"""Real escalation: the embedded SmolLM2-135M plays each role, a real server is the fallback.

The small model runs in process (``"default"``); the fallback is llama-cpp-python's
OpenAI-compatible server (the session's ``llama_server``), reached over HTTP as any
larger model would be. Each trigger is forced deterministically: by a schema that
admits a single answer, by a context the request cannot fit, by sampling seeds
derived from the inputs, or by a validator. Outputs stay short so the file runs in
seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import pydantic
import pytest
from servers import ServerHandle, free_port

from smallagents import (
    EscalationBudget,
    EscalationPolicy,
    ModelPool,
    Run,
    VotingPolicy,
    role,
)
from smallagents.models import pool as pool_module
from smallagents.structured.schema import compile_schema

pytestmark = pytest.mark.server

SMALL = "default"  # SmolLM2-135M-Instruct, embedded, in this process

# A schema that admits exactly one answer: every sample agrees, whatever the model.
ONLY_TRUE = {
    "type": "object",
    "properties": {"ok": {"const": True}},
    "required": ["ok"],
}
GIVE_UP = {
    "type": "object",
    "properties": {"verdict": {"enum": ["give_up"]}},
    "required": ["verdict"],
}
UNSURE_FLAG = {
    "type": "object",
    "properties": {"unsure": {"const": True}},
    "required": ["unsure"],
}
SHORT_TEXT = {
    "type": "object",
    "properties": {"text": {"type": "string", "maxLength": 12}},
    "required": ["text"],
}
# SmolLM2's longest token is 32 bytes, so 8 tokens spell at most 256 characters: a
# 300-character string cannot be finished within max_tokens=8 by the small model or
# by the fallback (the same vocabulary behind the server). Every answer is truncated.
TOO_LONG = {
    "type": "object",
    "properties": {"text": {"type": "string", "minLength": 300}},
    "required": ["text"],
}
# Room for the fallback too: the server's grammar allows whitespace after the JSON.
MAX_TOKENS = 24


@pytest.fixture(scope="module")
def pool() -> Iterator[ModelPool]:
    """A pool of this module's own, closed at the end (fallbacks on dead ports included).

    One decode thread: on a shared 2-core machine, two threads collapse as soon as
    something else (the fallback server, another test run) keeps a core busy.
    """
    own = ModelPool(threads=1)
    yield own
    own.close()


@pytest.fixture
def fallback(llama_server: ServerHandle) -> str:
    return llama_server.spec


def _assert_escalated(record: Any, fallback: str, reason: str) -> None:
    assert record.status == "escalated", record.detail
    assert record.escalation_reason == reason
    assert record.model == fallback  # an OpenAIModel is named by its spec
    assert record.generations[-1].model == fallback
    assert record.completion_tokens > 0


def test_schema_failure_escalates_to_the_fallback(pool: ModelPool, fallback: str) -> None:
    # The grammar makes the small model's every answer valid JSON of the schema, so a
    # red flag has to come from the one check the grammar cannot carry: the pydantic
    # validator. This one refuses the first three answers it sees, which are the small
    # model's three attempts (the role's attempts=3); the fallback's answer is the fourth.
    seen: list[str] = []

    class Guess(pydantic.BaseModel):
        word: Literal["yes", "no"]

        @pydantic.field_validator("word")
        @classmethod
        def refuse_the_first_three(cls, value: str) -> str:
            seen.append(value)
            if len(seen) <= 3:
                raise ValueError("refused by the test")
            return value

    # schema=: a class local to this test cannot be resolved from an annotation.
    @role(model=SMALL, schema=Guess, fallback=fallback, attempts=3, max_tokens=MAX_TOKENS)
    def guess(question: str) -> pydantic.BaseModel:
        """Answer yes or no: {question}"""

    run = Run(pool=pool)
    record = guess.invoke({"question": "Is the sky blue?"}, run=run)
    _assert_escalated(record, fallback, "schema_failure")
    assert isinstance(record.value, Guess)
    assert len(seen) == 4
    assert record.samples == 3
    assert len(record.red_flags) == 3
    assert all("refused by the test" in flag for flag in record.red_flags)
    assert "gave no valid Guess in 3 attempt(s)" in record.detail
    assert run.records == [record]


def test_schema_failure_with_a_fallback_that_fails_too_is_unresolved(
    pool: ModelPool, fallback: str
) -> None:
    @role(model=SMALL, schema=TOO_LONG, fallback=fallback, attempts=2, max_tokens=8)
    def essay(topic: str) -> dict:
        """Write at length about {topic}."""

    run = Run(pool=pool)
    record = essay.invoke({"topic": "rivers"}, run=run)  # kept, never raised
    assert record.status == "unresolved"
    assert record.escalation_reason == "schema_failure"
    assert record.model == fallback
    assert record.value is None
    assert len(record.red_flags) == 2
    assert all(flag.startswith("truncated at 8 tokens") for flag in record.red_flags)
    assert "the fallback failed too" in record.detail
    assert "truncated" in record.detail.split("the fallback failed too")[1]
    assert run.records == [record]


def test_an_undecided_vote_escalates_to_the_fallback(pool: ModelPool, fallback: str) -> None:
    # Five free-text samples at temperature 1.5 must all be identical to decide; with
    # seeds derived from the inputs the outcome is fixed, and it is five different texts.
    @role(
        model=SMALL,
        schema=SHORT_TEXT,
        voting=VotingPolicy(k=5, max_samples=5, temperature=1.5),
        fallback=fallback,
        max_tokens=MAX_TOKENS * 2,
    )
    def poem(topic: str) -> dict:
        """Write a very short poem about {topic}."""

    record = poem.invoke({"topic": "the sea"}, run=Run(pool=pool))
    _assert_escalated(record, fallback, "undecided")
    assert record.samples == 5
    assert sum(record.votes.values()) + len(record.red_flags) == 5
    assert len(record.votes) >= 2
    assert not record.decided
    assert "no answer led by 5 within 5 samples" in record.detail
    compile_schema(SHORT_TEXT).check(record.value)  # the fallback's answer, validated
    assert len(record.generations) == sum(record.votes.values()) + 1  # the votes + fallback


def test_a_low_margin_escalates_to_the_fallback(pool: ModelPool, fallback: str) -> None:
    # ONLY_TRUE admits one answer, so k=2 is decided after two samples at a margin of 2.
    @role(
        model=SMALL,
        schema=ONLY_TRUE,
        voting=2,
        escalation=EscalationPolicy(fallback=fallback, min_margin=3),
        max_tokens=MAX_TOKENS,
    )
    def check(claim: str) -> dict:
        """Is this true? {claim}"""

    record = check.invoke({"claim": "2 + 2 = 4"}, run=Run(pool=pool))
    _assert_escalated(record, fallback, "low_margin")
    assert (record.samples, record.margin, record.decided) == (2, 2, True)
    assert record.votes == {'{"ok":true}': 2}
    assert record.value == {"ok": True}
    assert "margin 2 below 3" in record.detail


@pytest.mark.parametrize(
    ("schema", "unsure", "expected"),
    [
        (GIVE_UP, "verdict", {"verdict": "give_up"}),
        (UNSURE_FLAG, "unsure", {"unsure": True}),
        (ONLY_TRUE, lambda value: value == {"ok": True}, {"ok": True}),
    ],
    ids=["give_up_field", "bool_field", "predicate"],
)
def test_an_unsure_answer_escalates_to_the_fallback(
    pool: ModelPool,
    fallback: str,
    schema: dict[str, Any],
    unsure: Any,
    expected: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The schema leaves the small model one answer, and that answer says it is unsure.
    @role(model=SMALL, schema=schema, fallback=fallback, unsure=unsure, max_tokens=MAX_TOKENS)
    def judge(claim: str) -> dict:
        """Judge this claim: {claim}"""

    record = judge.invoke({"claim": "the moon is made of cheese"}, run=Run(pool=pool))
    _assert_escalated(record, fallback, "unsure")
    assert record.samples == 1
    assert len(record.generations) == 2
    assert record.generations[0].model == SMALL
    assert record.value == expected  # the fallback is held to the same schema
    # Called plainly, the role runs on the thread's pool: this module's, here.
    monkeypatch.setattr(pool_module._thread_pools, "pool", pool, raising=False)
    assert judge(claim="the moon is made of cheese") == expected


def test_a_model_error_escalates_to_the_fallback(pool: ModelPool, fallback: str) -> None:
    # max_tokens=4096 leaves no room for any prompt in the small model's 4096-token
    # context: a ContextOverflowError before any decoding. llama-cpp-python's server
    # (0.3.36) clamps max_tokens to its own context instead, so the fallback answers.
    @role(model=SMALL, schema=ONLY_TRUE, fallback=fallback, max_tokens=4096)
    def check(claim: str) -> dict:
        """Is this true? {claim}"""

    record = check.invoke({"claim": "water is wet"}, run=Run(pool=pool))
    _assert_escalated(record, fallback, "model_error")
    assert "does not fit the 4096-token context of default" in record.detail
    assert record.value == {"ok": True}
    assert len(record.generations) == 1  # the small model never generated


def test_the_budget_stops_the_second_escalation(pool: ModelPool, fallback: str) -> None:
    @role(
        model=SMALL,
        schema=ONLY_TRUE,
        fallback=fallback,
        unsure=lambda value: True,
        max_tokens=MAX_TOKENS,
    )
    def doubtful(claim: str) -> dict:
        """Is this true? {claim}"""

    run = Run(pool=pool, budget=EscalationBudget(max_count=1))
    first = doubtful.invoke({"claim": "fire is hot"}, run=run)
    second = doubtful.invoke({"claim": "ice is cold"}, run=run)
    _assert_escalated(first, fallback, "unsure")
    assert second.status == "unresolved"
    assert second.escalation_reason == "unsure"
    assert second.model == SMALL
    assert "the run's escalation budget is spent" in second.detail
    assert second.value == {"ok": True}  # the small model's answer is kept
    assert [g.model for g in second.generations] == [SMALL]
    assert run.records == [first, second]
    totals = run.summary()["run"]
    assert (totals["calls"], totals["escalated"], totals["unresolved"]) == (2, 1, 1)
    assert totals["escalation_rate"] == 1.0


def test_a_fallback_that_is_down_leaves_the_call_unresolved(pool: ModelPool) -> None:
    dead = f"openai:http://127.0.0.1:{free_port()}/v1#nobody"  # nothing listens there

    @role(
        model=SMALL,
        schema=ONLY_TRUE,
        fallback=dead,
        unsure=lambda value: True,
        max_tokens=MAX_TOKENS,
    )
    def stranded(claim: str) -> dict:
        """Is this true? {claim}"""

    run = Run(pool=pool)
    record = stranded.invoke({"claim": "the fallback is up"}, run=run)  # no exception
    assert record.status == "unresolved"
    assert record.escalation_reason == "unsure"
    assert record.model == dead
    assert "the fallback failed: Cannot reach" in record.detail
    assert record.value == {"ok": True}
    assert run.records == [record]
    assert run.escalations == 1  # the attempt was paid for from the budget
