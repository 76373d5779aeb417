"""The low-confidence trigger: escalate when the decoder was unsure of the answer.

Real models on both sides: SmolLM2-135M answers, Gemma 270M (in process) is the
fallback. The decoder's per-field confidence is a probability, so thresholds of
0 (never) and 1 (always: no sampled value is certain under a real model's
distribution... unless the grammar leaves one choice, tested too) force each branch
deterministically.
"""

from __future__ import annotations

from typing import Literal

import pydantic
import pytest

from smallagents import EscalationPolicy, Run, role
from smallagents.errors import RoleDefinitionError
from smallagents.role import lowest_confidence
from smallagents.run import RoleSettings


class Sentiment(pydantic.BaseModel):
    label: Literal["positive", "negative"]


def _sentiment(threshold: float | None, fields: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    @role(
        name="conf_sentiment",
        max_tokens=16,
        escalation=EscalationPolicy(
            fallback="gemma-270m", min_confidence=threshold, confidence_fields=fields
        ),
    )
    def conf_sentiment(text: str) -> Sentiment:
        """Is this review positive or negative? {text}"""

    return conf_sentiment


def test_below_the_threshold_the_fallback_answers(pool) -> None:  # type: ignore[no-untyped-def]
    run = Run(pool=pool)
    record = _sentiment(1.0).invoke({"text": "Great film, loved it."}, run=run)
    assert record.escalation_reason == "low_confidence"
    assert record.status == "escalated" and record.model == "gemma-270m"
    assert "below 1.0" in record.detail
    # The recorded confidence is the small model's, the one the trigger read.
    assert 0 < record.confidence["label"] < 1


def test_at_a_zero_threshold_nothing_escalates(pool) -> None:  # type: ignore[no-untyped-def]
    run = Run(pool=pool)
    record = _sentiment(0.0).invoke({"text": "Great film, loved it."}, run=run)
    assert record.status == "ok" and record.escalation_reason is None
    assert record.model == "default"


def test_a_run_setting_overrides_the_role(pool) -> None:  # type: ignore[no-untyped-def]
    # [roles.conf_sentiment] min_confidence = 1.0 in smallagents.toml does this.
    run = Run(pool=pool, settings={"conf_sentiment": RoleSettings(min_confidence=1.0)})
    record = _sentiment(None).invoke({"text": "Awful, boring, too long."}, run=run)
    assert record.escalation_reason == "low_confidence"


def test_a_field_the_grammar_fixes_is_certain(pool) -> None:  # type: ignore[no-untyped-def]
    schema = {
        "type": "object",
        "properties": {"kind": {"const": "review"}, "label": {"enum": ["positive", "negative"]}},
        "required": ["kind", "label"],
    }

    @role(
        name="conf_fixed",
        schema=schema,
        max_tokens=24,
        escalation=EscalationPolicy(
            fallback="gemma-270m", min_confidence=0.999, confidence_fields=("kind",)
        ),
    )
    def conf_fixed(text: str) -> dict:  # type: ignore[type-arg]
        """Is this review positive or negative? {text}"""

    record = conf_fixed.invoke({"text": "Great film."}, run=Run(pool=pool))
    assert record.confidence["kind"] == pytest.approx(1.0)
    assert record.status == "ok"  # only "kind" counts, and the grammar left it no choice


def test_lowest_confidence_reads_prefixes() -> None:
    confidence = {"calls.0.name": 0.9, "calls.0.arguments.city": 0.4, "thought": 0.2}
    assert lowest_confidence(confidence) == 0.2
    assert lowest_confidence(confidence, ("calls",)) == 0.4
    assert lowest_confidence(confidence, ("calls.0.name",)) == 0.9
    assert lowest_confidence(confidence, ("missing",)) is None
    assert lowest_confidence({}, ()) is None


def test_a_threshold_must_be_a_probability() -> None:
    with pytest.raises(RoleDefinitionError, match="not a probability"):
        _sentiment(1.5)
