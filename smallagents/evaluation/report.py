"""The evaluation report, computed from an evaluation job's output and rejects files.

Every unit's record carries its ``eval`` block (see ``.pipeline``); the report
adds them up: accuracy with a Wilson interval (overall and per split), per-field
accuracy, schema validity, samples and red flags, escalations and their reasons,
per-role figures, AUROC of the judge's score against the labels, and for each
confidence signal (vote margin, vote share, token confidence) how well it ranks
right above wrong answers and the cost-quality curve of escalating below a
threshold: with a large model's answers on the same records, the threshold that
reaches a target accuracy with the least escalation.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from smallagents.evaluation.metrics import verdict_of
from smallagents.evaluation.stats import auroc, cost_quality_curve, pick_threshold, wilson

SIGNALS = ("confidence", "margin", "vote_share")


def read_eval_blocks(*paths: Path) -> dict[str, dict[str, Any]]:
    """Unit id -> (record, eval block), from output and rejects JSONL files."""
    units: dict[str, dict[str, Any]] = {}
    for path in paths:
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                block = record.get("eval")
                if isinstance(block, dict) and str(record.get("id")) not in units:
                    units[str(record.get("id"))] = {"record": record, "eval": block}
    return units


def _accuracy(blocks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    n = len(blocks)
    right = sum(bool(b["correct"]) for b in blocks)
    low, high = wilson(right, n)
    return {
        "n": n,
        "correct": right,
        "accuracy": right / n if n else None,
        "ci95": [round(low, 4), round(high, 4)],
    }


def _main_role(block: Mapping[str, Any]) -> Mapping[str, Any] | None:
    # The last role call answered the unit (a caller, a judge); graphs with several
    # roles report every role's figures separately below.
    roles = block.get("roles") or []
    return roles[-1] if roles else None


def _roles(blocks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    per_role: dict[str, dict[str, Any]] = {}
    for block in blocks:
        for signals in block.get("roles") or []:
            figures = per_role.setdefault(
                signals["role"],
                {
                    "calls": 0,
                    "samples": 0,
                    "red_flags": 0,
                    "escalated": 0,
                    "unresolved": 0,
                    "escalation_reasons": Counter(),
                    "models": Counter(),
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "seconds": 0.0,
                    "units_correct": 0,
                },
            )
            figures["calls"] += 1
            figures["samples"] += signals["samples"]
            figures["red_flags"] += signals["red_flags"]
            figures["escalated"] += signals["status"] == "escalated"
            figures["unresolved"] += signals["status"] == "unresolved"
            if signals.get("escalation_reason"):
                figures["escalation_reasons"][signals["escalation_reason"]] += 1
            figures["models"][signals["model"]] += 1
            figures["prompt_tokens"] += signals["prompt_tokens"]
            figures["completion_tokens"] += signals["completion_tokens"]
            figures["seconds"] += signals["seconds"]
            figures["units_correct"] += bool(block["correct"])
    for figures in per_role.values():
        samples = figures["samples"]
        figures["schema_validity"] = 1 - figures["red_flags"] / samples if samples else None
        figures["escalation_rate"] = figures["escalated"] / figures["calls"]
        figures["seconds_per_call"] = figures["seconds"] / figures["calls"]
        # p for k_min: the chance one call of this role is right, measured where the
        # unit's correctness is this role's (one call per unit).
        figures["p"] = figures["units_correct"] / figures["calls"]
        figures["escalation_reasons"] = dict(figures["escalation_reasons"])
        figures["models"] = dict(figures["models"])
        figures["seconds"] = round(figures["seconds"], 3)
        del figures["units_correct"]
    return per_role


def _fields(blocks: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    for block in blocks:
        for name, ok in (block.get("fields") or {}).items():
            totals[name] += 1
            right[name] += bool(ok)
    return {name: right[name] / totals[name] for name in sorted(totals)}


def _judge(blocks: Sequence[Mapping[str, Any]], verdict_field: str) -> dict[str, Any]:
    labels = [verdict_of(_label(b["expected"])) for b in blocks]
    out: dict[str, Any] = {}
    scored = [
        (b["score"], lab) for b, lab in zip(blocks, labels, strict=True) if b["score"] is not None
    ]
    if scored:
        out["score_auroc"] = auroc([s for s, _ in scored], [bool(lab) for _, lab in scored])
    # P(accept) from the decoder: the verdict's own probability, turned to "accept".
    p_accept: list[tuple[float, bool]] = []
    for block, label in zip(blocks, labels, strict=True):
        main = _main_role(block)
        record_verdict = block.get("verdict")
        confidence = (main or {}).get("field_confidence", {}).get(verdict_field)
        if confidence is None or record_verdict is None or label is None:
            continue
        p_accept.append((confidence if record_verdict else 1 - confidence, label))
    if p_accept:
        out["p_accept_auroc"] = auroc([p for p, _ in p_accept], [lab for _, lab in p_accept])
    accepted = [b for b, lab in zip(blocks, labels, strict=True) if lab]
    rejected = [b for b, lab in zip(blocks, labels, strict=True) if lab is False]
    out["accuracy_on_good"] = _accuracy(accepted)["accuracy"]
    out["accuracy_on_bad"] = _accuracy(rejected)["accuracy"]
    return out


def _label(expected: Any) -> Any:
    return expected.get("label") if isinstance(expected, Mapping) else expected


def signal_values(blocks: Sequence[Mapping[str, Any]], signal: str) -> list[float | None]:
    """One signal per unit from its answering role call; a unit with no answer is -inf."""
    values: list[float | None] = []
    for block in blocks:
        main = _main_role(block)
        if main is None or not block.get("answered"):
            values.append(-math.inf)  # nothing to keep: always escalates
            continue
        value = main.get(signal)
        values.append(float(value) if isinstance(value, int | float) else None)
    return values


def _signals(
    blocks: Sequence[Mapping[str, Any]],
    large: Mapping[str, bool] | None,
    ids: Sequence[str],
    target: float | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for signal in SIGNALS:
        values = signal_values(blocks, signal)
        known = [(v, b, i) for v, b, i in zip(values, blocks, ids, strict=True) if v is not None]
        if not known or len({v for v, _, _ in known}) < 2:
            continue
        small = [bool(b["correct"]) for _, b, _ in known]
        large_right = [large.get(i, False) for _, _, i in known] if large is not None else None
        curve = cost_quality_curve([v for v, _, _ in known], small, large_right)
        finite = [(v, ok) for (v, _, _), ok in zip(known, small, strict=True) if math.isfinite(v)]
        entry: dict[str, Any] = {
            "units": len(known),
            "auroc_right_vs_wrong": auroc([v for v, _ in finite], [ok for _, ok in finite]),
            "curve": [
                {
                    "threshold": _json_number(p.threshold),
                    "escalated_share": round(p.escalated_share, 4),
                    "accuracy": None if p.accuracy is None else round(p.accuracy, 4),
                    "kept_accuracy": None if p.kept_accuracy is None else round(p.kept_accuracy, 4),
                }
                for p in curve
            ],
        }
        if target is not None:
            chosen = pick_threshold(curve, target)
            entry["target"] = target
            entry["chosen"] = (
                None
                if chosen is None
                else {
                    "threshold": _json_number(chosen.threshold),
                    "escalated_share": round(chosen.escalated_share, 4),
                    "accuracy": chosen.accuracy,
                    "kept_accuracy": chosen.kept_accuracy,
                }
            )
        out[signal] = entry
    return out


def _json_number(value: float) -> float | str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return round(value, 6)


def build_eval_report(
    units: Mapping[str, Mapping[str, Any]],
    *,
    spec: Mapping[str, Any],
    large: Mapping[str, Mapping[str, Any]] | None = None,
    target: float | None = None,
    job: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report of one evaluation.

    Args:
        units: unit id -> ``{"record", "eval"}`` (see ``read_eval_blocks``).
        spec: the evaluation's settings (metric, fields), recorded in the report.
        large: the same units answered by the large model, for routing curves.
        target: the accuracy a routing threshold must reach (default: the large
            model's accuracy, when its answers are given).
        job: the job runner's report (tokens, time, cost, p50/p95 per role).
    """
    ids = sorted(units)
    blocks = [dict(units[i]["eval"], verdict=_record_verdict(units[i], spec)) for i in ids]
    report: dict[str, Any] = {"evaluation": dict(spec), **_accuracy(blocks)}
    splits = sorted({str(b.get("split")) for b in blocks if b.get("split") is not None})
    report["splits"] = {
        name: _accuracy([b for b in blocks if str(b.get("split")) == name]) for name in splits
    }
    report["answered"] = sum(bool(b.get("answered")) for b in blocks)
    report["fields"] = _fields(blocks)
    report["roles"] = _roles(blocks)
    if spec.get("metric") == "judge":
        verdict_field = (spec.get("fields") or ["verdict"])[0]
        report["judge"] = _judge(blocks, verdict_field)
    large_correct: dict[str, bool] | None = None
    if large is not None:
        large_correct = {i: bool(large[i]["eval"]["correct"]) for i in ids if i in large}
        large_blocks = [large[i]["eval"] for i in ids if i in large]
        report["large"] = _accuracy(large_blocks)
        if target is None:
            target = report["large"]["accuracy"]
    report["signals"] = _signals(blocks, large_correct, ids, target)
    if job is not None:
        report["job"] = {key: job.get(key) for key in ("tokens", "seconds", "cost", "rates")}
        for role, figures in (job.get("roles") or {}).items():
            if role in report["roles"]:
                report["roles"][role]["p50_seconds"] = figures.get("p50_seconds")
                report["roles"][role]["p95_seconds"] = figures.get("p95_seconds")
    return report


def _record_verdict(unit: Mapping[str, Any], spec: Mapping[str, Any]) -> bool | None:
    if spec.get("metric") != "judge":
        return None
    verdict_field = (spec.get("fields") or ["verdict"])[0]
    return verdict_of(unit["record"].get(verdict_field))


def summary_rows(report: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """The report's headline figures as (label, value) rows for a terminal table."""

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    low, high = report["ci95"]
    yield "units", str(report["n"])
    yield "accuracy (95% CI)", f"{pct(report['accuracy'])} ({low:.3f}-{high:.3f})"
    for name, figures in report["splits"].items():
        yield f"accuracy, split {name}", f"{pct(figures['accuracy'])} (n={figures['n']})"
    yield "answered", str(report["answered"])
    for name, value in report["fields"].items():
        yield f"field {name}", pct(value)
    for role, figures in report["roles"].items():
        yield f"{role}: schema validity", pct(figures["schema_validity"])
        yield f"{role}: escalation rate", pct(figures["escalation_rate"])
        yield f"{role}: samples / red flags", f"{figures['samples']} / {figures['red_flags']}"
        yield f"{role}: s per call", f"{figures['seconds_per_call']:.2f}"
    for key, value in (report.get("judge") or {}).items():
        yield f"judge {key}", pct(value)
    if "large" in report:
        yield "large model accuracy", pct(report["large"]["accuracy"])
    for signal, entry in report["signals"].items():
        yield f"{signal}: AUROC right vs wrong", pct(entry["auroc_right_vs_wrong"])
        chosen = entry.get("chosen")
        if chosen is not None:
            reached = (
                chosen["accuracy"] if chosen["accuracy"] is not None else chosen["kept_accuracy"]
            )
            yield (
                f"{signal}: escalate below",
                f"{chosen['threshold']} -> {chosen['escalated_share']:.0%} escalated, "
                f"accuracy {pct(reached)}",
            )
