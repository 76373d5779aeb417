"""Job throughput against the machine's limit: records per minute with the prefix cache on and off.

Run ``python -m benchmarks jobs`` (defaults: the ``gra`` pipeline on
``examples/seeds.jsonl``, 2 workers; ``--pipeline NAME --input FILE --limit N``,
``--workers 1,2``, ``--cache on,off`` for others). Each setting runs a fresh job in
a temporary folder, one after the other in one process, so the figures compare.

For each run it reports records per minute, the share of worker time outside
model calls (``1 - model_seconds / (wall * workers)``, target <= 5%), the prompt
tokens evaluated and reused, and the ratio of wall time to the machine's limit for
that work: the job's decode tokens at the raw decode rate plus the prompt tokens
it could not reuse at the raw prefill rate (both rates measured in this run, one
thread, per model), divided over the workers (at most the cores). Targets: the
cache at least triples records per minute at identical output; wall time
within 1.5x of the limit.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, Result, load_llama
from smallagents.jobs.launch import find_pipeline
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions
from smallagents.models.llama import _prefill
from smallagents.models.pool import ModelPool, available_cores


def raw_rates(alias: str) -> dict[str, float]:
    """Raw decode and prefill tokens per second of one instance with one thread."""
    pool = ModelPool(threads=1)
    model = load_llama(alias, pool, prefix_cache_mb=0)
    llm = model._llm
    text = " ".join(f"Line {i}: a plain sentence about item number {i}." for i in range(60))
    tokens = model.prompt_tokens(text)[:512]
    _prefill(llm, tokens[:8], [])  # warm
    started = time.perf_counter()
    _prefill(llm, tokens, [])
    prefill = len(tokens) / (time.perf_counter() - started)
    short = model.prompt_tokens("Write a long story about a cat.")
    started = time.perf_counter()
    out = llm.create_completion(short, max_tokens=96, temperature=0.7, seed=0)
    seconds = time.perf_counter() - started
    decode = out["usage"]["completion_tokens"] / max(1e-9, seconds - len(short) / prefill)
    pool.close()
    return {"prefill_tok_s": prefill, "decode_tok_s": decode}


def _lines(output: Path) -> list[str]:
    """The job's records and rejects."""
    rejects = output.with_name(output.stem + ".rejects.jsonl")
    return [
        line
        for path in (output, rejects)
        if path.exists()
        for line in path.read_text().splitlines()
    ]


def _role_models(output: Path) -> dict[str, str]:
    """Which model answered each role, from the records' ``models`` field (else default)."""
    seen: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in _lines(output):
        for role, model in (json.loads(line).get("models") or {}).items():
            seen[role][str(model)] += 1
    return {role: counts.most_common(1)[0][0] for role, counts in seen.items()}


def run_once(
    pipeline_name: str, options: dict[str, Any], cache: bool, workers: int
) -> dict[str, Any]:
    os.environ["SMALLAGENTS_PREFIX_CACHE_MB"] = "256" if cache else "0"
    pipeline = find_pipeline(pipeline_name, [], [])
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "out.jsonl"
        started = time.perf_counter()
        report = run_job(pipeline, JobOptions(output=output, workers=workers, **options))
        wall = time.perf_counter() - started
        role_models = _role_models(output)
        digest = hashlib.sha256("\n".join(_lines(output)).encode()).hexdigest()[:16]
    records = report["records"]["accepted"] + report["records"]["rejected"]
    return {
        "cache": cache,
        "workers": workers,
        "records": records,
        "wall_seconds": round(wall, 1),
        "records_per_minute": round(60 * records / wall, 2),
        "outside_model_share": round(
            1 - report["seconds"]["model_time_all_runs"] / (wall * workers), 3
        ),
        "output_sha256": digest,
        "roles": {
            name: {
                "model": role_models.get(name, "default"),
                "completion_tokens": figures["completion_tokens"],
                "prompt_evaluated": figures.get("prompt_tokens_evaluated", 0),
                "prompt_reused": figures.get("prompt_tokens_reused", 0),
            }
            for name, figures in report["roles"].items()
        },
    }


def limit_seconds(result: dict[str, Any], rates: dict[str, dict[str, float]]) -> float:
    """The work's time at the raw rates, spread over the workers (at most the cores)."""
    seconds = 0.0
    for figures in result["roles"].values():
        rate = rates.get(figures["model"])
        if rate is None:  # an endpoint or a model not measured: not this machine's work
            continue
        seconds += figures["completion_tokens"] / rate["decode_tok_s"]
        seconds += figures["prompt_evaluated"] / rate["prefill_tok_s"]
    return seconds / max(1, min(result["workers"], available_cores()))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--pipeline``, ``--input``, ``--limit``, ``--workers 1,2``, ``--cache on,off``."""
    parser.add_argument("--pipeline", default="gra")
    parser.add_argument("--input", default=str(ROOT / "examples" / "seeds.jsonl"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--cache", default="on,off")


def run(args: argparse.Namespace) -> Result:
    """Each setting as a fresh job, then the machine's limit for each."""
    os.environ.setdefault("SMALLAGENTS_THREADS", "1")
    options = {"input": args.input, "limit": args.limit}
    results = [
        run_once(args.pipeline, options, cache == "on", int(workers))
        for workers in args.workers.split(",")
        for cache in args.cache.split(",")
    ]
    models = {f["model"] for r in results for f in r["roles"].values()}
    rates = {}
    for alias in sorted(models):
        try:
            rates[alias] = raw_rates(alias)
        except Exception as error:  # an endpoint spec: no raw rate here
            print(f"no raw rate for {alias}: {error}", file=sys.stderr)
    for result in results:
        limit = limit_seconds(result, rates)
        result["limit_seconds"] = round(limit, 1)
        result["wall_over_limit"] = round(result["wall_seconds"] / limit, 2) if limit else None
        print(
            f"cache={'on' if result['cache'] else 'off'} workers={result['workers']}: "
            f"{result['records_per_minute']} records/min, wall {result['wall_seconds']} s, "
            f"limit {result['limit_seconds']} s (x{result['wall_over_limit']}), "
            f"output {result['output_sha256']}"
        )
    by = {(r["cache"], r["workers"]): r for r in results}
    for workers in {r["workers"] for r in results}:
        on, off = by.get((True, workers)), by.get((False, workers))
        if on and off:
            print(
                f"workers={workers}: cache on/off records per minute "
                f"{on['records_per_minute'] / off['records_per_minute']:.2f}x, identical output: "
                f"{on['output_sha256'] == off['output_sha256']}"
            )
    print(json.dumps({"rates": rates, "runs": results}))
    return Result({"rates": rates, "runs": results})
