"""examples/judge_pairs.jsonl: the labeled pairs judges are measured on.

The file is what ``python -m benchmarks judge_pairs`` writes (which runs every Python
snippet it quotes and computes every number); its labels, kinds and splits are
balanced, and no fact has pairs on both sides of the dev/test split.
"""

from __future__ import annotations

import collections
import importlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT / "examples" / "judge_pairs.jsonl"
if str(ROOT) not in sys.path:  # the source tree's benchmarks package, as `python -m` sees it
    sys.path.insert(0, str(ROOT))
KINDS = {"good", "wrong_answer", "off_topic", "statement", "truncated", "repetitive",
         "restates_question"}  # fmt: skip


def pairs() -> list[dict]:
    return [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]


def test_the_file_is_what_the_builder_writes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "judge_pairs", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_labels_kinds_and_splits_are_balanced() -> None:
    rows = pairs()
    assert len(rows) >= 120
    assert len({row["id"] for row in rows}) == len(rows)
    labels = collections.Counter(row["label"] for row in rows)
    assert labels["accept"] == labels["reject"] == len(rows) // 2
    assert {row["kind"] for row in rows} == KINDS
    for row in rows:
        assert (row["label"] == "accept") is (row["kind"] == "good"), row
        assert row["split"] in ("dev", "test")
        assert row["instruction"].strip() and row["response"].strip()
    test_share = sum(row["split"] == "test" for row in rows) / len(rows)
    assert 0.35 <= test_share <= 0.45
    for split in ("dev", "test"):
        kinds = {row["kind"] for row in rows if row["split"] == split}
        assert kinds == KINDS, split  # every defect is in both splits


def test_a_fact_never_spans_the_split() -> None:
    splits = collections.defaultdict(set)
    for row in pairs():
        splits[row["group"]].add(row["split"])
    assert all(len(seen) == 1 for seen in splits.values())


def test_the_quoted_python_is_checked() -> None:
    builder = vars(importlib.import_module("benchmarks.judge_pairs"))
    facts = builder["python_facts"]()  # raises SystemExit if a snippet's claim is off
    assert len(facts) == len(builder["SNIPPETS"]) >= 10
    ran, value = builder["_run"]("'hello'[::-1]")
    assert ran and value == "olleh"
    assert builder["_run"]("'42'.to_int()") == (False, None)


def test_defects_look_like_their_kind() -> None:
    for row in pairs():
        text = row["response"]
        if row["kind"] == "truncated":
            assert not text.rstrip().endswith((".", "!", "?", ")")), row
        elif row["kind"] == "repetitive":
            words = text.split()
            assert len(words) > 2 * len(set(words)), row
        elif row["kind"] == "restates_question":
            assert row["instruction"] in text, row
        elif row["kind"] == "statement":
            assert not row["instruction"].endswith("?"), row


HOLDOUT = Path(__file__).resolve().parents[1] / "examples" / "labeled" / "judge_holdout.jsonl"


def test_the_fresh_holdout_pairs_are_balanced_twins() -> None:
    # examples/labeled/judge_holdout.jsonl: 24 facts written by hand (session 4), kept
    # out of every choice of prompt, model and threshold; each a good pair and a bad twin.
    rows = [json.loads(line) for line in HOLDOUT.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 48 and len({r["id"] for r in rows}) == 48
    assert {r["split"] for r in rows} == {"holdout"}
    groups = collections.defaultdict(list)
    for row in rows:
        groups[row["group"]].append(row)
    assert all(sorted(r["label"] for r in g) == ["accept", "reject"] for g in groups.values())
    bad_kinds = collections.Counter(r["kind"] for r in rows if r["label"] == "reject")
    assert set(bad_kinds) == {
        "wrong_answer",
        "off_topic",
        "statement",
        "truncated",
        "repetitive",
        "restates_question",
    }
    assert bad_kinds["wrong_answer"] == 10
    # One instruction is word for word in examples/judge_pairs.jsonl (two more ask the same
    # fact in other words: 2.5 kg in grams, the capital of Turkey); the README says so.
    shared = {r["instruction"] for r in rows} & {r["instruction"] for r in pairs()}
    assert shared == {"What is the chemical symbol for gold?"}
