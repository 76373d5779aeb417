"""The evaluation pipeline: any job pipeline, scored against the expected answers.

It wraps the pipeline that ``smallagents run NAME`` would run. Each labeled
record loses its expected answer (and its split) before the pipeline sees it, so
no model can read the answer; the unit's first output record (or, when there is
none, its reject) is scored by the metric and carries an ``eval`` block: whether
it was right, per field, the expected answer, the split, and the confidence
signals of every role call (vote margin, share of votes, token confidence). The
job runner writes those records like any others, so an evaluation resumes after a
crash, runs on workers or Ray, and its report is computed from its files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smallagents.evaluation.metrics import Metric, metric_from_name
from smallagents.jobs.pipelines import Pipeline, UnitResult
from smallagents.run import RoleRecord, Run

EXPECTED_FIELD = "expected"
SPLIT_FIELD = "split"
KEPT = "kept"
"""``--metric judge --field kept``: judge a filter (``gra-curate``) by what it kept."""


@dataclass(frozen=True)
class EvalSpec:
    """How answers are scored: picklable, so Ray actors can rebuild the pipeline.

    Attributes:
        metric: a built-in metric name or ``module:function``.
        fields: the fields the metric looks at (metric-specific; empty: all).
        tolerance: the numeric metric's absolute tolerance.
        score_field: a numeric answer field to rank by (AUROC), for judges.
        expected_field: the labeled record's field holding the expected answer.
        splits: only records of these splits (empty: all).
    """

    metric: str = "exact"
    fields: tuple[str, ...] = ()
    tolerance: float = 1e-6
    score_field: str | None = None
    expected_field: str = EXPECTED_FIELD
    splits: tuple[str, ...] = field(default_factory=tuple)

    def build(self) -> Metric:
        return metric_from_name(
            self.metric, fields=self.fields, tolerance=self.tolerance, score_field=self.score_field
        )

    def describe(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "fields": list(self.fields),
            "tolerance": self.tolerance,
            "score_field": self.score_field,
            "expected_field": self.expected_field,
            "splits": list(self.splits),
        }


def role_signals(record: RoleRecord) -> dict[str, Any]:
    """The confidence signals of one role call, as JSON values."""
    confidence = dict(getattr(record, "confidence", {}) or {})
    votes = sum(record.votes.values()) if record.votes else 0
    top = max(record.votes.values()) if record.votes else 0
    return {
        "role": record.role,
        "model": record.model,
        "status": record.status,
        "escalation_reason": record.escalation_reason,
        "samples": record.samples,
        "red_flags": len(record.red_flags),
        "decided": record.decided,
        "margin": record.margin,
        "vote_share": round(top / votes, 6) if votes else None,
        "confidence": round(min(confidence.values()), 6) if confidence else None,
        "field_confidence": {key: round(value, 6) for key, value in sorted(confidence.items())},
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "seconds": round(record.seconds, 4),
    }


class EvalPipeline:
    """``pipeline`` with every unit scored against its labeled record's expected answer."""

    def __init__(self, pipeline: Pipeline, spec: EvalSpec) -> None:
        self.inner = pipeline
        self.spec = spec
        self.name = pipeline.name
        self._metric = spec.build()
        inner_settings = dict(getattr(pipeline, "settings", {}) or {})
        # The metric decides the eval block, so it is part of the resume check.
        self.settings: dict[str, Any] = {**inner_settings, "evaluation": spec.describe()}

    # The writer-thread hooks of a graph pipeline (dedupe and the like) still apply.
    def seeds(self, records: list[dict[str, Any]]) -> None:
        hook = getattr(self.inner, "seeds", None)
        if hook is not None:
            hook(records)

    def start(self, existing: list[dict[str, Any]]) -> None:
        hook = getattr(self.inner, "start", None)
        if hook is not None:
            hook(existing)

    def finish_unit(self, result: UnitResult) -> UnitResult:
        hook = getattr(self.inner, "finish_unit", None)
        return hook(result) if hook is not None else result

    def required_fields(self) -> tuple[str, ...]:
        return (*self.inner.required_fields(), self.spec.expected_field)

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        expected = data[self.spec.expected_field]
        split = data.get(SPLIT_FIELD)
        hidden = {self.spec.expected_field, SPLIT_FIELD}
        inputs = {key: value for key, value in data.items() if key not in hidden}
        result = self.inner.run_unit(inputs, run=run, seed=seed, unit_id=unit_id)
        answer = result.outputs[0] if result.outputs else None
        if self.spec.fields == (KEPT,):
            # A filter's verdict is whether it kept the record: a reject is its answer.
            kept = answer is not None
            answer = {**(answer or (result.rejects[0] if result.rejects else {})), KEPT: kept}
        score = self._metric(answer, expected)
        block = {
            "correct": score.correct,
            "fields": dict(score.fields),
            "score": _finite(score.score),
            "detail": score.detail,
            "expected": expected,
            "split": split,
            "answered": answer is not None,
            "roles": [role_signals(record) for record in result.records],
        }
        if result.outputs:
            result.outputs[0]["eval"] = block
        elif result.rejects:
            result.rejects[0]["eval"] = block
        else:
            result.rejects.append(
                {"id": unit_id, "seed_id": data.get("id"), "reason": "no answer", "eval": block}
            )
        return result


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


__all__ = ["EvalPipeline", "EvalSpec", "role_signals"]
