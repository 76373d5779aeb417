"""Job throughput: records per minute with 1 and 2 workers, and time spent outside the models.

Run ``python benchmarks/jobs.py`` (defaults: the ``gra`` pipeline on
``examples/seeds.jsonl``; ``--pipeline NAME --input FILE --limit N`` for others).
Each setting runs a fresh job in a temporary folder, in one process, one after
the other, so the figures are comparable. "Outside" is the share of worker time
not spent inside model calls: ``1 - model_seconds / (wall * workers)``. Target
(issue 5): <= 5%.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from smallagents.jobs.command import find_pipeline
from smallagents.jobs.runner import JobOptions, run_job

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", default="gra")
    parser.add_argument("--input", default=str(ROOT / "examples" / "seeds.jsonl"))
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    pipeline = find_pipeline(args.pipeline, [], [])
    results = {}
    for workers in (int(w) for w in args.workers.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            options = JobOptions(
                input=args.input,
                output=Path(folder) / "out.jsonl",
                limit=args.limit,
                workers=workers,
            )
            started = time.perf_counter()
            report = run_job(pipeline, options)
            wall = time.perf_counter() - started
        records = report["records"]["accepted"] + report["records"]["rejected"]
        model_seconds = report["seconds"]["model_time_all_runs"]
        results[workers] = {
            "units": report["units"]["done"],
            "records": records,
            "wall_seconds": round(wall, 1),
            "units_per_minute": round(60 * report["units"]["done"] / wall, 2),
            "outside_model_share": round(1 - model_seconds / (wall * workers), 3),
            "acceptance": report["rates"]["acceptance"],
        }
    base = results.get(1)
    for workers, figures in results.items():
        speedup = base["wall_seconds"] / figures["wall_seconds"] if base else None
        print(
            f"workers={workers}: {figures}  speed-up vs 1 worker: {speedup and round(speedup, 2)}"
        )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
