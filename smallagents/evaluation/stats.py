"""Statistics of an evaluation: intervals, AUROC, and cost-quality curves of a signal."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); ``(0, 1)`` for n = 0."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def auroc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """Area under the ROC curve: the chance a positive scores above a negative (ties half).

    ``None`` when there are no positives or no negatives.
    """
    pairs = sorted(zip(scores, positives, strict=True), key=lambda pair: pair[0])
    n_pos = sum(positives)
    n_neg = len(pairs) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    # Rank sum with average ranks for ties (Mann-Whitney U).
    rank_sum = 0.0
    index = 0
    while index < len(pairs):
        end = index
        while end + 1 < len(pairs) and pairs[end + 1][0] == pairs[index][0]:
            end += 1
        average_rank = (index + end) / 2 + 1
        rank_sum += average_rank * sum(1 for _, positive in pairs[index : end + 1] if positive)
        index = end + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclass(frozen=True)
class CurvePoint:
    """Escalate every unit whose signal is below ``threshold``.

    Attributes:
        threshold: the signal value below which a unit escalates.
        escalated_share: the share of units that escalate.
        accuracy: accuracy over all units: the small answer where kept, the large
            model's where escalated (or, without large answers, the kept units'
            accuracy: ``kept_accuracy``).
        kept_accuracy: accuracy of the small model on the units it keeps.
    """

    threshold: float
    escalated_share: float
    accuracy: float | None
    kept_accuracy: float | None


def cost_quality_curve(
    signal: Sequence[float],
    small_correct: Sequence[bool],
    large_correct: Sequence[bool] | None = None,
) -> list[CurvePoint]:
    """Every distinct threshold of ``signal``, from escalating nothing to escalating all."""
    n = len(signal)
    if n == 0:
        return []
    thresholds = [*sorted(set(signal)), math.inf]
    points: list[CurvePoint] = []
    for threshold in [-math.inf, *thresholds]:
        escalate = [value < threshold for value in signal]
        kept = [ok for ok, up in zip(small_correct, escalate, strict=True) if not up]
        kept_accuracy = sum(kept) / len(kept) if kept else None
        accuracy: float | None = None
        if large_correct is not None:
            total = sum(
                (large if up else small)
                for small, large, up in zip(small_correct, large_correct, escalate, strict=True)
            )
            accuracy = total / n
        points.append(
            CurvePoint(
                threshold=threshold,
                escalated_share=sum(escalate) / n,
                accuracy=accuracy,
                kept_accuracy=kept_accuracy,
            )
        )
    return points


def pick_threshold(points: Sequence[CurvePoint], target: float) -> CurvePoint | None:
    """The least escalation whose accuracy reaches ``target`` (None when none does).

    Uses combined accuracy where large answers are known, else the kept accuracy.
    """
    reaching = [
        point
        for point in points
        if (point.accuracy if point.accuracy is not None else point.kept_accuracy) is not None
        and (point.accuracy if point.accuracy is not None else point.kept_accuracy or 0.0) >= target
    ]
    if not reaching:
        return None
    return min(reaching, key=lambda point: (point.escalated_share, point.threshold))
