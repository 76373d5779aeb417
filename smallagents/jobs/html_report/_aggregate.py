"""Summing a job for its page in one pass: the records, the units' stats, the table's rows."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from smallagents.errors import UsageError
from smallagents.jobs.html_report._read import JobFiles, read_records, read_state
from smallagents.jobs.report import build_report

MAX_ROWS = 2000
"""Records of each kind (accepted, rejected) the table holds by default."""
_TEXT_LIMIT = 2000
"""Characters of one text field the table keeps."""
_POINTS = 2000
"""At most about this many points per plotted series (every k-th beyond that)."""


def reason_category(reason: str) -> str:
    """A reject reason without its particulars: what a chart can count."""
    if reason.startswith("free check: "):
        return "free check"
    for prefix in ("duplicate instruction", "near duplicate", "exact duplicate", "unresolved"):
        if reason.startswith(prefix):
            return prefix
    text = re.sub(r"\s*\([^)]*\)", "", reason)  # "(scores 2, 3)", "(similarity 0.8)"
    return text.split(":", 1)[0].strip() or "no reason given"


class Thinned(list):  # type: ignore[type-arg]
    """A series that keeps every k-th value, doubling k whenever it holds 2 x ``limit``
    values, so that a million points become at most about ``limit`` to ``2 x limit``."""

    def __init__(self, limit: int = _POINTS) -> None:
        super().__init__()
        self.limit, self.step, self.seen = limit, 1, 0

    def offer(self, value: Any) -> None:
        self.seen += 1
        if (self.seen - 1) % self.step == 0:
            self.append(value)
            if len(self) >= 2 * self.limit:
                del self[1::2]
                self.step *= 2


@dataclass
class Aggregates:
    """Everything the plots show, summed in one pass over the records and the unit stats."""

    accepted: int = 0
    rejected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    """Where records went: kept by whom (and how), or rejected."""
    reasons: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    disagreements: Counter[str] = field(default_factory=Counter)
    scores: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    contradictions: Counter[str] = field(default_factory=Counter)
    agree: Counter[tuple[str, str]] = field(default_factory=Counter)
    both: Counter[tuple[str, str]] = field(default_factory=Counter)
    reviewers: list[str] = field(default_factory=list)
    escalations: Counter[tuple[str, str]] = field(default_factory=Counter)
    latency: dict[str, Thinned] = field(default_factory=lambda: defaultdict(Thinned))
    calls: Counter[str] = field(default_factory=Counter)
    tokens: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    timeline: Thinned = field(default_factory=Thinned)
    """(seconds since the first unit, units done, records kept) per committed unit."""
    kept_so_far: int = 0
    last_point: tuple[float, int, int] | None = None
    timed: bool = False
    """Whether the timeline is wall-clock time (else: model time summed over units)."""

    def add_record(self, record: Mapping[str, Any], kept: bool) -> None:
        if kept:
            self.accepted += 1
        else:
            self.rejected += 1
            self.reasons[reason_category(str(record.get("reason", "")))] += 1
        self.outcomes[outcome(record, kept)] += 1
        for check in _strings(record.get("checks")):
            self.checks[check] += 1
        if record.get("disagreement"):
            self.disagreements[str(record["disagreement"]).split(" from ")[0]] += 1
        votes: dict[str, bool] = {}
        for review in _reviews(record):
            name = str(review.get("reviewer", "reviewer"))
            if name not in self.reviewers:
                self.reviewers.append(name)
            score, accept = review.get("score"), bool(review.get("accept"))
            if isinstance(score, bool) or not isinstance(score, int):
                continue
            self.scores[name][score] += 1
            if (accept and score <= 3) or (not accept and score >= 8):
                self.contradictions[name] += 1
            votes[name] = accept
        if votes:
            votes["final decision"] = kept
            for left, right in combinations(sorted(votes), 2):
                self.both[(left, right)] += 1
                self.agree[(left, right)] += votes[left] == votes[right]

    def add_unit(self, stats: Mapping[str, Any], index: int, model_seconds: float) -> None:
        for call in stats.get("roles", []):
            role = call["role"]
            self.calls[role] += 1
            self.tokens[role]["prompt"] += call.get("prompt_tokens", 0)
            self.tokens[role]["completion"] += call.get("completion_tokens", 0)
            self.latency[role].offer(float(call.get("seconds", 0.0)))
            reason = call.get("escalation_reason")
            if reason and (call.get("escalated") or call.get("status") == "unresolved"):
                outcome = "escalated" if call.get("escalated") else "unresolved"
                self.escalations[(role, f"{reason} ({outcome})")] += 1
        finished: Any = stats.get("finished_at")  # set on every unit of a timed job
        self.kept_so_far += int(stats.get("kept", 0))
        if isinstance(finished, int | float):
            self.timed = True
        self.last_point = (
            float(finished) if self.timed else model_seconds,
            index,
            self.kept_so_far,
        )
        self.timeline.offer(self.last_point)


def outcome(record: Mapping[str, Any], kept: bool) -> str:
    """Where one record went: ``kept: the adjudicator revised it``, ``rejected: free check`` ..."""
    if not kept:
        return "rejected: " + reason_category(str(record.get("reason", "")))
    verdict = record.get("verdict")
    if verdict == "revise":
        return "kept: the adjudicator revised it"
    if verdict == "accept":
        who = "the adjudicator" if record.get("adjudicated") else "the reviewers"
        return f"kept: {who} accepted it"
    return "kept"


def _reviews(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A record's reviews, if it has any in gra's shape (a list of objects)."""
    reviews = record.get("reviews")
    if not isinstance(reviews, list):
        return []
    return [review for review in reviews if isinstance(review, dict)]


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _TEXT_LIMIT:
        return value[:_TEXT_LIMIT] + " …"
    return value


def table_row(record: Mapping[str, Any], kept: bool) -> dict[str, Any]:
    """What the table shows of one record (long texts clipped)."""
    reviews = [{key: _clip(value) for key, value in review.items()} for review in _reviews(record)]
    shown = {
        key: _clip(value)
        for key, value in record.items()
        if key not in ("reviews", "models") and not isinstance(value, dict | list)
    }
    return {
        "status": "accepted" if kept else "rejected",
        "id": str(record.get("id", "")),
        "instruction": _clip(str(record.get("instruction", record.get("output", "")))),
        "response": _clip(str(record.get("response", ""))),
        "verdict": str(record.get("verdict", "")),
        "reason": _clip(str(record.get("reason", ""))),
        "scores": ", ".join(str(r["score"]) for r in reviews if "score" in r),
        "checks": ", ".join(_strings(record.get("checks"))),
        "reviews": reviews,
        "models": record.get("models") if isinstance(record.get("models"), dict) else {},
        "fields": shown,
    }


@dataclass
class ReportData:
    """A job, read and summed: what `render` turns into a page."""

    files: JobFiles
    summary: dict[str, Any]
    aggregates: Aggregates
    rows: list[dict[str, Any]]
    held_back: dict[str, int]
    note: dict[str, Any]


def collect(files: JobFiles, *, max_rows: int = MAX_ROWS) -> ReportData:
    """Read a job's files and sum what the page shows.

    Raises:
        UsageError: there is neither an output nor a job state at these paths.
    """
    if not files.journal.exists() and not files.state.exists() and not files.output.exists():
        raise UsageError(
            f"No job output at {files.output} (nor its state {files.state}).",
            fix="pass the --output of a `smallagents run` job.",
        )
    units = read_state(files.state)
    aggregates = Aggregates()
    rows: list[dict[str, Any]] = []
    held_back = {"accepted": 0, "rejected": 0}
    for path, end, kept in (
        (files.journal, units.output_end, True),
        (files.rejects, units.rejects_end, False),
    ):
        shown = 0
        for record in read_records(path, end):
            aggregates.add_record(record, kept)
            if shown < max_rows:
                rows.append(table_row(record, kept))
                shown += 1
            else:
                held_back["accepted" if kept else "rejected"] += 1
    model_seconds = 0.0
    for index, stats in enumerate(units.stats(), start=1):
        model_seconds += sum(call.get("seconds", 0.0) for call in stats.get("roles", []))
        aggregates.add_unit(stats, index, model_seconds)
    note = units.note
    summary = build_report(
        pipeline=str((note.get("pipeline") or {}).get("name", "unknown")),
        options=note.get("options") or {},
        units_total=int(note.get("units_total") or units.count),
        stats=units.stats(),
        skipped=[],
        seconds_this_run=0.0,
    )
    return ReportData(files, summary, aggregates, rows, held_back, note)
