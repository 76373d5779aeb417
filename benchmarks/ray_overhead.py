"""Ray executor overhead: the same job on the local runner and on Ray, same CPUs.

Run ``python -m benchmarks ray_overhead`` (defaults: the ``gra`` pipeline on the
first 8 records of ``examples/seeds.jsonl``, 2 CPUs, 2 rounds). The script starts
one Ray instance on this machine with ``--cpus`` CPUs, then alternates local jobs
(``--cpus`` worker threads) and Ray jobs (one single-threaded actor per CPU) in
fresh folders, so that both see the same machine load. Each Ray job pays what a
job on a running cluster pays: actor processes, imports, model loads, the
round trips; starting the cluster itself is measured once and reported apart.

Prints records per minute for each, the overhead ``ray_wall / local_wall - 1``
(target: <= 10%), whether both outputs are the same file, and a paper
estimate for 1M records on N machines from the measured rate.
"""

from __future__ import annotations

import argparse
import filecmp
import logging
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

from benchmarks._common import ROOT, Result
from smallagents.jobs.launch import find_pipeline
from smallagents.jobs.ray_executor import RayExecutor
from smallagents.jobs.runner import run_job
from smallagents.jobs.settings import JobOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--pipeline``, ``--input``, ``--limit``, ``--cpus``, ``--rounds`` and the estimate's."""
    parser.add_argument("--pipeline", default="gra")
    parser.add_argument("--input", default=str(ROOT / "examples" / "seeds.jsonl"))
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--machines", type=int, default=10, help="N for the 1M estimate")
    parser.add_argument(
        "--price-per-cpu-hour", type=float, default=0.02, help="USD, for the estimate"
    )


def run(args: argparse.Namespace) -> Result:
    """Alternate local and Ray jobs on one private Ray instance; print the overhead."""

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    started = time.perf_counter()
    ray.init(
        num_cpus=args.cpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    cluster_start = time.perf_counter() - started

    pipeline = find_pipeline(args.pipeline, [], [])
    walls: dict[str, list[float]] = {"local": [], "ray": []}
    same_output = True
    units = 0
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as folder:
            outputs = {}
            for kind in ("local", "ray"):
                output = Path(folder) / f"{kind}.jsonl"
                options = JobOptions(
                    input=args.input, output=output, limit=args.limit, workers=args.cpus
                )
                executor = (
                    RayExecutor(partial(find_pipeline, args.pipeline, [], []), actors=args.cpus)
                    if kind == "ray"
                    else None
                )
                began = time.perf_counter()
                report = run_job(pipeline, options, executor=executor)
                walls[kind].append(time.perf_counter() - began)
                units = report["units"]["done"]
                outputs[kind] = output
            same_output &= filecmp.cmp(outputs["local"], outputs["ray"], shallow=False)
    ray.shutdown()

    local, on_ray = statistics.median(walls["local"]), statistics.median(walls["ray"])
    print(f"pipeline={args.pipeline} units={units} cpus={args.cpus} rounds={args.rounds}")
    for kind, wall in (("local", local), ("ray", on_ray)):
        runs = ", ".join(f"{w:.1f}" for w in walls[kind])
        print(f"{kind:>5}: median {wall:.1f} s ({runs})  {60 * units / wall:.2f} units/min")
    print(f"ray overhead: {on_ray / local - 1:+.1%}  (target <= +10%)")
    print(f"same output file: {same_output}")
    print(f"starting the private Ray instance: {cluster_start:.1f} s (once per cluster)")

    per_cpu_per_hour = 3600 * units / (on_ray * args.cpus)
    cpus_total = args.machines * args.cpus
    hours = 1_000_000 / (per_cpu_per_hour * cpus_total)
    cost = 1_000_000 / per_cpu_per_hour * args.price_per_cpu_hour
    print(
        f"1M units on {args.machines} machines x {args.cpus} CPUs at the Ray rate "
        f"({per_cpu_per_hour:.0f} units per CPU-hour): {hours:.0f} h, "
        f"{1_000_000 / per_cpu_per_hour:.0f} CPU-hours, ${cost:,.0f} "
        f"at ${args.price_per_cpu_hour}/CPU-hour"
    )
    return Result(
        {
            "units": units,
            "local_seconds": walls["local"],
            "ray_seconds": walls["ray"],
            "ray_overhead": on_ray / local - 1,
            "same_output": same_output,
            "cluster_start_seconds": cluster_start,
            "units_per_cpu_hour": per_cpu_per_hour,
        }
    )
