"""Endpoint faults: a job whose fallback fails in every way, and what became of each record.

Run ``python -m benchmarks faults`` (200 records, half of them escalating; about a
minute on 2 cores) or ``--quick`` (40 records). Records whose topic overflows the
embedded SmolLM2's context escalate to a local fault-injecting server
(``tests/faults.py``: refused connections, 500, 429 + Retry-After, hangs past the
timeout, slow answers, malformed and schema-violating content, connections dropped
mid-response, in a fixed repeating mix); the rest stay on SmolLM2. It prints the
figures: requests tried, faults injected by kind, records answered, unresolved
(by cause) and lost, breaker openings (``--json PATH`` writes them as JSON).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fault_job import ENDPOINT_OPTIONS, FAULT_MIX, run_fault_job  # (after the path insert above)

from benchmarks._common import Result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--records``, ``--every``, ``--workers``, ``--quick``."""
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--every", type=int, default=2, help="every N-th record escalates")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="40 records")


def run(args: argparse.Namespace) -> Result:
    """Run the fault job and print what became of its records; fails if one was lost."""
    records = 40 if args.quick else args.records
    with tempfile.TemporaryDirectory() as folder:
        result = run_fault_job(
            Path(folder), records=records, every=args.every, workers=args.workers
        )
    figures = result.figures()
    print(f"fault mix (repeating): {', '.join(_fault(f) for f in FAULT_MIX)}")
    print(f"client: {', '.join(f'{k}={v}' for k, v in ENDPOINT_OPTIONS.items())}")
    print(f"workers: {args.workers}")
    for name, value in figures.items():
        print(f"{name:>34}: {_value(value)}")
    bad = result.lost or result.duplicated or result.unknown
    return Result(figures, ok=not bad)


def _fault(fault: Any) -> str:
    if fault is None:
        return "ok"
    return f"{fault.kind}({fault.seconds:g}s)" if fault.seconds else fault.kind


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    return str(value)
