"""Function-calling benchmark: the tool agent's Caller on 40 requests, with and without votes.

Run ``python -m benchmarks function_calling`` (``--quick`` for 12 requests). For each
model (default: the embedded SmolLM2-135M-Instruct and Gemma 3 270M) and each voting
setting (one greedy answer; ``votes=3``, first-to-ahead-by-3 on the whole answer,
which is the calls' names and arguments, at temperature 0.7 within the Caller's
budget of 6 draws) it prints:

* ``answered``: share of requests that got an answer (every sample red-flagged, for
  instance cut off at ``max_tokens``, leaves none);
* ``valid``: share of the answers whose every call names an offered tool with
  arguments that tool's schema accepts (constrained decoding: must be 100%);
* ``name``: share of requests whose answer's tool names equal the expected ones;
* ``name+args``: share of requests whose calls equal the expected ones. Strings compare
  case-insensitively with whitespace and end punctuation ignored, numbers by value;
  an optional argument the answer adds counts as right only when it equals the
  parameter's declared ``default``;
* ``undecided``: requests whose votes did not settle (the leader is scored);
* ``settled right``: share of the settled answers with the expected calls (a job
  keeps only those: it rejects an undecided vote);
* ``samples``: draws per request, red-flagged ones included; ``seconds``: wall time.

Data: ``benchmarks/data/function_calls.jsonl``, requests written for this benchmark
(weather, currency, stocks, calendar, arithmetic, search, news, email), one or two
OpenAI-style tools each, and the expected call.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import smallagents
from benchmarks._common import ROOT, Result, model_specs, models_argument
from smallagents.run import RoleSettings

DATA = ROOT / "benchmarks" / "data" / "function_calls.jsonl"
MODELS = ("default", "gemma-270m")
VOTES = (1, 3)


def load_items(path: Path, *, quick: bool) -> list[dict[str, Any]]:
    """The benchmark's requests; ``quick`` keeps every third one (all domains stay)."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return items[::3] if quick else items


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, int | float) and isinstance(got, int | float):
        return abs(float(got) - float(want)) < 1e-9
    if isinstance(want, str) and isinstance(got, str):
        return _norm(got) == _norm(want)
    return bool(got == want)


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .!?,;:'\"")


def call_matches(got: Mapping[str, Any], want: Mapping[str, Any], tool: smallagents.Tool) -> bool:
    """Whether a call has the expected name and arguments (see the module docstring)."""
    if got.get("name") != want["name"]:
        return False
    arguments, expected = got.get("arguments", {}), want["arguments"]
    if any(key not in arguments or not _same(arguments[key], v) for key, v in expected.items()):
        return False
    properties = tool.parameters.get("properties", {})
    for key in set(arguments) - set(expected):
        declared = properties.get(key, {})
        if "default" not in declared or not _same(arguments[key], declared["default"]):
            return False
    return True


def score(item: Mapping[str, Any], value: Any) -> dict[str, bool]:
    """Validity and accuracy of one Caller answer (``None``: no answer, not valid)."""
    tools = {tool.name: tool for tool in smallagents.tools.as_tools(item["tools"])}
    calls = list(value.get("calls", [])) if isinstance(value, Mapping) else []
    valid = bool(calls)
    for call in calls:
        tool = tools.get(call.get("name"))
        try:
            if tool is None:
                raise KeyError(call.get("name"))
            tool.validate(call.get("arguments"))
        except (KeyError, smallagents.errors.ToolArgumentError):
            valid = False
    expected = item["expected"]
    names = [c.get("name") for c in calls] == [c["name"] for c in expected]
    exact = names and all(
        call_matches(got, want, tools[want["name"]])
        for got, want in zip(calls, expected, strict=True)
    )
    return {"valid": valid, "name": names, "exact": exact}


def measure(
    caller: smallagents.Role,
    model: str,
    votes: int,
    items: Sequence[Mapping[str, Any]],
    threads: int,
) -> dict[str, Any]:
    """Run the Caller on every item with one model and one voting setting."""
    pool = smallagents.ModelPool(threads=threads)
    run = smallagents.Run(pool=pool, settings={caller.name: RoleSettings(model=model, votes=votes)})
    # Load the model and build its tokenizer index outside the timing.
    warm = items[0]
    caller.invoke({"query": "warm-up", "tools": warm["tools"], "history": ""}, run=run)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for item in items:
        inputs = {"query": item["query"], "tools": item["tools"], "history": ""}
        record = caller.invoke(inputs, run=run)
        rows.append(
            {
                "id": item["id"],
                **score(item, record.value),
                "answered": record.value is not None,
                "undecided": record.value is not None and not record.decided,
                "samples": record.samples,
                "calls": (record.value or {}).get("calls"),
            }
        )
    seconds = time.perf_counter() - started
    pool.close()
    count = len(rows)
    answered = [r for r in rows if r["answered"]]
    settled = [r for r in answered if not r["undecided"]]
    return {
        "model": model,
        "votes": votes,
        "requests": count,
        "answered": len(answered) / count,
        "valid": sum(r["valid"] for r in answered) / len(answered) if answered else 0.0,
        "name": sum(r["name"] for r in rows) / count,
        "exact": sum(r["exact"] for r in rows) / count,
        "undecided": sum(r["undecided"] for r in rows),
        "settled_exact": sum(r["exact"] for r in settled) / len(settled) if settled else 0.0,
        "samples": sum(r["samples"] for r in rows) / count,
        "seconds": seconds,
        "rows": rows,
    }


def table(results: Sequence[Mapping[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| model | votes | requests | answered | valid | name | name+args | undecided "
        "| settled right | samples | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['model']} | {r['votes']} | {r['requests']} | {r['answered']:.0%} | "
            f"{r['valid']:.0%} | "
            f"{r['name']:.0%} | {r['exact']:.0%} | {r['undecided']} | "
            f"{r['settled_exact']:.0%} | {r['samples']:.1f} | "
            f"{r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quick``, ``--models``, ``--votes``, ``--threads``."""
    parser.add_argument("--quick", action="store_true", help="every third request (12 of 40)")
    models_argument(parser, ",".join(MODELS))
    parser.add_argument("--votes", default=",".join(map(str, VOTES)), help="k values, e.g. 1,3")
    parser.add_argument("--threads", type=int, default=1, help="decode threads per model")


def run(args: argparse.Namespace) -> Result:
    """Run the benchmark and print its table; every answer and figure is the JSON result."""
    caller = smallagents.load_roles(ROOT / "roles" / "tool_agent.py")["caller"]
    items = load_items(DATA, quick=args.quick)
    results = []
    for model in model_specs(args.models):
        for votes in (int(k) for k in args.votes.split(",")):
            result = measure(caller, model, votes, items, args.threads)
            print(
                f"{model} votes={votes}: answered {result['answered']:.0%}, valid "
                f"{result['valid']:.0%}, name {result['name']:.0%}, "
                f"name+args {result['exact']:.0%}, {result['seconds']:.0f} s",
                file=sys.stderr,
            )
            results.append(result)
    print(table(results))
    return Result(results, ok=all(r["valid"] == 1.0 for r in results))
