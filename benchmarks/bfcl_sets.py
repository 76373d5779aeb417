"""Build the labeled function-calling sets in examples/labeled/ from BFCL's data.

BFCL (the Berkeley Function Calling Leaderboard, Apache-2.0) ships its cases and
answers in the PyPI package ``bfcl-eval``; its dependencies pull torch, so install
it without them: ``pip install --no-deps bfcl-eval==2026.3.23``. This script reads
the package's data files and writes, for ``smallagents eval caller --metric call``:

* ``bfcl_live.jsonl``: 160 cases of ``live_simple`` and ``live_multiple`` (80 each,
  interleaved), half ``split: dev`` (for tuning prompts, thresholds and few-shot examples) and half
  ``split: test`` (held out from all tuning; report on it);
* ``bfcl_final.jsonl``: 40 cases each of ``simple_python``, ``multiple`` and
  ``irrelevance``, ``split: final``: for final reports only, never for tuning.

Each record is BFCL's own (``id``, ``question``, ``function``) plus ``expected``
(BFCL's ``ground_truth``: ``[{NAME: {ARG: [accepted values]}}]``; an empty list for
irrelevance: no call fits) and ``split``. Cases are drawn with a fixed seed among
those whose function specs take at most 6,000 characters of JSON (the embedded
models' 4,096-token context must hold them and the answer).

    python -m benchmarks bfcl_sets
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from benchmarks._common import Result

OUT = Path(__file__).resolve().parents[1] / "examples" / "labeled"
MAX_SPEC_CHARS = 6000
SEED = 20261202


def _data() -> Path:
    """BFCL's data folder in the installed ``bfcl-eval`` (imported only when the sets are built)."""
    import bfcl_eval

    return Path(next(iter(bfcl_eval.__path__))) / "data"


def _load(name: str) -> list[dict]:
    path = _data() / f"BFCL_v4_{name}.json"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _answers(name: str) -> dict[str, list]:
    path = _data() / "possible_answer" / f"BFCL_v4_{name}.json"
    if not path.exists():
        return {}
    return {r["id"]: r["ground_truth"] for r in map(json.loads, path.read_text().splitlines())}


def _cases(name: str, count: int, rng: random.Random) -> list[dict]:
    answers = _answers(name)
    cases = [
        case
        for case in _load(name)
        if len(json.dumps(case["function"])) <= MAX_SPEC_CHARS
        and (case["id"] in answers or name.endswith("irrelevance"))
    ]
    chosen = rng.sample(cases, count)
    return [
        {
            "id": case["id"],
            "question": case["question"],
            "function": case["function"],
            "expected": answers.get(case["id"], []),
        }
        for case in sorted(chosen, key=lambda c: c["id"])
    ]


def run(args: argparse.Namespace) -> Result:
    """Write both sets (the cases each file got)."""
    del args  # no options of its own
    rng = random.Random(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    per_category: list[list[dict]] = []
    for name in ("live_simple", "live_multiple"):
        cases = _cases(name, 80, rng)
        rng.shuffle(cases)
        per_category.append(
            [{**case, "split": "dev" if i % 2 == 0 else "test"} for i, case in enumerate(cases)]
        )
    # Interleaved, so that the first N records (--limit N) mix both categories.
    live = [case for pair in zip(*per_category, strict=True) for case in pair]
    final = [
        {**case, "split": "final"}
        for name in ("simple_python", "multiple", "irrelevance")
        for case in _cases(name, 40, rng)
    ]
    written = {}
    for file_name, records in (("bfcl_live.jsonl", live), ("bfcl_final.jsonl", final)):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        (OUT / file_name).write_text(text, encoding="utf-8")
        print(f"{OUT / file_name}: {len(records)} cases")
        written[file_name] = len(records)
    return Result(written)
