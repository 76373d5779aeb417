"""The report's Plotly figures, one per question the page answers (``None``: nothing to show)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from smallagents.errors import UsageError
from smallagents.jobs.html_report._aggregate import ReportData


def require_plotly() -> Any:
    """``plotly.graph_objects``, or a one-line `UsageError` with the install line."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise UsageError(
            "The HTML report needs plotly, which is not installed.",
            fix="pip install 'smallagents[report]' (or pip install plotly).",
        ) from None
    return go


def build_figures(data: ReportData) -> list[tuple[str, str, Any]]:
    """``(id, title, figure or None)`` for every plot; ``None``: nothing to show."""
    go = require_plotly()
    agg = data.aggregates
    figures: list[tuple[str, str, Any]] = []

    def bar(counts: Mapping[Any, int], *, horizontal: bool = True, name: str = "") -> Any:
        items = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
        labels, values = [str(k) for k, _ in items], [v for _, v in items]
        trace = (
            go.Bar(x=values, y=labels, orientation="h", name=name, text=values)
            if horizontal
            else go.Bar(x=labels, y=values, name=name, text=values)
        )
        figure = go.Figure(trace)
        if horizontal:
            figure.update_yaxes(autorange="reversed")
        return figure

    figures.append(
        ("plot-outcomes", "Where the records went", bar(agg.outcomes) if agg.outcomes else None)
    )
    figures.append(("plot-reasons", "Rejection reasons", bar(agg.reasons) if agg.reasons else None))
    figures.append(("plot-checks", "Free checks failed", bar(agg.checks) if agg.checks else None))
    if agg.scores:
        scores = go.Figure(
            [
                go.Bar(
                    x=list(range(1, 11)),
                    y=[agg.scores[name][score] for score in range(1, 11)],
                    name=name,
                )
                for name in agg.reviewers
                if name in agg.scores
            ]
        )
        scores.update_layout(barmode="group", xaxis={"title": "score", "dtick": 1})
        scores.update_yaxes(title="reviews")
    figures.append(("plot-scores", "Scores per reviewer", scores if agg.scores else None))
    names = [n for n in agg.reviewers if n in agg.scores] + ["final decision"]
    if len(names) > 1 and agg.both:
        matrix = [
            [
                1.0 if a == b else _share(agg.agree[_pair(a, b)], agg.both[_pair(a, b)])
                for b in names
            ]
            for a in names
        ]
        text = [["" if value is None else f"{value:.2f}" for value in row] for row in matrix]
        agreement = go.Figure(
            go.Heatmap(
                z=matrix, x=names, y=names, text=text, texttemplate="%{text}", zmin=0, zmax=1,
                colorscale="Blues",
            )
        )  # fmt: skip
        agreement.update_yaxes(autorange="reversed")
    figures.append(
        (
            "plot-agreement",
            "Reviewer agreement (share of records with the same accept/reject)",
            agreement if len(names) > 1 and agg.both else None,
        )
    )
    figures.append(
        (
            "plot-adjudicated",
            "Why the adjudicator was asked",
            bar(agg.disagreements) if agg.disagreements else None,
        )
    )
    escalations = Counter({f"{role}: {reason}": n for (role, reason), n in agg.escalations.items()})
    figures.append(
        (
            "plot-escalations",
            "Escalations and their reasons",
            bar(escalations) if escalations else None,
        )
    )
    if agg.latency:
        latency = go.Figure(
            [
                go.Box(y=values, name=role, boxpoints=False)
                for role, values in sorted(agg.latency.items())
            ]
        )
        latency.update_yaxes(title="seconds per call")
        tokens = go.Figure(
            [
                go.Bar(
                    x=sorted(agg.tokens),
                    y=[agg.tokens[role][kind] for role in sorted(agg.tokens)],
                    name=f"{kind} tokens",
                )
                for kind in ("prompt", "completion")
            ]
        )
        tokens.update_layout(barmode="group")
    figures.append(("plot-latency", "Latency per role", latency if agg.latency else None))
    figures.append(("plot-tokens", "Tokens per role", tokens if agg.latency else None))
    if agg.timeline:
        points = list(agg.timeline)
        if agg.last_point is not None and points[-1] != agg.last_point:
            points.append(agg.last_point)  # the line ends at the last committed unit
        start = points[0][0] if agg.timed else 0.0
        x = [(t - start) / 60 for t, _, _ in points]
        throughput = go.Figure(
            [
                go.Scatter(x=x, y=[n for _, n, _ in points], mode="lines", name="units done"),
                go.Scatter(x=x, y=[k for _, _, k in points], mode="lines", name="records kept"),
            ]
        )
        axis = "minutes since the first unit" if agg.timed else "model minutes, summed over units"
        throughput.update_xaxes(title=axis)
    figures.append(
        ("plot-throughput", "Throughput over time", throughput if agg.timeline else None)
    )
    for _, _, figure in figures:
        if figure is not None:
            figure.update_layout(
                height=340, margin={"l": 40, "r": 20, "t": 30, "b": 40}, template="plotly_white"
            )
    return figures


def _pair(a: str, b: str) -> tuple[str, str]:
    """The key of two names in the agreement counters: in sorted order."""
    first, second = sorted((a, b))
    return first, second


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
