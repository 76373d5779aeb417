"""Judges of instruction/response pairs that small models can actually do.

A small reviewer's generated 1-10 score separates good from bad pairs no better
than a coin (FACTS.md: AUROC 0.52 to 0.58). Two things work better, measured
with ``smallagents eval`` on ``examples/judge_pairs.jsonl`` (see the README's
"Judges" table):

* ``judge_yes_no``: one yes/no question. The answer is one constrained token, and
  its probability, read off the decoder (``RoleRecord.confidence["verdict"]``),
  is a calibrated score: accept when P(yes) clears a threshold measured on the dev
  split, not when the greedy word is "yes".
* ``judge_solve`` then ``judge_agree``: the model answers the instruction itself,
  then says whether the candidate's answer agrees with its own. Small models
  generate better than they critique.

Written only against the public ``smallagents`` API.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

import smallagents


class Verdict(BaseModel):
    """A yes/no verdict; its probability is the judge's score."""

    verdict: Literal["yes", "no"]


class Solution(BaseModel):
    """The judge's own short answer to an instruction."""

    answer: str = Field(min_length=1, max_length=200)


class Sample(BaseModel):
    """One more answer of the judge's own, as long as a dataset's response."""

    answer: str = Field(min_length=1, max_length=320)


_JUDGE_SYSTEM = (
    "You check answers written for a dataset. A good answer is correct, on topic and "
    "complete, and the instruction is a real request. Reply with JSON only."
)

_YES_NO_EXAMPLES = [
    (
        {"instruction": "What is 6 times 7?", "response": "6 times 7 is 42."},
        Verdict(verdict="yes"),
    ),
    (
        {"instruction": "What is the capital of Canada?", "response": "The capital is Toronto."},
        Verdict(verdict="no"),
    ),
    (
        {
            "instruction": "How do I make a Python list empty?",
            "response": "Call my_list.clear(), or assign my_list = [] for a new empty list.",
        },
        Verdict(verdict="yes"),
    ),
    (
        {
            "instruction": "How many legs does a spider have?",
            "response": "Spiders spin webs from silk made in their bodies.",
        },
        Verdict(verdict="no"),
    ),
]


@smallagents.role(
    name="judge_yes_no",
    model="qwen-1.5b",
    system=_JUDGE_SYSTEM,
    max_tokens=12,
    examples=_YES_NO_EXAMPLES,
)
def judge_yes_no(instruction: str, response: str) -> Verdict:
    """Instruction: {instruction}
    Response: {response}
    Is the response a correct, on-topic and complete answer to the instruction? Answer yes
    or no."""


@smallagents.role(
    name="judge_solve",
    model="qwen-1.5b",
    system="You answer questions briefly and correctly. Reply with JSON only.",
    max_tokens=96,
    examples=[
        ({"instruction": "What is 9 plus 8?"}, Solution(answer="17")),
        ({"instruction": "What is the capital of Japan?"}, Solution(answer="Tokyo")),
    ],
)
def judge_solve(instruction: str) -> Solution:
    """{instruction}"""


@smallagents.role(
    name="judge_agree",
    model="qwen-1.5b",
    system="You compare two answers to the same instruction. Reply with JSON only.",
    max_tokens=12,
    examples=[
        (
            {
                "instruction": "What is 9 plus 8?",
                "reference": "17",
                "response": "9 + 8 = 17.",
            },
            Verdict(verdict="yes"),
        ),
        (
            {
                "instruction": "What is the capital of Japan?",
                "reference": "Tokyo",
                "response": "The capital of Japan is Kyoto.",
            },
            Verdict(verdict="no"),
        ),
    ],
)
def judge_agree(instruction: str, reference: str, response: str) -> Verdict:
    """Instruction: {instruction}
    Reference answer: {reference}
    Candidate answer: {response}
    Does the candidate give the same answer as the reference and address the instruction?
    Answer yes or no."""


# A long response can state the right short answer and a wrong detail beside it
# ("Mount Elbrus ... about 17,440 meters" passed a solver whose answer was "Mount
# Elbrus"): this judge reads every claim of the response, and its P(yes) gates the
# solving review's accept (gra's ``claims_threshold``).
_CLAIMS_EXAMPLES = [
    (
        {
            "instruction": "How tall is Mount Everest?",
            "response": "Mount Everest is about 8,849 meters (29,032 feet) tall, the highest "
            "mountain above sea level.",
        },
        Verdict(verdict="yes"),
    ),
    (
        {
            "instruction": "What is the largest ocean?",
            "response": "The Pacific Ocean is the largest; it covers about a tenth of the "
            "Earth's surface.",
        },
        Verdict(verdict="no"),
    ),
    (
        {
            "instruction": "How do I read a file line by line in Python?",
            "response": "Open it with `with open(path) as f:` and loop `for line in f:`; each "
            "line keeps its newline.",
        },
        Verdict(verdict="yes"),
    ),
    (
        {
            "instruction": "How many bones does an adult human have?",
            "response": "An adult human has 206 bones; the smallest, the stapes, is in the "
            "little finger.",
        },
        Verdict(verdict="no"),
    ),
]


@smallagents.role(
    name="judge_claims",
    model="qwen-1.5b",
    system="You fact-check answers written for a dataset. Reply with JSON only.",
    max_tokens=12,
    examples=_CLAIMS_EXAMPLES,
)
def judge_claims(instruction: str, response: str) -> Verdict:
    """Instruction: {instruction}
    Response: {response}
    Is every fact, number and step in the response true? Answer yes or no."""


# gra's figure check draws a few answers of the reviewer's own at temperature and
# rejects a response none of whose figures they state: a figure the model knows comes
# back each time, an invented one does not (graphs/gra/_figures.py).
@smallagents.role(
    name="judge_sample",
    model="qwen-1.5b",
    system="You answer questions correctly in one to three sentences, with the key figures. "
    "Reply with JSON only.",
    max_tokens=120,
    temperature=0.8,
    examples=[
        (
            {"instruction": "What is the boiling point of water at sea level?"},
            Sample(
                answer="Water boils at 100 degrees Celsius (212 degrees Fahrenheit) at sea level."
            ),
        ),
    ],
)
def judge_sample(instruction: str) -> Sample:
    """{instruction}"""
