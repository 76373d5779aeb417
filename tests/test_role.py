"""Roles: definition-time checks, calling, seeds, prompts, voting, escalation, budget, registry.

Driven by `ScriptedModel` (served under a spec name by a
`ModelPool`), so that each vote split and each escalation trigger
is an exact, repeatable sequence. The real small model and a real fallback server
are exercised in ``test_escalation.py``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pydantic
import pytest
from scripted import serve

from smallagents import (
    EscalationBudget,
    EscalationPolicy,
    Example,
    Model,
    ModelPool,
    Price,
    Role,
    RoleRecord,
    Run,
    SmallAgentsError,
    VotingPolicy,
    role,
)
from smallagents.errors import (
    ContentError,
    ContextOverflowError,
    EndpointError,
    RoleDefinitionError,
    RoleInputError,
    RoleUnresolvedError,
)
from smallagents.models.base import Completion, Prompt
from smallagents.models.pool import current_thread_pool, use_thread_pool
from smallagents.registry import find_role, load_roles
from smallagents.role import FunctionRole, default_seed
from smallagents.testing import ScriptedModel
from smallagents.voting import canonical_key


class Answer(pydantic.BaseModel):
    answer: str


ANSWER = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}
LABELLED = {
    "type": "object",
    "properties": {"label": {"type": "string"}, "reason": {"type": "string"}},
    "required": ["label", "reason"],
}
WITH_UNSURE = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "unsure": {"type": "boolean"}},
    "required": ["answer", "unsure"],
}
WITH_STATUS = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "status": {"enum": ["ok", "give_up"]}},
    "required": ["answer", "status"],
}
A = {"answer": "a"}
B = {"answer": "b"}
BIG = {"answer": "from the big model"}


def _one_line_with_fix(error: SmallAgentsError) -> None:
    message = str(error)
    assert "\n" not in message
    assert "Fix:" in message
    assert error.fix


@pytest.fixture
def pool() -> Iterator[ModelPool]:
    """A fresh pool, also installed as this thread's pool so that ``role(**inputs)`` uses it."""
    fresh = ModelPool()
    before = current_thread_pool()
    use_thread_pool(fresh)
    yield fresh
    use_thread_pool(before)
    fresh.close()


class TimedModel(ScriptedModel):
    """A ScriptedModel whose calls take the given seconds, in order (the last repeats)."""

    def __init__(self, script: Sequence[Any], *, seconds: Sequence[float], **options: Any):
        super().__init__(script, **options)
        self.seconds = list(seconds)

    def _complete(self, prompt: Prompt, **kwargs: Any) -> Completion:
        index = min(len(self.calls), len(self.seconds) - 1)
        completion = super()._complete(prompt, **kwargs)
        return dataclasses.replace(completion, seconds=self.seconds[index])


class DownModel(Model):
    """A model whose endpoint is always down."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def _complete(self, prompt: Prompt, **kwargs: Any) -> Completion:
        self.calls += 1
        raise EndpointError(
            "Cannot reach http://127.0.0.1:9/v1: connection refused.",
            url="http://127.0.0.1:9/v1",
            fix="start the server.",
        )


# --- definition-time errors ---------------------------------------------------------------


def _no_return_annotation() -> None:
    @role
    def no_return(q: str):  # type: ignore[no-untyped-def]
        """Answer {q}"""


def _field_not_a_parameter() -> None:
    @role
    def stray_field(q: str) -> Answer:
        """Answer {q} about {topic}"""


def _unknown_schema_name() -> None:
    @role(schema="nope")
    def unknown_schema(q: str) -> dict:
        """Answer {q}"""


def _no_template() -> None:
    @role
    def no_template(q: str) -> Answer: ...


def _dotted_field() -> None:
    @role
    def dotted(q: str) -> Answer:
        """Answer {q.upper}"""


def _conversion_field() -> None:
    @role
    def converted(q: str) -> Answer:
        """Answer {q!r}"""


def _unbalanced_braces() -> None:
    @role(template="Answer {q")
    def unbalanced(q: str) -> Answer: ...


def _var_positional() -> None:
    @role
    def star_args(*args: str) -> Answer:
        """Answer"""


def _var_keyword() -> None:
    @role
    def star_kwargs(q: str, **extra: str) -> Answer:
        """Answer {q}"""


def _bad_example_output() -> None:
    @role(examples=[({"q": "x"}, {"answer": 5})])
    def bad_example(q: str) -> Answer:
        """Answer {q}"""


def _example_with_unknown_input() -> None:
    @role(examples=[({"q": "x", "other": "y"}, {"answer": "x"})])
    def example_unknown(q: str) -> Answer:
        """Answer {q}"""


def _example_missing_a_field() -> None:
    @role(examples=[({}, {"answer": "x"})])
    def example_missing(q: str) -> Answer:
        """Answer {q}"""


def _vote_on_unknown_field() -> None:
    @role(voting=3, vote_on=["confidence"])
    def vote_unknown(q: str) -> Answer:
        """Answer {q}"""


def _unsure_unknown_field() -> None:
    @role(unsure="unsure", fallback="big")
    def unsure_unknown(q: str) -> Answer:
        """Answer {q}"""


def _k_zero() -> None:
    @role(voting=0)
    def k_zero(q: str) -> Answer:
        """Answer {q}"""


def _budget_below_k() -> None:
    @role(voting=VotingPolicy(k=3, max_samples=2))
    def budget_below_k(q: str) -> Answer:
        """Answer {q}"""


@pytest.mark.parametrize(
    ("define", "name", "expected"),
    [
        (_no_return_annotation, "no_return", "no return annotation"),
        (_field_not_a_parameter, "stray_field", "{topic} match no parameter"),
        (_unknown_schema_name, "unknown_schema", "Unknown schema name 'nope'"),
        (_no_template, "no_template", "no prompt template"),
        (_dotted_field, "dotted", "{q.upper} is not a plain name"),
        (_conversion_field, "converted", "{q!r} is not a plain name"),
        (_unbalanced_braces, "unbalanced", "unbalanced braces"),
        (_var_positional, "star_args", "*args parameters"),
        (_var_keyword, "star_kwargs", "*extra parameters"),
        (_bad_example_output, "bad_example", "example output does not fit the schema"),
        (_example_with_unknown_input, "example_unknown", "['other'] are not parameters"),
        (_example_missing_a_field, "example_missing", "lack template field(s) ['q']"),
        (_vote_on_unknown_field, "vote_unknown", "confidence are not in the output schema"),
        (_unsure_unknown_field, "unsure_unknown", "unsure are not in the output schema"),
        (_k_zero, "k_zero", "votes k=0"),
        (_budget_below_k, "budget_below_k", "votes k=3 with max_samples=2"),
    ],
)
def test_definition_errors_name_the_role_and_the_fix(
    define: Callable[[], None], name: str, expected: str
) -> None:
    with pytest.raises(RoleDefinitionError) as caught:
        define()
    error = caught.value
    assert error.role == name
    assert f"Role {name!r}" in str(error)
    assert expected in str(error)
    _one_line_with_fix(error)


def test_the_schema_argument_overrides_a_missing_return_annotation() -> None:
    @role(schema=ANSWER)
    def annotated_by_argument(q: str):  # type: ignore[no-untyped-def]
        """Answer {q}"""

    assert annotated_by_argument.spec.schema.json_schema["properties"] == ANSWER["properties"]


def test_role_works_bare() -> None:
    @role
    def echo(q: str, times: int) -> Answer:
        """Say {q}
        again."""

    assert isinstance(echo, FunctionRole)
    spec = echo.spec
    assert (echo.name, spec.name, echo.__name__) == ("echo", "echo", "echo")
    assert spec.template == "Say {q}\nagain."
    assert spec.description == "Say {q}"
    assert dict(spec.inputs) == {"q": str, "times": int}
    assert spec.schema.model_class is Answer
    assert spec.model == "default"
    assert spec.voting == VotingPolicy()
    assert spec.escalation == EscalationPolicy()
    assert (spec.max_tokens, spec.temperature, spec.attempts) == (256, 0.0, 3)


def test_role_works_with_arguments() -> None:
    def is_unsure(value: Any) -> bool:
        return False

    @role(
        name="shout",
        template="SHOUT {q}",
        model="small",
        system="Be loud.",
        max_tokens=32,
        temperature=0.3,
        attempts=2,
        voting=VotingPolicy(k=3, max_samples=7, temperature=0.9),
        vote_on=["answer"],
        fallback="big",
        unsure=is_unsure,
        examples=[Example({"q": "hi"}, Answer(answer="HI"))],
    )
    def echo(q: str) -> Answer:
        """This docstring is not the template: template= wins."""

    spec = echo.spec
    assert echo.name == "shout"
    assert spec.template == "SHOUT {q}"
    assert (spec.model, spec.system, spec.max_tokens, spec.temperature, spec.attempts) == (
        "small",
        "Be loud.",
        32,
        0.3,
        2,
    )
    assert spec.voting == VotingPolicy(k=3, max_samples=7, fields=("answer",), temperature=0.9)
    assert spec.escalation.fallback == "big"
    assert spec.escalation.unsure is is_unsure
    assert spec.examples == (Example({"q": "hi"}, Answer(answer="HI")),)
    assert repr(echo) == "<role 'shout' -> Answer on small>"


def test_fallback_and_unsure_shorthands_keep_the_rest_of_the_policy() -> None:
    @role(
        schema=WITH_UNSURE,
        escalation=EscalationPolicy(fallback="old", on_undecided=False, min_margin=2),
        fallback="new",
        unsure="unsure",
    )
    def merged(q: str) -> dict:
        """Answer {q}"""

    assert merged.spec.escalation == EscalationPolicy(
        fallback="new", on_undecided=False, min_margin=2, unsure="unsure"
    )


def test_the_subclass_door_gives_the_same_spec_as_the_decorator() -> None:
    @role(model="small", voting=3, vote_on=["answer"], fallback="big", max_tokens=64)
    def ask_twice(q: str) -> Answer:
        """Answer {q} twice."""

    class AskTwice(Role):
        """Answer {q} twice."""

        schema = Answer
        inputs = {"q": str}  # noqa: RUF012 - a class setting, read once at definition
        model = "small"
        voting = 3
        vote_on = ("answer",)
        fallback = "big"
        max_tokens = 64

    assert AskTwice.spec == ask_twice.spec
    assert AskTwice().name == "ask_twice"

    class WithPrompt(Role):
        template = "Answer {q} twice."
        schema = Answer
        inputs = {"q": str}  # noqa: RUF012
        model = "small"
        voting = VotingPolicy(k=3, fields=("answer",))
        fallback = "big"
        max_tokens = 64
        name = "ask_twice"

    assert WithPrompt.spec == ask_twice.spec


def test_an_intermediate_base_class_shares_settings_with_its_roles() -> None:
    class SmallBase(Role):
        model = "small"
        max_tokens = 16

    class Concrete(SmallBase):
        template = "Answer {q}"
        schema = ANSWER

    assert not hasattr(SmallBase, "spec")
    assert (Concrete.spec.model, Concrete.spec.max_tokens) == ("small", 16)
    assert dict(Concrete.spec.inputs) == {"q": str}  # default: each field, as str


def test_the_old_setting_names_fail_where_they_are_written() -> None:
    # prompt/output/votes became template/schema/voting: an old class attribute would
    # otherwise be ignored, and the role would silently not vote.
    with pytest.raises(RoleDefinitionError) as caught:

        class OldNames(Role):
            prompt = "Answer {q}"
            output = Answer
            votes = 3

    assert caught.value.role == "old_names"
    assert "prompt, output, votes were renamed" in str(caught.value)
    assert "template = ..., schema = ..., voting = ..." in str(caught.value)
    _one_line_with_fix(caught.value)
    with pytest.raises(TypeError, match=r"'votes' \(renamed voting=\)"):
        role(votes=3)  # type: ignore[call-overload]


def test_a_subclass_with_a_missing_template_field_fails_at_class_creation() -> None:
    with pytest.raises(RoleDefinitionError) as caught:

        class BrokenRole(Role):
            template = "Compare {left} with {right}"
            schema = Answer
            inputs = {"left": str}  # noqa: RUF012

    assert caught.value.role == "broken_role"
    assert "{right}" in str(caught.value)
    _one_line_with_fix(caught.value)


class Counter(Role):
    """A stateful role: the number of the call is part of its prompt."""

    template = "Call {n}: {q}"
    schema = Answer
    inputs = {"q": str}  # noqa: RUF012
    state_fields = ("n",)
    model = "small"

    def __init__(self) -> None:
        self.n = 0

    def values(self, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        self.n += 1
        return {**inputs, "n": self.n}


def test_a_stateful_role_adds_its_state_to_the_prompt_and_the_seed(pool: ModelPool) -> None:
    small = serve(pool, "small", [A], repeat_last=True)
    counter = Counter()
    assert counter.spec.state_fields == ("n",)
    assert dict(counter.spec.inputs) == {"q": str}
    assert counter(q="hi") == Answer(answer="a")
    record = counter.invoke({"q": "hi"}, run=Run(pool=pool))
    assert record.status == "ok"
    assert [call.prompt for call in small.calls] == [
        [{"role": "user", "content": "Call 1: hi"}],
        [{"role": "user", "content": "Call 2: hi"}],
    ]
    seeds = [call.seed for call in small.calls]
    assert seeds == [
        default_seed("counter", {"q": "hi", "n": 1}),
        default_seed("counter", {"q": "hi", "n": 2}),
    ]
    assert seeds[0] != seeds[1]
    with pytest.raises(RoleInputError, match="unexpected n"):
        counter.invoke({"q": "hi", "n": 5}, run=Run(pool=pool))


# --- calling ----------------------------------------------------------------------------


@role(model="small", template="Q: {q}")
def ask(q: str) -> Answer: ...


@role(model="small", schema=ANSWER, template="Count {n} {word}")
def count(n: int, word: str) -> dict: ...


def test_calling_a_role_returns_the_validated_value(pool: ModelPool) -> None:
    serve(pool, "small", [A])
    value = ask(q="anything")
    assert isinstance(value, Answer)
    assert value == Answer(answer="a")


def test_calling_a_dict_schema_role_returns_a_dict(pool: ModelPool) -> None:
    serve(pool, "small", [A])
    assert count(n=3, word="sheep") == A


def test_invoke_returns_the_whole_record(pool: ModelPool) -> None:
    small = serve(pool, "small", ["not json", A])
    run = Run(pool=pool)
    record = ask.invoke({"q": "one two"}, run=run)
    assert isinstance(record, RoleRecord)
    assert record.status == "ok" and record.resolved and not record.escalated
    assert record.role == "ask"
    assert record.model == "small"
    assert record.value == Answer(answer="a")
    assert record.escalation_reason is None
    assert record.samples == 2  # one red-flagged attempt, then a valid one
    assert len(record.red_flags) == 1 and "invalid JSON" in record.red_flags[0]
    assert record.votes == {canonical_key(A): 1}
    assert record.decided
    assert len(record.generations) == 1
    # ScriptedModel counts prompt words and len(text) // 4 completion tokens, per call.
    assert record.prompt_tokens == 2 * 3  # "Q: one two", twice
    assert record.completion_tokens == max(1, len("not json") // 4) + len('{"answer":"a"}') // 4
    assert record.cost == 0.0
    assert run.records == [record]
    assert len(small.calls) == 2


@pytest.mark.parametrize(
    ("inputs", "problem"),
    [
        ({"n": 3}, "missing word"),
        ({"n": 3, "word": "x", "colour": "red"}, "unexpected colour"),
        ({"word": "x", "colour": "red"}, "missing n; unexpected colour"),
        ({"n": "three", "word": "x"}, "n: Input should be a valid integer"),
        ({"n": 3, "word": 4}, "word: Input should be a valid string"),
    ],
)
def test_wrong_inputs_raise_role_input_error(
    pool: ModelPool, inputs: dict[str, Any], problem: str
) -> None:
    small = serve(pool, "small", [A])
    with pytest.raises(RoleInputError) as caught:
        count.invoke(inputs, run=Run(pool=pool))
    assert caught.value.role == "count"
    assert problem in str(caught.value)
    _one_line_with_fix(caught.value)
    with pytest.raises(RoleInputError):
        count(**inputs)
    assert small.calls == []  # refused before any model call


def test_inputs_are_validated_and_converted_before_the_prompt(pool: ModelPool) -> None:
    small = serve(pool, "small", [A])
    count(n="7", word="sheep")
    assert small.calls[0].prompt == [{"role": "user", "content": "Count 7 sheep"}]


# --- seeds ------------------------------------------------------------------------------


def test_the_default_seed_comes_from_the_role_and_its_inputs(pool: ModelPool) -> None:
    small = serve(pool, "small", [A], repeat_last=True)
    run = Run(pool=pool)
    ask.invoke({"q": "same"}, run=run)
    ask.invoke({"q": "same"}, run=run)
    ask.invoke({"q": "different"}, run=run)
    seeds = [call.seed for call in small.calls]
    assert seeds[0] == seeds[1] == default_seed("ask", {"q": "same"})
    assert seeds[2] == default_seed("ask", {"q": "different"})
    assert seeds[2] != seeds[0]
    assert default_seed("other_role", {"q": "same"}) != seeds[0]
    assert 0 <= seeds[0] < 2**31


def test_an_explicit_seed_is_used(pool: ModelPool) -> None:
    small = serve(pool, "small", ["bad", A])
    ask.invoke({"q": "same"}, run=Run(pool=pool), seed=1234)
    assert [call.seed for call in small.calls] == [1234, 1235]  # a resample takes seed + 1


# --- prompt shape -----------------------------------------------------------------------


@role(
    model="small",
    system="You answer briefly.",
    examples=[({"q": "one"}, {"answer": "1"}), Example({"q": "two"}, Answer(answer="2"))],
)
def few_shot(q: str) -> Answer:
    """Q: {q}"""


def test_a_chat_model_gets_system_example_pairs_and_the_request(pool: ModelPool) -> None:
    small = serve(pool, "small", [A], chat=True)
    few_shot(q="three")
    assert small.calls[0].prompt == [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "Q: one"},
        {"role": "assistant", "content": '{"answer":"1"}'},
        {"role": "user", "content": "Q: two"},
        {"role": "assistant", "content": '{"answer":"2"}'},
        {"role": "user", "content": "Q: three"},
    ]
    assert small.calls[0].schema == "Answer"


def test_a_base_model_gets_plain_text_with_filled_examples(pool: ModelPool) -> None:
    small = serve(pool, "small", [A], chat=False)
    few_shot(q="three")
    assert small.calls[0].prompt == (
        'You answer briefly.\n\nQ: one {"answer":"1"}\n\nQ: two {"answer":"2"}\n\nQ: three'
    )


def test_non_string_inputs_are_shown_as_compact_json(pool: ModelPool) -> None:
    @role(model="small", schema=ANSWER)
    def total(numbers: list[int], meta: dict[str, int]) -> dict:
        """Sum {numbers} with {meta}"""

    small = serve(pool, "small", [A])
    total(numbers=[1, 2], meta={"x": 1})
    assert small.calls[0].prompt == [{"role": "user", "content": 'Sum [1,2] with {"x":1}'}]


# --- voting -----------------------------------------------------------------------------


def _voter(
    k: int,
    *,
    max_samples: int | None = None,
    schema: Any = ANSWER,
    vote_on: Sequence[str] = (),
    escalation: EscalationPolicy | None = None,
) -> FunctionRole:
    @role(
        model="small",
        schema=schema,
        voting=VotingPolicy(k=k, max_samples=max_samples, temperature=0.8),
        vote_on=vote_on,
        escalation=escalation,
    )
    def vote(q: str) -> dict:
        """Q: {q}"""

    return vote


def test_k2_unanimous_costs_exactly_two_samples(pool: ModelPool) -> None:
    small = serve(pool, "small", [A], repeat_last=True)
    record = _voter(2).invoke({"q": "x"}, run=Run(pool=pool))
    assert record.status == "ok"
    assert record.samples == 2 and len(small.calls) == 2
    assert record.votes == {canonical_key(A): 2}
    assert (record.decided, record.margin) == (True, 2)
    first = default_seed("vote", {"q": "x"})
    assert [call.seed for call in small.calls] == [first, first + 1]
    assert {call.temperature for call in small.calls} == {0.8}
    assert len(record.generations) == 2


def test_a_split_vote_runs_until_one_answer_leads_by_k(pool: ModelPool) -> None:
    small = serve(pool, "small", [A, B, A, A])
    record = _voter(2).invoke({"q": "x"}, run=Run(pool=pool))
    assert record.status == "ok"
    assert record.value == A
    assert record.samples == 4 and len(small.calls) == 4
    assert record.votes == {canonical_key(A): 3, canonical_key(B): 1}
    assert record.margin == 2


def test_red_flagged_samples_are_discarded_and_counted(pool: ModelPool) -> None:
    small = serve(pool, "small", ["not json", A, {"answer": 7}, A])
    run = Run(pool=pool)
    record = _voter(2).invoke({"q": "x"}, run=run)
    assert record.status == "ok"
    assert record.value == A
    assert record.samples == 4 and len(small.calls) == 4
    assert len(record.red_flags) == 2
    assert "invalid JSON" in record.red_flags[0]
    assert record.red_flags[1].startswith("schema:")
    assert record.votes == {canonical_key(A): 2}
    assert run.summary()["run"]["schema_validity"] == pytest.approx(2 / 4)


def test_vote_on_fields_ignores_the_other_fields(pool: ModelPool) -> None:
    yes_a = {"label": "yes", "reason": "a"}
    yes_b = {"label": "yes", "reason": "b"}
    small = serve(pool, "small", [yes_a, yes_b])
    record = _voter(2, schema=LABELLED, vote_on=["label"]).invoke({"q": "x"}, run=Run(pool=pool))
    assert record.status == "ok"
    assert record.value == yes_a  # the first sample of the winning key
    assert record.votes == {canonical_key({"label": "yes"}): 2}
    assert len(small.calls) == 2


def test_undecided_without_fallback_is_unresolved_and_kept(pool: ModelPool) -> None:
    serve(pool, "small", [A, B, A, B])
    vote = _voter(2, max_samples=4)
    run = Run(pool=pool)
    record = vote.invoke({"q": "x"}, run=run)
    assert record.status == "unresolved" and not record.resolved
    assert record.escalation_reason == "undecided"
    assert record.value == A  # the leader: first seen among equals
    assert (record.decided, record.margin, record.samples) == (False, 0, 4)
    assert "no answer led by 2 within 4 samples" in record.detail
    assert "no fallback model is set" in record.detail
    assert record.model == "small"
    assert run.records == [record]


def test_records_name_the_small_model_the_same_way_resolved_or_not(pool: ModelPool) -> None:
    # The spec "small" serves a model named "tiny-v1": records (and prices) use the name.
    pool.register("small", ScriptedModel([A, A, A, B, A, B], name="tiny-v1"))
    run = Run(pool=pool)
    resolved = _voter(2).invoke({"q": "x"}, run=run)
    unresolved = _voter(2, max_samples=4).invoke({"q": "y"}, run=run)
    assert (resolved.status, unresolved.status) == ("ok", "unresolved")
    assert resolved.model == unresolved.model == "tiny-v1"


def test_low_margin_escalates_when_the_winner_leads_by_too_little(pool: ModelPool) -> None:
    # k=2 is decided at a margin of exactly 2; asking for 3 always calls it low.
    serve(pool, "small", [A, A])
    record = _voter(2, escalation=EscalationPolicy(min_margin=3)).invoke(
        {"q": "x"}, run=Run(pool=pool)
    )
    assert (record.status, record.escalation_reason) == ("unresolved", "low_margin")
    assert record.decided and record.margin == 2
    assert "margin 2 below 3" in record.detail


def test_an_undecided_leader_is_accepted_if_its_margin_is_enough(pool: ModelPool) -> None:
    lenient = EscalationPolicy(on_undecided=False, min_margin=1)
    serve(pool, "small", [A, B, A])
    record = _voter(2, max_samples=3, escalation=lenient).invoke({"q": "x"}, run=Run(pool=pool))
    assert (record.status, record.value, record.decided, record.margin) == ("ok", A, False, 1)

    serve(pool, "small", [A, B, A, B])
    record = _voter(2, max_samples=4, escalation=lenient).invoke({"q": "x"}, run=Run(pool=pool))
    assert (record.status, record.escalation_reason, record.margin) == (
        "unresolved",
        "low_margin",
        0,
    )


def test_a_valid_null_answer_can_win_a_vote(pool: ModelPool) -> None:
    serve(pool, "small", ["null"], repeat_last=True)
    record = _voter(2, schema={"type": ["string", "null"]}).invoke({"q": "x"}, run=Run(pool=pool))
    assert (record.status, record.value, record.escalation_reason) == ("ok", None, None)
    assert record.votes == {"null": 2}


# --- escalation -------------------------------------------------------------------------


def _overflow(prompt: Prompt, seed: int) -> str:
    raise ContextOverflowError(model="small", prompt_tokens=5000, n_ctx=4096, max_tokens=64)


# Each scenario: the role's settings and the small model's script, for one trigger.
TRIGGERS: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "schema_failure": ({"schema": ANSWER, "attempts": 3}, ["not json"]),
    "schema_failure_in_a_vote": (
        {"schema": ANSWER, "voting": VotingPolicy(k=2, max_samples=3)},
        ["not json"],
    ),
    "undecided": ({"schema": ANSWER, "voting": VotingPolicy(k=2, max_samples=4)}, [A, B]),
    "low_margin": (
        {"schema": ANSWER, "voting": 2, "escalation": EscalationPolicy(min_margin=3)},
        [A],
    ),
    "unsure_bool_field": (
        {"schema": WITH_UNSURE, "unsure": "unsure"},
        [{"answer": "a", "unsure": True}],
    ),
    "unsure_give_up_field": (
        {"schema": WITH_STATUS, "unsure": "status"},
        [{"answer": "a", "status": "give_up"}],
    ),
    "unsure_predicate": (
        {"schema": ANSWER, "unsure": lambda value: value["answer"] == "a"},
        [A],
    ),
    "model_error_overflow": ({"schema": ANSWER}, [_overflow]),
    "model_error_endpoint": ({"schema": ANSWER}, []),  # served by DownModel
}
REASONS = {
    "schema_failure": "schema_failure",
    "schema_failure_in_a_vote": "schema_failure",
    "undecided": "undecided",
    "low_margin": "low_margin",
    "unsure_bool_field": "unsure",
    "unsure_give_up_field": "unsure",
    "unsure_predicate": "unsure",
    "model_error_overflow": "model_error",
    "model_error_endpoint": "model_error",
}
BIG_ANSWERS = {"unsure_bool_field": {"answer": "big", "unsure": False}}
BIG_ANSWERS["unsure_give_up_field"] = {"answer": "big", "status": "ok"}


def _scenario(
    pool: ModelPool, trigger: str, *, fallback: str | None, big_script: Sequence[Any] = ()
) -> tuple[FunctionRole, Model, ScriptedModel]:
    """The role for ``trigger`` with fresh small and big models registered in ``pool``."""
    settings, script = TRIGGERS[trigger]
    settings = dict(settings)
    if fallback is not None:
        policy = settings.pop("escalation", EscalationPolicy())
        settings["escalation"] = dataclasses.replace(policy, fallback=fallback)
    small: Model
    if trigger == "model_error_endpoint":
        small = DownModel("small")
        pool.register("small", small)
    else:
        # Alternating scripts make an undecided vote; the others repeat one answer.
        cycle = script * 4 if len(script) > 1 else script
        small = serve(pool, "small", cycle, repeat_last=True)
    answer = BIG_ANSWERS.get(trigger, BIG)
    big = serve(pool, "big", list(big_script) or [answer], repeat_last=True)

    @role(model="small", template="Q: {q}", **settings)
    def escalating(q: str) -> dict: ...

    return escalating, small, big


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_each_trigger_escalates_to_the_fallback(pool: ModelPool, trigger: str) -> None:
    escalating, _, big = _scenario(pool, trigger, fallback="big")
    run = Run(pool=pool)
    record = escalating.invoke({"q": "x"}, run=run)
    assert record.status == "escalated" and record.escalated and record.resolved
    assert record.escalation_reason == REASONS[trigger]
    assert record.model == "big"
    assert record.value == BIG_ANSWERS.get(trigger, BIG)
    assert record.generations[-1].model == "big"
    assert len(big.calls) == 1
    assert big.calls[0].prompt == [{"role": "user", "content": "Q: x"}]
    assert big.calls[0].temperature == 0.0  # the fallback decodes at the role's temperature
    assert run.escalations == 1
    assert run.records == [record]

    escalating, _, _ = _scenario(pool, trigger, fallback="big")
    assert escalating(q="x") == BIG_ANSWERS.get(trigger, BIG)


@pytest.mark.parametrize("trigger", list(TRIGGERS))
def test_without_fallback_calling_raises_with_the_record(pool: ModelPool, trigger: str) -> None:
    escalating, _, big = _scenario(pool, trigger, fallback=None)
    run = Run(pool=pool)
    record = escalating.invoke({"q": "x"}, run=run)  # invoke keeps it, never raises
    assert record.status == "unresolved"
    assert record.escalation_reason == REASONS[trigger]
    assert record.model == "small"
    assert "no fallback model is set" in record.detail
    assert run.records == [record]

    escalating, _, big = _scenario(pool, trigger, fallback=None)
    with pytest.raises(RoleUnresolvedError) as caught:
        escalating(q="x")
    error = caught.value
    assert isinstance(error.record, RoleRecord)
    assert error.record.status == "unresolved"
    assert error.reason == REASONS[trigger]
    assert error.role == "escalating"
    _one_line_with_fix(error)
    assert big.calls == []


@pytest.mark.parametrize(
    ("trigger", "sure"),
    [
        ("unsure_bool_field", {"answer": "a", "unsure": False}),
        ("unsure_give_up_field", {"answer": "a", "status": "ok"}),
        ("unsure_predicate", {"answer": "b"}),
    ],
)
def test_a_sure_answer_does_not_escalate(
    pool: ModelPool, trigger: str, sure: dict[str, Any]
) -> None:
    escalating, _, big = _scenario(pool, trigger, fallback="big")
    serve(pool, "small", [sure])
    record = escalating.invoke({"q": "x"}, run=Run(pool=pool))
    assert (record.status, record.value, record.escalation_reason) == ("ok", sure, None)
    assert big.calls == []


def test_a_fallback_that_fails_too_leaves_the_call_unresolved(pool: ModelPool) -> None:
    escalating, _, big = _scenario(pool, "schema_failure", fallback="big", big_script=["nope"])
    run = Run(pool=pool, prices={"big": Price(input_per_million=1000, output_per_million=3000)})
    record = escalating.invoke({"q": "x"}, run=run)
    assert record.status == "unresolved"
    assert record.escalation_reason == "schema_failure"
    assert record.model == "big"
    assert "the fallback failed too" in record.detail
    assert len(big.calls) == 3  # the role's attempts
    # The fallback's red-flagged attempts cost money all the same: 3 x ("Q: x" in, 1 out).
    assert record.cost == pytest.approx(3 * (2 * 1000 + 1 * 3000) / 1e6)
    with pytest.raises(RoleUnresolvedError, match="fallback failed too"):
        _scenario(pool, "schema_failure", fallback="big", big_script=["nope"])[0](q="x")


def test_a_fallback_that_is_down_leaves_the_call_unresolved(pool: ModelPool) -> None:
    escalating, _, _ = _scenario(pool, "undecided", fallback="big")
    down = DownModel("big")
    pool.register("big", down)
    record = escalating.invoke({"q": "x"}, run=Run(pool=pool))
    assert (record.status, record.escalation_reason, record.model) == (
        "unresolved",
        "undecided",
        "big",
    )
    assert "the fallback failed: Cannot reach" in record.detail
    assert record.value == A  # still the small models' leader
    assert down.calls == 1


def test_model_errors_propagate_when_escalation_on_them_is_off(pool: ModelPool) -> None:
    pool.register("small", DownModel("small"))
    big = serve(pool, "big", [BIG])

    @role(
        model="small",
        schema=ANSWER,
        escalation=EscalationPolicy(fallback="big", on_model_error=False),
    )
    def strict(q: str) -> dict:
        """Q: {q}"""

    with pytest.raises(EndpointError):
        strict.invoke({"q": "x"}, run=Run(pool=pool))
    assert big.calls == []


def test_schema_failure_is_not_escalated_when_that_trigger_is_off(pool: ModelPool) -> None:
    serve(pool, "small", ["not json"], repeat_last=True)
    big = serve(pool, "big", [BIG])

    @role(
        model="small",
        schema=ANSWER,
        escalation=EscalationPolicy(fallback="big", on_schema_failure=False),
    )
    def no_rescue(q: str) -> dict:
        """Q: {q}"""

    run = Run(pool=pool)
    record = no_rescue.invoke({"q": "x"}, run=run)
    assert (record.status, record.escalation_reason, record.value) == (
        "unresolved",
        "schema_failure",
        None,
    )
    assert "on_schema_failure is off" in record.detail
    assert big.calls == [] and run.escalations == 0


# --- escalation budget and the run summary ----------------------------------------------


def test_max_count_lets_one_escalation_through(pool: ModelPool) -> None:
    run = Run(pool=pool, budget=EscalationBudget(max_count=1))
    escalating, _, big = _scenario(pool, "unsure_predicate", fallback="big")
    first = escalating.invoke({"q": "x"}, run=run)
    second = escalating.invoke({"q": "y"}, run=run)
    assert first.status == "escalated"
    assert second.status == "unresolved"
    assert second.escalation_reason == "unsure"
    assert "escalation budget is spent" in second.detail
    assert second.model == "small"
    assert len(big.calls) == 1
    assert run.escalations == 1
    assert run.records == [first, second]


def test_max_share_caps_escalations_as_a_share_of_the_calls_so_far(pool: ModelPool) -> None:
    def answer(prompt: Prompt, seed: int) -> str:
        text = prompt if isinstance(prompt, str) else prompt[-1]["content"]
        return json.dumps({"answer": "?" if "hard" in text else "easy"})

    serve(pool, "small", [answer], repeat_last=True)
    big = serve(pool, "big", [BIG], repeat_last=True)

    @role(model="small", schema=ANSWER, fallback="big", unsure=lambda v: v["answer"] == "?")
    def shared(q: str) -> dict:
        """Q: {q}"""

    # At most half of the calls made so far (this one included) may escalate.
    run = Run(pool=pool, budget=EscalationBudget(max_share=0.5))
    statuses = [shared.invoke({"q": q}, run=run).status for q in ["easy", "hard", "hard", "hard"]]
    # call 2: 1 escalation of 2 calls; call 3: 2 of 3 > half; call 4: 2 of 4.
    assert statuses == ["ok", "escalated", "unresolved", "escalated"]
    assert "escalation budget is spent" in run.records[2].detail
    assert run.escalations == 2 and len(big.calls) == 2

    # The very first call of a run would be 1 escalation of 1 call: over half.
    fresh = Run(pool=pool, budget=EscalationBudget(max_share=0.5))
    first = shared.invoke({"q": "hard"}, run=fresh)
    assert first.status == "unresolved"


def test_budget_allows_arithmetic() -> None:
    both = EscalationBudget(max_count=2, max_share=0.5)
    assert both.allows(0, 2)
    assert not both.allows(1, 2)  # 2 escalations of 2 calls
    assert both.allows(1, 4)
    assert not both.allows(2, 100)  # the count cap
    assert EscalationBudget().allows(10**6, 1)


def _linear_quantile(ordered: Sequence[float], q: float) -> float:
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def test_summary_counts_calls_escalations_validity_latency_and_cost(pool: ModelPool) -> None:
    def answer(prompt: Prompt, seed: int) -> str:
        text = prompt if isinstance(prompt, str) else prompt[-1]["content"]
        if "broken" in text:
            return "not json"
        return json.dumps({"answer": "?" if "unsure" in text else "fine"})

    small = TimedModel([answer], seconds=[1.0, 2.0, 3.0, 4.0, 5.0], name="small", repeat_last=True)
    pool.register("small", small)
    big = TimedModel([BIG], seconds=[10.0], name="big", repeat_last=True)
    pool.register("big", big)

    @role(model="small", schema=ANSWER, fallback="big", attempts=3)
    def rescued(q: str) -> dict:
        """Q: {q}"""

    @role(model="small", schema=ANSWER, unsure=lambda v: v["answer"] == "?")
    def alone(q: str) -> dict:
        """Q: {q}"""

    price = Price(input_per_million=1000.0, output_per_million=3000.0)
    run = Run(pool=pool, prices={"big": price})
    ok = rescued.invoke({"q": "fine"}, run=run)  # small call 1: 1 s
    escalated = rescued.invoke({"q": "broken"}, run=run)  # small calls 2-4, then big: 19 s
    unresolved = alone.invoke({"q": "unsure"}, run=run)  # small call 5: 5 s
    assert [r.status for r in run.records] == ["ok", "escalated", "unresolved"]
    assert [r.seconds for r in run.records] == [1.0, 2.0 + 3.0 + 4.0 + 10.0, 5.0]

    summary = run.summary()
    totals = summary["run"]
    assert totals["calls"] == 3
    assert totals["resolved"] == 2
    assert totals["escalated"] == 1
    assert totals["unresolved"] == 1
    assert totals["escalation_rate"] == pytest.approx(2 / 3)
    assert totals["samples"] == 1 + 3 + 1
    assert totals["red_flags"] == 3
    assert totals["schema_validity"] == pytest.approx(2 / 5)
    assert totals["seconds"] == pytest.approx(25.0)
    latencies = [1.0, 5.0, 19.0]
    assert totals["p50_seconds"] == pytest.approx(5.0)
    assert totals["p95_seconds"] == pytest.approx(_linear_quantile(latencies, 0.95))
    assert totals["p95_seconds"] == pytest.approx(5.0 + 0.9 * 14.0)
    # Only big has a price: "Q: broken" is 2 words in, '{"answer":"from the big model"}'
    # (31 characters) is 7 tokens out.
    assert escalated.cost == pytest.approx((2 * 1000.0 + 7 * 3000.0) / 1e6)
    assert ok.cost == unresolved.cost == 0.0
    assert totals["cost"] == pytest.approx(0.023)
    assert totals["cost_per_resolved"] == pytest.approx(0.023 / 2)
    assert totals["prompt_tokens"] == sum(r.prompt_tokens for r in run.records) == 2 * 5 + 2

    roles = summary["roles"]
    assert sorted(roles) == ["alone", "rescued"]
    assert (roles["rescued"]["calls"], roles["rescued"]["escalated"]) == (2, 1)
    assert roles["rescued"]["escalation_rate"] == pytest.approx(0.5)
    assert (roles["alone"]["calls"], roles["alone"]["unresolved"]) == (1, 1)
    assert roles["alone"]["cost"] == 0.0


def test_an_empty_run_summarises_to_zeros_and_nones() -> None:
    totals = Run().summary()["run"]
    assert totals["calls"] == 0
    assert totals["escalation_rate"] is None
    assert totals["schema_validity"] is None
    assert totals["p50_seconds"] is None and totals["p95_seconds"] is None
    assert totals["cost_per_resolved"] is None


def test_a_run_with_an_empty_pool_uses_that_pool(pool: ModelPool) -> None:
    own = ModelPool()
    assert len(own) == 0  # falsy: it must still be the pool used
    assert Run(pool=own).models() is own
    assert Run().models() is pool


# --- registry ---------------------------------------------------------------------------

ROLE_FILE = '''
import pydantic
from smallagents import Role, role


class Verdict(pydantic.BaseModel):
    ok: bool


@role
def {name}(claim: str) -> Verdict:
    """Is this claim true? {{claim}}"""


class {cls}(Role):
    template = "Check {{claim}}"
    schema = Verdict
'''


def _write_roles(path: Path, name: str, cls: str) -> Path:
    path.write_text(ROLE_FILE.format(name=name, cls=cls), encoding="utf-8")
    return path


def test_load_roles_from_a_file(tmp_path: Path) -> None:
    source = _write_roles(tmp_path / "checks.py", "fact_check", "SecondOpinion")
    roles = load_roles(source)
    assert sorted(roles) == ["fact_check", "second_opinion"]
    assert roles["fact_check"].spec.schema.name == "Verdict"
    assert isinstance(roles["second_opinion"], Role)
    assert load_roles(str(source)).keys() == roles.keys()


def test_load_roles_from_a_folder(tmp_path: Path) -> None:
    _write_roles(tmp_path / "one.py", "first_role", "FirstClass")
    _write_roles(tmp_path / "two.py", "second_role", "SecondClass")
    _write_roles(tmp_path / "_private.py", "hidden_role", "HiddenClass")
    (tmp_path / "notes.txt").write_text("not python", encoding="utf-8")
    roles = load_roles(tmp_path)
    assert sorted(roles) == ["first_class", "first_role", "second_class", "second_role"]
    assert find_role("second_role", tmp_path) is roles["second_role"]


def test_a_file_with_a_syntax_error_is_a_content_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n    pass\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_roles(broken)
    assert "broken.py" in str(caught.value)
    assert "SyntaxError" in str(caught.value)
    _one_line_with_fix(caught.value)


def test_a_file_with_a_bad_role_raises_its_definition_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from smallagents import role\n\n@role\ndef no_type(q: str):\n    '''Q {q}'''\n",
        encoding="utf-8",
    )
    with pytest.raises(RoleDefinitionError, match="'no_type'"):
        load_roles(bad)


def test_a_missing_file_is_a_content_error(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="does not exist") as caught:
        load_roles(tmp_path / "missing.py")
    _one_line_with_fix(caught.value)


def test_find_role_lists_the_known_roles(tmp_path: Path) -> None:
    source = _write_roles(tmp_path / "known.py", "known_role", "KnownClass")
    with pytest.raises(ContentError) as caught:
        find_role("nope", source)
    message = str(caught.value)
    assert "No role named 'nope'" in message
    assert "known_class" in message and "known_role" in message
    _one_line_with_fix(caught.value)
