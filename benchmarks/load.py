"""Load: memory and throughput of long jobs with 2 workers.

Run ``python -m benchmarks load`` (a fake fast model at 1,000 and 10,000 records,
then SmolLM2-135M at 240 records; about 2 minutes on 2 cores, most of it SmolLM2)
or ``--quick`` (1,000 fake records, 60 real ones; about 30 s). Each size runs as
a fresh child process (``--child``), so its peak RSS (``ru_maxrss``) belongs to
that run alone. The child samples VmRSS from ``/proc/self/status`` every 1% of
the records, in the job's writer thread, and prints one JSON line; this process
turns those into ratios measured in one run:

* memory is flat when RSS at the end / RSS at 10% of the run is ~1.0;
* throughput is steady when records/s in the last third / the first third is ~1.0
  (thirds are timed from the first finished record, so model loading is apart);
  CPU ms per record, last third / first third, says the same with less noise from
  whatever else the machine runs.

The fake model is a `smallagents.testing.ScriptedModel` that answers at
once; everything else is the real path: ``run_job``, two worker threads, the
role, schema validation, the exactly-once state and the JSONL writer.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

import smallagents
from benchmarks._common import ROOT, Result
from smallagents.jobs.inputs import SkippedLines
from smallagents.jobs.pipelines import RolePipeline
from smallagents.jobs.plan import plan_units
from smallagents.jobs.progress import Counters
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions
from smallagents.run import RoleSettings
from smallagents.testing import ScriptedModel, WithModels

FAKE_SPEC = "load-fake"
LABELS = ("positive", "negative", "neutral")
TEXTS = (
    "I love this phone",
    "The food was cold",
    "It is a chair",
    "Best concert ever",
    "The train was late again",
    "Water is wet",
    "What a wonderful surprise",
    "I want a refund",
)


class Sentiment(BaseModel):
    label: str = Field(pattern="^(positive|negative|neutral)$")


@smallagents.role(max_tokens=16)
def sentiment(text: str) -> Sentiment:
    """Classify the sentiment of this text as positive, negative or neutral: {text}"""


def fake_model() -> ScriptedModel:
    """A fast, deterministic model: the label follows the seed (so answers vary).

    ``keep_calls=False``: a ScriptedModel otherwise keeps every prompt it was sent.
    """
    return ScriptedModel(
        [lambda prompt, seed: json.dumps({"label": LABELS[seed % 3]})],
        name="load-fake",
        repeat_last=True,
        keep_calls=False,
    )


def rss_mb() -> float:
    """This process's resident set now, from /proc (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (load.py measures on Linux only)")


def peak_rss_mb() -> float:
    """Peak resident set of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Sample(NamedTuple):
    done: int
    """Records committed so far."""
    seconds: float
    """Wall seconds since the job started."""
    cpu: float
    """CPU seconds of this process (all threads) since it started."""
    rss: float
    """VmRSS, MB."""


def sample(done: int, started: float) -> Sample:
    return Sample(done, time.perf_counter() - started, time.process_time(), rss_mb())


class Sampler:
    """A progress view that takes a ``Sample`` every ``every`` units.

    It runs in the job's writer thread, once per committed unit, like the real
    progress views; its own samples are the only thing it keeps (about 100).
    """

    def __init__(self, every: int) -> None:
        self.every = max(1, every)
        self.samples: list[Sample] = []
        self.peak_in_run = 0.0
        self._started = 0.0

    def start(self, counters: Counters) -> None:
        self._started = time.perf_counter()
        self.samples.append(sample(counters.done, self._started))

    def update(self, counters: Counters) -> None:
        if counters.done == 1 or counters.done % self.every == 0:
            self.samples.append(sample(counters.done, self._started))

    def stop(self, counters: Counters) -> None:
        if self.samples[-1].done != counters.done:
            self.samples.append(sample(counters.done, self._started))
        self.peak_in_run = peak_rss_mb()  # before the report is built


def write_input(path: Path, records: int) -> None:
    with path.open("w") as handle:
        for index in range(records):
            text = f"{TEXTS[index % len(TEXTS)]} (review {index})"
            handle.write(json.dumps({"id": f"r{index}", "text": text}) + "\n")


def input_cost_mb(options: JobOptions) -> float:
    """Python memory the job's plan holds: the ids of its units (the records
    themselves are read again, one at a time, as they run)."""
    tracemalloc.start()
    try:
        units = {unit.id for unit in plan_units(options, SkippedLines())}
        held, _ = tracemalloc.get_traced_memory()
        del units
    finally:
        tracemalloc.stop()
    return held / 2**20


def child(model: str, records: int, workers: int, folder: Path) -> dict[str, Any]:
    """One measured job in this (fresh) process; returns the raw figures."""
    source = folder / "in.jsonl"
    write_input(source, records)
    options = JobOptions(input=str(source), output=folder / "out.jsonl", workers=workers)
    base_rss = rss_mb()
    pipeline: Any = RolePipeline(sentiment)
    settings: dict[str, RoleSettings] = {}
    if model == "fake":
        pipeline = WithModels(pipeline, {FAKE_SPEC: fake_model()})
        settings = {"sentiment": RoleSettings(model=FAKE_SPEC)}
    sampler = Sampler(every=records // 100)
    report = run_job(pipeline, options.over(JobOptions(roles=settings)), view=sampler)
    after_report, peak = rss_mb(), peak_rss_mb()
    # Measured after the job: tracemalloc's own memory must not count in the run's RSS.
    plan_mb = input_cost_mb(options)
    output_lines = (folder / "out.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in output_lines]
    return {
        "model": model,
        "records": records,
        "workers": workers,
        "units_done": report["units"]["done"],
        "written": len(ids),
        "distinct_written": len(set(ids)),
        "rejected": report["records"]["rejected"],
        "rss_before_job_mb": round(base_rss, 1),
        "rss_after_report_mb": round(after_report, 1),
        "peak_rss_in_run_mb": round(sampler.peak_in_run, 1),
        "peak_rss_mb": round(peak, 1),
        "input_plan_mb": round(plan_mb, 2),
        "samples": sampler.samples,
    }


def at(samples: list[Sample], share: float) -> Sample:
    """The first sample at or past ``share`` of the run."""
    total = samples[-1].done
    return next(s for s in samples if s.done >= share * total)


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """The figures the README quotes, as ratios measured within one run.

    Records/s depends on what else the machine runs; CPU ms per record (this
    process's threads only) does much less, so both are given.
    """
    samples = [Sample(*s) for s in raw["samples"]]
    first = at(samples, 1e-9)  # the first finished record: the models are loaded
    third, two_thirds, end = at(samples, 1 / 3), at(samples, 2 / 3), samples[-1]

    def rate(a: Sample, b: Sample) -> float:
        return (b.done - a.done) / max(b.seconds - a.seconds, 1e-9)

    def cpu_ms(a: Sample, b: Sample) -> float:
        return 1000 * (b.cpu - a.cpu) / max(b.done - a.done, 1)

    rss_10, rss_25, rss_50 = (at(samples, share).rss for share in (0.10, 0.25, 0.50))
    return {
        "model": raw["model"],
        "records": raw["records"],
        "written_once": raw["written"] == raw["distinct_written"] == raw["records"],
        "rss_before_job_mb": raw["rss_before_job_mb"],
        "peak_rss_in_run_mb": raw["peak_rss_in_run_mb"],
        "peak_rss_mb": raw["peak_rss_mb"],
        "rss_10_50_100_mb": [round(rss_10, 1), round(rss_50, 1), round(end.rss, 1)],
        "rss_growth_ratio": round(end.rss / rss_10, 3),
        "rss_growth_25_to_100_mb": round(end.rss - rss_25, 2),
        "rss_after_report_mb": raw["rss_after_report_mb"],
        "input_plan_mb": raw["input_plan_mb"],
        "seconds_to_first_record": round(first.seconds, 2),
        "records_per_s_first_third": round(rate(first, third), 1),
        "records_per_s_last_third": round(rate(two_thirds, end), 1),
        "throughput_ratio_last_first": round(rate(two_thirds, end) / rate(first, third), 3),
        "cpu_ms_per_record_first_third": round(cpu_ms(first, third), 2),
        "cpu_ms_per_record_last_third": round(cpu_ms(two_thirds, end), 2),
        "cpu_ratio_last_first": round(cpu_ms(two_thirds, end) / cpu_ms(first, third), 3),
    }


def measure(model: str, records: int, workers: int = 2) -> dict[str, Any]:
    """Run one size in a fresh child process and summarize it."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-m", "benchmarks", "load", "--child", model,
            "--records", str(records), "--workers", str(workers), "--folder", folder,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"the {model} child failed:\n{done.stderr[-3000:]}")
    return summarize(json.loads(done.stdout.strip().splitlines()[-1]))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quick``, ``--fake``, ``--real``, ``--workers`` (and the child's own, hidden)."""
    parser.add_argument("--quick", action="store_true", help="1,000 fake and 60 real records")
    parser.add_argument("--fake", default=None, help="fake-model sizes, e.g. 1000,10000")
    parser.add_argument("--real", type=int, default=None, help="SmolLM2 records (0: none)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", choices=("fake", "default"), help=argparse.SUPPRESS)
    parser.add_argument("--records", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> Result:
    """Each size in a fresh child process; in the child (``--child``), one measured job."""
    if args.child:
        raw = child(args.child, args.records, args.workers, Path(args.folder))
        print(json.dumps(raw))
        return Result(raw)
    fake_sizes = args.fake or ("1000" if args.quick else "1000,10000")
    real = args.real if args.real is not None else (60 if args.quick else 240)
    runs = [("fake", int(size)) for size in fake_sizes.split(",") if size]
    runs += [("default", real)] if real else []
    results = []
    for model, records in runs:
        figures = measure(model, records, args.workers)
        results.append(figures)
        print(f"{model:>7} x {records:>6}: {figures}", flush=True)
    print(json.dumps(results))
    return Result(results)
