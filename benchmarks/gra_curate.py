"""How well ``gra-curate`` sorts labeled pairs: ``examples/judge_pairs.jsonl`` through the job.

Runs ``smallagents run gra-curate`` on one split of the judge pairs (the pairs
without their labels) and scores its decisions against the labels: accuracy,
the share of kept records that are good (precision of accept), the share of bad
pairs rejected (recall of reject), and what each kind of defect came to. Extra
arguments go to ``smallagents run`` as they are, so any roster or setting can be
measured the same way::

    python -m benchmarks gra_curate --split test
    python -m benchmarks gra_curate --split dev -- --model gra_reviewer_1=qwen-0.5b

The job is resumable like any other: run the same command again after a stop.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from benchmarks._common import ROOT, Result

PAIRS = ROOT / "examples" / "judge_pairs.jsonl"


def score(pairs: list[dict], kept: set[str]) -> dict[str, object]:
    """Accuracy and the two shares of ``kept`` (the ids the job accepted) on ``pairs``."""
    good = {p["id"] for p in pairs if p["label"] == "accept"}
    bad = {p["id"] for p in pairs if p["label"] == "reject"}
    right = len(good & kept) + len(bad - kept)
    by_kind: dict[str, Counter[str]] = {}
    for pair in pairs:
        outcome = "kept" if pair["id"] in kept else "rejected"
        by_kind.setdefault(pair["kind"], Counter())[outcome] += 1
    return {
        "pairs": len(pairs),
        "accuracy": right / len(pairs),
        "kept": len(kept),
        "kept_good_share": len(good & kept) / len(kept) if kept else None,
        "bad_rejected_share": len(bad - kept) / len(bad) if bad else None,
        "by_kind": {kind: dict(counts) for kind, counts in sorted(by_kind.items())},
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--split``, ``--folder``, ``--limit`` and, after ``--``, ``smallagents run`` options."""
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--folder", type=Path, default=Path("gra_curate_measure"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    parser.add_argument("run_args", nargs="*", help="passed to smallagents run (after --)")


def run(args: argparse.Namespace) -> Result:
    """Run the curation job on the split and score what it kept."""
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    pairs = [p for p in pairs if args.split == "all" or p["split"] == args.split][: args.limit]
    args.folder.mkdir(parents=True, exist_ok=True)
    unlabeled = args.folder / "pairs.jsonl"
    unlabeled.write_text(
        "".join(
            json.dumps({k: p[k] for k in ("id", "instruction", "response", "domain")}) + "\n"
            for p in pairs
        ),
        encoding="utf-8",
    )
    output = args.folder / "curated.jsonl"
    command = [
        sys.executable, "-m", "smallagents", "run", "gra-curate", "--input", str(unlabeled),
        "--output", str(output), "--report", str(args.folder / "report.json"), "--quiet",
        # A good pair and its bad twin share one instruction: with dedupe on, the second
        # would be dropped as a duplicate whatever the reviewers said.
        "--set", "dedupe=false",
        *args.run_args,
    ]  # fmt: skip
    subprocess.run(command, check=True)
    kept = {json.loads(line)["id"] for line in output.read_text(encoding="utf-8").splitlines()}
    figures = score(pairs, kept)
    report = json.loads((args.folder / "report.json").read_text(encoding="utf-8"))
    figures["model_seconds"] = report["seconds"]["model_time_all_runs"]
    figures["adjudication_rate"] = report["rates"]["adjudication"]
    print(json.dumps(figures, indent=2))
    return Result(figures)
