"""BFCL with the caller: a plain-prompt variant to compare with, and the sets it is measured on.

As a graphs file it exposes ``caller_plain``: the same Caller role, but always on its
own few-shot prompt (``native_tools = False``), never through a model's own tool
template, which is what ``caller`` did before the template path existed::

    smallagents eval caller_plain --graphs benchmarks/bfcl_caller.py \\
        --input benchmarks/data/bfcl_dev.jsonl --metric call --model caller=qwen-0.5b

and ``caller_all_tools``: the Caller shown every tool of a request, which is what
``caller`` did before it was shown only the two its request's words pick::

    smallagents eval caller_all_tools --graphs benchmarks/bfcl_caller.py \\
        --input examples/labeled/bfcl_live.jsonl --split dev --metric call --model caller=qwen-0.5b

Run as ``python -m benchmarks bfcl_caller`` it writes the sets (BFCL v4, Apache-2.0, from
PyPI ``bfcl-eval``):

* ``benchmarks/data/bfcl_dev.jsonl``: 60 cases for tuning, 20 each of live_simple and
  live_multiple (the first dev cases of ``examples/labeled/bfcl_live.jsonl``) and 20
  of live_irrelevance (split ``dev``);
* ``benchmarks/data/bfcl_live_irrelevance.jsonl``: 40 live_irrelevance cases with a
  fixed seed, 20 ``dev`` and 20 ``test`` (held out: never tuned on).

``--measure MODEL [--cases N] [--variants template,plain]`` runs the callers on the
first N cases of each category of ``bfcl_dev.jsonl`` (default 10), case by case in
one process (so the speed ratio holds on a busy machine), and prints accuracy by BFCL's rule
(``smallagents.evaluation.metrics.function_calls``) and seconds per call.

Only ``live_*`` cases are tuned on; ``examples/labeled/bfcl_final.jsonl`` (simple_python,
multiple, irrelevance) is for final reports only.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import smallagents

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
SEED = 20261202
MAX_SPEC_CHARS = 6000

_ROLES = smallagents.load_roles(ROOT / "roles" / "tool_agent.py")


class PlainCaller(type(_ROLES["caller"])):  # type: ignore[misc]
    """The Caller on its own prompt for every model (no tool template)."""

    native_tools = False


caller_plain = smallagents.CallerPipeline(PlainCaller(), name="caller_plain")


class AllToolsCaller(type(_ROLES["caller"])):  # type: ignore[misc]
    """The Caller shown every tool of a request (``shown_tools = None``), not the two
    its words pick: the README's "Fewer tools" comparison."""

    shown_tools = None


caller_all_tools = smallagents.CallerPipeline(AllToolsCaller(), name="caller_all_tools")


def _irrelevance() -> list[dict]:
    import bfcl_eval

    source = Path(next(iter(bfcl_eval.__path__))) / "data" / "BFCL_v4_live_irrelevance.json"
    cases = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    fitting = [
        case
        for case in cases
        if case["function"] and len(json.dumps(case["function"])) <= MAX_SPEC_CHARS
    ]
    chosen = sorted(random.Random(SEED).sample(fitting, 40), key=lambda c: c["id"])
    return [
        {
            "id": c["id"],
            "question": c["question"],
            "function": c["function"],
            "expected": [],
            "split": "dev" if i % 2 == 0 else "test",
        }
        for i, c in enumerate(chosen)
    ]


def measure(model: str, cases: int, variants: tuple[str, ...] = ("template", "plain")) -> None:
    """Both callers on the dev cases, one case at a time; accuracy and seconds per call."""
    from smallagents.evaluation.metrics import function_calls
    from smallagents.run import RoleSettings
    from smallagents.tools import caller_inputs

    records = [json.loads(line) for line in (DATA / "bfcl_dev.jsonl").read_text().splitlines()]
    by_category: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_category[record["id"].rsplit("_", 1)[0]].append(record)
    # Round robin over the categories: a run cut short still has some of each.
    chosen = [g[i] for i in range(cases) for g in by_category.values() if i < len(g)]
    callers = {
        name: role
        for name, role in (("template", _ROLES["caller"]), ("plain", PlainCaller()))
        if name in variants
    }
    pool = smallagents.ModelPool(threads=1)
    run = smallagents.Run(pool=pool, settings={"caller": RoleSettings(model=model)})
    right: dict[tuple[str, str], int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    for record in chosen:
        query, tools = caller_inputs(record)
        inputs = {"query": query, "tools": [t.to_openai() for t in tools], "history": ""}
        category = record["id"].rsplit("_", 1)[0]
        for variant, role in callers.items():
            started = time.perf_counter()
            answer = role.invoke(inputs, run=run)
            seconds[variant] += time.perf_counter() - started
            value = answer.value if answer.resolved else None
            score = function_calls(
                {"calls": smallagents.tools.calls_of(value)} if value is not None else None,
                record["expected"],
            )
            right[(variant, category)] += score.correct
            print(
                json.dumps(
                    {
                        "id": record["id"],
                        "variant": variant,
                        "correct": score.correct,
                        "detail": score.detail,
                        "calls": smallagents.tools.calls_of(value),
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
    pool.close()
    for variant in callers:
        per = {c: right[(variant, c)] / len(g[:cases]) for c, g in by_category.items()}
        print(
            f"{model} {variant}: "
            + ", ".join(f"{c} {v:.2f}" for c, v in per.items())
            + f"; {seconds[variant] / len(chosen):.1f} s a call"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--measure MODEL``, ``--cases``, ``--variants``."""
    parser.add_argument("--measure", metavar="MODEL")
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument(
        "--variants", default="template,plain", help="template, plain or both (comma-separated)"
    )


def run(args: argparse.Namespace) -> dict[str, int] | None:
    """Measure the callers (``--measure``), or write the sets (the cases each file got).

    This file is also loaded by path as a graphs file, where the ``benchmarks``
    package is not importable: it returns plain data, not a ``benchmarks._common.Result``.
    """
    if args.measure:
        measure(args.measure, args.cases, tuple(args.variants.split(",")))
        return None
    irrelevance = _irrelevance()
    live = [
        json.loads(line)
        for line in (ROOT / "examples" / "labeled" / "bfcl_live.jsonl").read_text().splitlines()
    ]
    dev = [r for r in live if r["split"] == "dev" and r["id"].startswith("live_simple")][:20]
    dev += [r for r in live if r["split"] == "dev" and r["id"].startswith("live_multiple")][:20]
    dev += [r for r in irrelevance if r["split"] == "dev"]
    written = {}
    for name, records in (("bfcl_live_irrelevance.jsonl", irrelevance), ("bfcl_dev.jsonl", dev)):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        (DATA / name).write_text(text, encoding="utf-8")
        print(f"{DATA / name}: {len(records)} cases")
        written[name] = len(records)
    return written
