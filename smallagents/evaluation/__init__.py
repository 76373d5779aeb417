"""Evaluation: how often a role or pipeline is right, on labeled records.

``smallagents eval NAME --input labeled.jsonl`` on the command line;
``evaluate`` from Python. Both run a job (resumable, on workers or Ray) and
return a report: accuracy with a 95% Wilson interval, per-field accuracy, schema
validity, escalations, per-role figures (``p`` for ``smallagents.voting.k_min``),
judge AUROC, and cost-quality curves of the confidence signals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smallagents.evaluation.metrics import (
    Metric,
    Score,
    call_matches,
    exact,
    function_calls,
    judge,
    numeric,
    set_match,
)
from smallagents.evaluation.pipeline import EvalPipeline, EvalSpec
from smallagents.evaluation.stats import auroc, cost_quality_curve, pick_threshold, wilson


def evaluate(
    name: str,
    input: str | Path,
    *,
    metric: str = "exact",
    fields: tuple[str, ...] = (),
    output: str | Path | None = None,
    report: str | Path | None = None,
    large: str | None = None,
    target: float | None = None,
    split: tuple[str, ...] = (),
    quiet: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Evaluate ``name`` (a role, graph or pipeline) on a labeled file; see ``smallagents eval``.

    ``options`` are the job's (``model=["ROLE=SPEC"]``, ``votes``, ``fallback``,
    ``workers``, ``config``, ``roles``, ``graphs``, ``fresh``, ...), as for the CLI.
    """
    from smallagents.evaluation.job import run_evaluation

    return run_evaluation(
        name,
        input=Path(input),
        metric=metric,
        field=list(fields),
        split=list(split),
        output=Path(output) if output is not None else None,
        report=Path(report) if report is not None else None,
        large=large,
        target=target,
        quiet=quiet,
        **options,
    )


__all__ = [
    "EvalPipeline",
    "EvalSpec",
    "Metric",
    "Score",
    "auroc",
    "call_matches",
    "cost_quality_curve",
    "evaluate",
    "exact",
    "function_calls",
    "judge",
    "numeric",
    "pick_threshold",
    "set_match",
    "wilson",
]
