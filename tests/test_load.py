"""A long job keeps no per-record state: memory stays flat while records stream through.

2,000 records through the real job runner (two worker threads, the role, schema
validation, the exactly-once state and writer) on a fake model that answers at
once: a real model would take minutes for as many records, and what is measured
here is the runner, not the model. ``benchmarks/load.py`` measures the same at
10,000 records and on SmolLM2.

Python's heap is measured with tracemalloc: exact, and blind to the allocator's
noise, so a bound of 100 bytes per record holds by a wide margin when nothing is
retained, and breaks when anything is: keeping each call's ``RoleRecord`` (the
``Run`` ledger a job turns off) retains about 1.5 KB per record. The same bound
holds for the report built at the end: it reads the job state one unit at a time
(a list of every unit's stats took about 1.7 KB per unit).
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from pydantic import BaseModel, Field

import smallagents
from smallagents.jobs.pipelines import RolePipeline
from smallagents.jobs.progress import Counters
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions
from smallagents.run import RoleSettings
from smallagents.testing import ScriptedModel, WithModels

RECORDS = 2000
LABELS = ("positive", "negative", "neutral")


class Sentiment(BaseModel):
    label: str = Field(pattern="^(positive|negative|neutral)$")


@smallagents.role(max_tokens=16)
def sentiment(text: str) -> Sentiment:
    """Classify the sentiment of this text as positive, negative or neutral: {text}"""


class HeapAt:
    """A progress view that reads the traced heap (bytes) when the job reaches given counts."""

    def __init__(self, *counts: int) -> None:
        self.heap: dict[int, int] = dict.fromkeys(counts, -1)

    def start(self, counters: Counters) -> None:
        pass

    def update(self, counters: Counters) -> None:
        if counters.done in self.heap:
            self.heap[counters.done] = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()  # what follows (the report, at the end) peaks on its own

    def stop(self, counters: Counters) -> None:
        pass


def fake_model() -> ScriptedModel:
    return ScriptedModel(
        [lambda prompt, seed: json.dumps({"label": LABELS[seed % 3]})],
        name="fast-fake",
        repeat_last=True,
        keep_calls=False,  # otherwise the double itself keeps every prompt
    )


def test_a_long_job_retains_nothing_per_record(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "text": f"review {i}: fine"}) + "\n" for i in range(RECORDS)
        )
    )
    options = JobOptions(input=str(source), output=tmp_path / "out.jsonl", workers=2)
    pipeline = WithModels(RolePipeline(sentiment), {"fast-fake": fake_model()})
    quarter = RECORDS // 4
    view = HeapAt(quarter, RECORDS)
    tracemalloc.start()
    try:
        report = run_job(
            pipeline,
            options.over(JobOptions(roles={"sentiment": RoleSettings(model="fast-fake")})),
            view=view,
        )
        report_peak = tracemalloc.get_traced_memory()[1]  # since the last record
    finally:
        tracemalloc.stop()

    ids = [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert ids == [f"r{i}" for i in range(RECORDS)]  # every record once, in input order
    assert report["units"]["done"] == RECORDS and report["records"]["rejected"] == 0
    assert view.heap[quarter] > 0 and view.heap[RECORDS] > 0
    grown = view.heap[RECORDS] - view.heap[quarter]
    assert grown < 100 * (RECORDS - quarter), f"heap grew {grown} B in {RECORDS - quarter} records"
    # The report is built from the job state one unit at a time, not from a list of all.
    report_cost = report_peak - view.heap[RECORDS]
    assert report_cost < 100 * RECORDS, f"the report took {report_cost} B for {RECORDS} units"


def test_a_job_does_not_hold_its_input(tmp_path: Path) -> None:
    """Records are read again as they run: the heap holds their ids, not their text
    (planning every unit up front held about 1.1x the input's text, here 5 MB)."""
    records, text_chars = 1000, 5000
    source = tmp_path / "in.jsonl"
    with source.open("w") as handle:
        for i in range(records):
            handle.write(json.dumps({"id": f"r{i}", "text": f"{i} " + "fine " * 1000}) + "\n")
    options = JobOptions(input=str(source), output=tmp_path / "out.jsonl", workers=2)
    pipeline = WithModels(RolePipeline(sentiment), {"fast-fake": fake_model()})
    view = HeapAt(records // 4)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run_job(
            pipeline,
            options.over(JobOptions(roles={"sentiment": RoleSettings(model="fast-fake")})),
            view=view,
        )
    finally:
        tracemalloc.stop()
    held = view.heap[records // 4] - before
    assert 0 < held < records * text_chars // 5, (
        f"{held} B held for a {records * text_chars} B input"
    )
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == records
