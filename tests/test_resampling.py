"""Model.generate's red-flag handling, driven by a scripted model (exact sequences)."""

from __future__ import annotations

import pytest

from smallagents.errors import StructuredOutputError
from smallagents.models.base import RESAMPLE_TEMPERATURE
from smallagents.testing import ScriptedModel

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "integer", "minimum": 0, "maximum": 9}},
    "required": ["answer"],
}


def test_invalid_output_is_discarded_and_resampled_with_the_next_seed() -> None:
    model = ScriptedModel(['{"answer":', {"answer": 12}, {"answer": 7}])
    generation = model.generate("q", schema=SCHEMA, seed=100, attempts=3)
    assert generation.value == {"answer": 7}
    assert generation.attempts == 3
    assert len(generation.red_flags) == 2
    assert "invalid JSON" in generation.red_flags[0]
    assert "schema" in generation.red_flags[1]
    assert [call.seed for call in model.calls] == [100, 101, 102]
    assert generation.seed == 102


def test_truncated_output_is_a_red_flag_even_when_it_parses() -> None:
    model = ScriptedModel(['{"answer":1}' + ScriptedModel.TRUNCATED, {"answer": 1}])
    generation = model.generate("q", schema=SCHEMA, attempts=2)
    assert generation.attempts == 2
    assert "truncated" in generation.red_flags[0]


def test_exhausted_attempts_raise_with_everything_a_handler_needs() -> None:
    model = ScriptedModel(["nope"], repeat_last=True)
    with pytest.raises(StructuredOutputError) as caught:
        model.generate("q", schema=SCHEMA, attempts=4, role="judge")
    error = caught.value
    assert error.attempts == 4
    assert error.last_output == "nope"
    assert error.role == "judge"
    assert len(error.red_flags) == 4
    assert error.escalatable is True
    assert "\n" not in str(error) and "Fix:" in str(error)
    assert len(model.calls) == 4


def test_tokens_and_seconds_add_up_over_attempts() -> None:
    model = ScriptedModel(["x" * 40, {"answer": 3}])
    generation = model.generate("one two three", schema=SCHEMA, attempts=2)
    assert generation.prompt_tokens == 6  # 3 words per call, two calls
    assert generation.completion_tokens == 10 + 3


def test_without_schema_there_is_exactly_one_call_and_no_value() -> None:
    model = ScriptedModel(["free text"])
    generation = model.generate("q", attempts=5)
    assert generation.text == "free text"
    assert generation.value is None
    assert len(model.calls) == 1


def test_a_greedy_call_resamples_at_a_temperature_that_can_change_the_answer() -> None:
    model = ScriptedModel(["bad", {"answer": 1}])
    model.generate("q", schema=SCHEMA, temperature=0.0, attempts=2)
    assert [call.temperature for call in model.calls] == [0.0, RESAMPLE_TEMPERATURE]
