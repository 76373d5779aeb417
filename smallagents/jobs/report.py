"""The job report: counts, rates, tokens, latency per role and cost, over the whole job.

Built from the per-unit stats kept in the job state, so a job that was resumed
five times reports on all of its units, not just the last process's.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any


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
    stats: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    seconds_this_run: float,
) -> dict[str, Any]:
    """Aggregate the per-unit stats of a job into its report."""
    kept = sum(s["kept"] for s in stats)
    rejected = sum(s["rejected"] for s in stats)
    reasons = [reason for s in stats for reason in s.get("reject_reasons", [])]
    roles = [r for s in stats for r in s["roles"]]
    samples = sum(r["samples"] for r in roles)
    red_flags = sum(r["red_flags"] for r in roles)
    escalated = sum(r["escalated"] for r in roles)
    cost = sum(r["cost"] for r in roles)
    per_role: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in roles:
        per_role[record["role"]].append(record)
    role_table = {}
    for name, records in sorted(per_role.items()):
        p50, p95 = _quantiles([r["seconds"] for r in records])
        role_table[name] = {
            "calls": len(records),
            "p50_seconds": p50,
            "p95_seconds": p95,
            "samples": sum(r["samples"] for r in records),
            "red_flags": sum(r["red_flags"] for r in records),
            "escalated": sum(r["escalated"] for r in records),
            "unresolved": sum(r["status"] == "unresolved" for r in records),
            "prompt_tokens": sum(r["prompt_tokens"] for r in records),
            "completion_tokens": sum(r["completion_tokens"] for r in records),
            "cost": sum(r["cost"] for r in records),
        }
    judged = kept + rejected
    return {
        "pipeline": pipeline,
        "options": options,
        "units": {"total": units_total, "done": len(stats)},
        "records": {"accepted": kept, "rejected": rejected},
        "rates": {
            "acceptance": kept / judged if judged else None,
            "adjudication": sum(s.get("adjudicated", 0) for s in stats) / judged
            if judged
            else None,
            "escalation": escalated / len(roles) if roles else None,
            "schema_validity": (samples - red_flags) / samples if samples else None,
            "duplicates_removed": sum("duplicate" in reason for reason in reasons),
        },
        "tokens": {
            "prompt": sum(r["prompt_tokens"] for r in roles),
            "completion": sum(r["completion_tokens"] for r in roles),
        },
        "seconds": {
            "this_run": seconds_this_run,
            "model_time_all_runs": sum(r["seconds"] for r in roles),
        },
        "roles": role_table,
        "cost": {"total": cost, "per_accepted_record": cost / kept if kept else None},
        "skipped_lines": skipped,
    }
