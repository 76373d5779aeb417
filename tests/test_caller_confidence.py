"""Token confidence of a caller's native answer, keyed like its parsed calls."""

from __future__ import annotations

from smallagents.tools import as_tools, native_answer
from smallagents.tools._caller import _native_spans

GCD = {
    "name": "math.gcd",
    "description": "Greatest common divisor of two integers.",
    "parameters": {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
}


def _char_tokens(text: str, logprob: float) -> tuple[list[tuple[int, int]], list[float]]:
    return [(i, i + 1) for i in range(len(text))], [logprob] * len(text)


def test_each_native_call_is_scored_on_its_own_characters() -> None:
    answer = native_answer(as_tools([GCD]), max_calls=2)
    one = '{"name": "math.gcd", "arguments": {"a": 12, "b": 18}}'
    text = f"```json\n{one}\n{one.replace('12', '7')}\n```"
    assert _native_spans(text) == [(8, 8 + len(one)), (9 + len(one), 9 + 2 * len(one) - 1)]
    spans, logprobs = _char_tokens(text, -0.01)
    confidence = answer.field_confidence(text, spans, logprobs)
    assert set(confidence) == {
        "calls.0.name", "calls.0.arguments.a", "calls.0.arguments.b",
        "calls.1.name", "calls.1.arguments.a", "calls.1.arguments.b",
    }  # fmt: skip
    # "12" is two characters, "7" one: a number's probability is its tokens' product.
    assert confidence["calls.1.arguments.a"] > confidence["calls.0.arguments.a"]
    assert all(0 < value < 1 for value in confidence.values())


def test_a_sentence_is_the_choice_not_to_call() -> None:
    answer = native_answer(as_tools([GCD]), max_calls=1)
    confidence = answer.field_confidence("None of the tools fits.", [(0, 4), (4, 23)], [-0.7, -0.1])
    assert confidence == {"calls": 0.4965853037914095}


def test_a_real_caller_answer_has_confidence_on_its_calls(pool) -> None:  # type: ignore[no-untyped-def]
    from smallagents import Run
    from smallagents.jobs.caller_pipeline import CallerPipeline
    from smallagents.registry import builtin_roles
    from smallagents.run import RoleSettings

    caller = builtin_roles()["caller"]
    run = Run(pool=pool, settings={"caller": RoleSettings(model="qwen-0.5b")})
    result = CallerPipeline(caller).run_unit(
        {"query": "What is the greatest common divisor of 12 and 18?", "tools": [GCD]},
        run=run,
        seed=1,
        unit_id="gcd",
    )
    (record,) = result.records
    assert result.outputs[0]["calls"][0]["name"] == "math.gcd"
    assert 0 < record.confidence["calls.0.name"] <= 1
    assert {"calls.0.arguments.a", "calls.0.arguments.b"} <= set(record.confidence)
