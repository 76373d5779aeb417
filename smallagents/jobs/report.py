"""The job report: counts, rates, tokens, latency per role and cost, over the whole job.

Built from the per-unit stats kept in the job state, so a job that was resumed
five times reports on all of its units, not just the last process's.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from smallagents.tools import TOOL_CALLS


def _quantiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(sorted(values), n=100, method="inclusive")
    return cuts[49], cuts[94]


def build_report(
    *,
    pipeline: str,
    options: dict[str, Any],
    units_total: int,
    stats: Iterable[Mapping[str, Any]],
    skipped: list[dict[str, Any]],
    seconds_this_run: float,
) -> dict[str, Any]:
    """Aggregate the per-unit stats of a job into its report, in one pass.

    ``stats`` may be a generator straight from the job state: only totals and each
    role's call durations (for p50/p95) are kept, so a report on 30,000 units no
    longer holds every unit's stats at once (it cost 50 MB more than the job
    itself; ``benchmarks/load.py``).
    """
    total = _Totals(durations=None)  # the job's durations are summed, not kept
    per_role: dict[str, _Totals] = defaultdict(_Totals)
    units = kept = rejected = adjudicated = duplicates = 0
    counters: dict[str, int] = defaultdict(int)
    for unit in stats:
        units += 1
        for name, count in unit.get("counters", {}).items():
            counters[name] += count
        kept += unit["kept"]
        rejected += unit["rejected"]
        adjudicated += unit.get("adjudicated", 0)
        duplicates += sum("duplicate" in reason for reason in unit.get("reject_reasons", []))
        for record in unit["roles"]:
            total.add(record)
            per_role[record["role"]].add(record)
    role_table = {}
    for name, figures in sorted(per_role.items()):
        p50, p95 = _quantiles(figures.durations or [])
        role_table[name] = {
            "calls": figures.calls,
            "p50_seconds": p50,
            "p95_seconds": p95,
            "samples": figures.samples,
            "red_flags": figures.red_flags,
            "escalated": figures.escalated,
            "unresolved": figures.unresolved,
            "prompt_tokens": figures.prompt_tokens,
            "completion_tokens": figures.completion_tokens,
            # In-process models only: what the prefill evaluated against what the
            # context or the prefix cache already held (this run's units).
            "prompt_tokens_evaluated": counters.get(f"prompt_tokens.evaluated.{name}", 0),
            "prompt_tokens_reused": counters.get(f"prompt_tokens.reused.{name}", 0),
            "cost": figures.cost,
        }
    judged = kept + rejected
    samples, red_flags = total.samples, total.red_flags
    return {
        "pipeline": pipeline,
        "options": options,
        "units": {"total": units_total, "done": units},
        "records": {"accepted": kept, "rejected": rejected},
        "rates": {
            "acceptance": kept / judged if judged else None,
            "adjudication": adjudicated / judged if judged else None,
            "escalation": total.escalated / total.calls if total.calls else None,
            "schema_validity": (samples - red_flags) / samples if samples else None,
            "duplicates_removed": duplicates,
        },
        "tokens": {"prompt": total.prompt_tokens, "completion": total.completion_tokens},
        "seconds": {"this_run": seconds_this_run, "model_time_all_runs": total.seconds},
        "roles": role_table,
        "tool_calls": _tool_calls(counters),
        "counters": dict(sorted(counters.items())),
        "cost": {"total": total.cost, "per_accepted_record": total.cost / kept if kept else None},
        "skipped_lines": skipped,
    }


def _tool_calls(counters: Mapping[str, int]) -> dict[str, Any]:
    """Tool calls by outcome: ran, failed (any other status but a refusal), refused."""
    by_status = {
        name.removeprefix(TOOL_CALLS): count
        for name, count in sorted(counters.items())
        if name.startswith(TOOL_CALLS)
    }
    total = sum(by_status.values())
    ok = by_status.get("ok", 0)
    refused = by_status.get("needs_confirmation", 0)
    return {
        "total": total,
        "ok": ok,
        "failed": total - ok - refused,
        "needs_confirmation": refused,
        "by_status": by_status,
    }


@dataclass
class _Totals:
    """Running sums over role calls (all of a job's, or one role's)."""

    calls: int = 0
    samples: int = 0
    red_flags: int = 0
    escalated: int = 0
    unresolved: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    durations: list[float] | None = field(default_factory=list)
    """Each call's seconds, for quantiles (``None``: not kept)."""

    def add(self, record: Mapping[str, Any]) -> None:
        self.calls += 1
        self.samples += record["samples"]
        self.red_flags += record["red_flags"]
        self.escalated += record["escalated"]
        self.unresolved += record["status"] == "unresolved"
        self.prompt_tokens += record["prompt_tokens"]
        self.completion_tokens += record["completion_tokens"]
        self.cost += record["cost"]
        self.seconds += record["seconds"]
        if self.durations is not None:
            self.durations.append(record["seconds"])
