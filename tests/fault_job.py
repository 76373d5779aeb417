"""A job whose fallback endpoint fails in every way ``faults.py`` knows; for tests and figures.

Not tests. Records whose topic is too long for the embedded SmolLM2's 4096-token
context cannot run on it (``model_error``), so they take the escalation edge to the
fault server; the other records stay on SmolLM2. Which records escalate is decided
by the input, not by sampling. ``run_fault_job`` runs it with ``run_job`` and
counts what happened: used by ``tests/test_faults.py`` and ``benchmarks/faults.py``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faults import Fault, cycle, start_fault_server

from smallagents import role
from smallagents.jobs.pipelines import RolePipeline
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions
from smallagents.models.resilience import shared_breaker

WORD: dict[str, Any] = {
    "title": "Word",
    "type": "object",
    "properties": {"word": {"type": "string", "minLength": 1, "maxLength": 12}},
    "required": ["word"],
}
GOOD = '{"word":"fallback"}'
"""The fault server's content when it does not fault."""


def good(_: Mapping[str, Any]) -> str:
    return GOOD


LONG_TOPIC = "history of the river " * 1200
"""About 4,800 tokens: more than SmolLM2's context, so the record must escalate."""

FAULT_MIX: list[Fault | None] = [  # by chat request, repeating
    Fault("500"),
    None,
    Fault("429", 0.2),
    None,
    Fault("malformed"),
    None,
    Fault("drop"),
    None,
    Fault("schema"),
    Fault("slow", 0.2),
    Fault("refuse", 1.5),
    Fault("hang", 5.0),
]
ENDPOINT_OPTIONS: dict[str, Any] = {
    "timeout": 0.5,
    "deadline": 2.0,
    "retries": 2,
    "backoff": 0.05,
    "breaker_threshold": 3,
    "breaker_cooldown": 0.5,
    "structured_output": "json_schema",  # no GET /models: every try is a chat request
}

# How an endpoint failure reads at the end of a reject's reason, by kind.
FAILURE_KINDS: dict[str, str] = {
    "Circuit open": "circuit open (no request)",
    "deadline": "deadline",
    "Cannot reach": "refused",
    "did not answer": "timed out",
    "mid-request": "dropped",
    "HTTP 5": "HTTP 5xx",
    "HTTP 429": "HTTP 429",
    "gave no valid": "red flags on every attempt",
}


def failure_kind(reason: str) -> str:
    """The kind of fallback failure a reject's reason ends in (``other`` if none)."""
    _, _, failure = reason.rpartition("the fallback failed")
    for marker, kind in FAILURE_KINDS.items():
        if marker in failure:
            return kind
    return "other"


@role(model="default", schema=WORD, max_tokens=12)
def topic_word(topic: str) -> Any:
    """Give one word for this topic: {topic}"""


@dataclass
class FaultJobResult:
    """What a fault job wrote and what the endpoint and its breaker saw."""

    ids: list[str]
    escalating: set[str]
    kept: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    server: dict[str, Any]
    tries: int
    """Tries the clients made (they reached the server, or were refused)."""
    fast_failures: int
    """Calls refused by the open circuit, without a request."""
    openings: int
    seconds: float

    @property
    def seen(self) -> Counter[str]:
        return Counter(r["id"] for r in self.kept + self.rejected)

    @property
    def lost(self) -> list[str]:
        return [i for i in self.ids if self.seen[i] == 0]

    @property
    def duplicated(self) -> list[str]:
        return sorted(i for i, n in self.seen.items() if n > 1)

    @property
    def unknown(self) -> list[str]:
        known = set(self.ids)
        return sorted(i for i in self.seen if i not in known)

    @property
    def refused(self) -> int:
        """Tries that never reached the server: its port was closed."""
        return self.tries - int(self.server["received"])

    @property
    def answered(self) -> list[dict[str, Any]]:
        """Escalated records the endpoint answered."""
        return [r for r in self.kept if r["id"] in self.escalating]

    def figures(self) -> dict[str, Any]:
        unresolved = Counter(failure_kind(r["reason"]) for r in self.rejected)
        injected = dict(self.server["injected"])
        injected["refused connections"] = self.refused
        return {
            "records": len(self.ids),
            "needing the fallback": len(self.escalating),
            "answered by the fallback": len(self.answered),
            "unresolved, with the reason": len(self.rejected),
            "unresolved by cause": dict(unresolved.most_common()),
            "kept on the small model": len(self.kept) - len(self.answered),
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "requests tried": self.tries,
            "requests received by the server": self.server["received"],
            "calls failed fast (circuit open)": self.fast_failures,
            "faults injected": sum(injected.values()),
            "faults injected by kind": injected,
            "breaker openings": self.openings,
            "seconds": round(self.seconds, 1),
        }


def run_fault_job(
    folder: Path,
    *,
    records: int,
    every: int,
    workers: int,
    faults: Sequence[Fault | None] = tuple(FAULT_MIX),
    options: Mapping[str, Any] | None = None,
) -> FaultJobResult:
    """Run ``records`` records (every ``every``-th one escalates) against a fault server."""
    inputs = [
        {"id": f"r{i:04d}", "topic": LONG_TOPIC if i % every == 0 else f"apples {i}"}
        for i in range(records)
    ]
    source = folder / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in inputs))
    output = folder / "out.jsonl"
    started = time.perf_counter()
    settings = dict(options or ENDPOINT_OPTIONS)
    with start_fault_server(cycle(list(faults)), good) as server:
        # Held here for the job, this is the breaker every worker's client of the
        # endpoint shares (one per endpoint and settings, while any holds it).
        breaker = shared_breaker(
            server.base_url,
            threshold=settings["breaker_threshold"],
            cooldown=settings["breaker_cooldown"],
        )
        run_job(
            RolePipeline(topic_word),
            JobOptions(
                input=str(source),
                output=output,
                workers=workers,
                fallback=server.spec(),
                endpoints={server.base_url: settings},  # as [endpoints."URL"] in smallagents.toml
            ),
        )
        seconds = time.perf_counter() - started
        figures = server.figures()
        stats = breaker.stats
    rejects = output.with_name("out.rejects.jsonl")
    return FaultJobResult(
        ids=[r["id"] for r in inputs],
        escalating={r["id"] for r in inputs if r["topic"] == LONG_TOPIC},
        kept=[json.loads(line) for line in output.read_text().splitlines()],
        rejected=[json.loads(line) for line in rejects.read_text().splitlines()],
        server=figures,
        tries=stats.tries,
        fast_failures=stats.fast_failures,
        openings=stats.openings,
        seconds=seconds,
    )
