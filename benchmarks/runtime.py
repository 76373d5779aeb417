"""Runtime overhead: a graph of three roles, wall time against the sum of its model calls.

Run ``python -m benchmarks runtime`` (``--quick`` for fewer inputs). The graph
(draft -> critique -> verdict) runs on the embedded default model; the figure is
``wall time of graph.invoke / sum of the seconds its role calls spent in the
model``, measured in the same run. Target: <= 1.05.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, TypedDict

from pydantic import BaseModel, Field

import smallagents
from benchmarks._common import Result
from smallagents import END, START


class Draft(BaseModel):
    answer: str = Field(max_length=120)


class Critique(BaseModel):
    problem: str = Field(max_length=80)
    score: int = Field(ge=1, le=10)


class Verdict(BaseModel):
    accept: bool


@smallagents.role(max_tokens=60)
def draft(question: str) -> Draft:
    """Answer briefly: {question}"""


@smallagents.role(max_tokens=50)
def critique(question: str, answer: str) -> Critique:
    """Question: {question}
    Answer: {answer}
    Name the main problem of the answer and score it from 1 to 10."""


@smallagents.role(max_tokens=12)
def verdict(answer: str, score: int) -> Verdict:
    """Answer: {answer}
    Score: {score}/10. Should this answer be accepted?"""


class State(TypedDict, total=False):
    question: str
    draft: dict[str, Any]
    critique: dict[str, Any]
    verdict: dict[str, Any]


graph = (
    smallagents.Graph("three_roles", state=State)
    .role("draft", draft, output="draft")
    .role(
        "critique",
        critique,
        inputs=lambda s: {"question": s["question"], "answer": s["draft"]["answer"]},
        output="critique",
    )
    .role(
        "verdict",
        verdict,
        inputs=lambda s: {"answer": s["draft"]["answer"], "score": s["critique"]["score"]},
        output="verdict",
    )
    .edge(START, "draft")
    .edge("draft", "critique")
    .edge("critique", "verdict")
    .edge("verdict", END)
)

QUESTIONS = [
    "Why is the sky blue?",
    "What is a prime number?",
    "How do plants make food?",
    "What causes tides?",
    "Why do we have seasons?",
    "What is inflation?",
    "How does a vaccine work?",
    "What is a black hole?",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quick`` (3 questions instead of 8)."""
    parser.add_argument("--quick", action="store_true")


def run(args: argparse.Namespace) -> Result:
    """The graph on each question; the ratio of wall time to model time."""
    app = graph.compile()
    app.invoke({"question": "warm-up"}, run=smallagents.Run())  # model load, schemas
    ratios: list[float] = []
    for question in QUESTIONS[: 3 if args.quick else len(QUESTIONS)]:
        run = smallagents.Run()
        started = time.perf_counter()
        app.invoke({"question": question}, run=run)
        wall = time.perf_counter() - started
        model_seconds = sum(record.seconds for record in run.records)
        assert len(run.records) == 3
        ratios.append(wall / model_seconds)
    print(f"graph of 3 roles, {len(ratios)} inputs on the default model")
    print(
        f"  overhead ratio (wall / model time): median {statistics.median(ratios):.3f}, "
        f"max {max(ratios):.3f}  (target <= 1.05)"
    )
    return Result({"ratios": ratios, "median": statistics.median(ratios), "max": max(ratios)})
