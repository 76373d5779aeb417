"""Roles of the peer-review pipeline: write an instruction/response pair, review it, settle it.

Written only against the public ``smallagents`` API; ``graphs/peer_review.py``
wires them together. Answers are short on purpose: the default model is a 135M
model, and every token it does not write is one it cannot get wrong.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

import smallagents


class Pair(BaseModel):
    """One training example: what a user asks and what a good assistant answers."""

    instruction: str = Field(min_length=8, max_length=120)
    response: str = Field(min_length=2, max_length=200)


class Review(BaseModel):
    """One reviewer's opinion; the feedback comes first so the score can follow from it."""

    feedback: str = Field(min_length=2, max_length=120)
    score: int = Field(ge=1, le=10)
    accept: bool


class Verdict(BaseModel):
    """The adjudicator's decision on a pair the reviewers disagreed on."""

    rationale: str = Field(min_length=2, max_length=160)
    accept: bool


@smallagents.role(
    name="pair_generator",
    system="You write training examples for a helpful assistant. Answer with JSON only.",
    max_tokens=140,  # room for both strings at their longest, which the grammar enforces
    examples=[
        (
            {"domain": "cooking"},
            Pair(
                instruction="How long should I boil an egg to get a runny yolk?",
                response="Boil it for about six minutes, then put it in cold water to stop "
                "the cooking.",
            ),
        ),
        (
            {"domain": "geography"},
            Pair(
                instruction="What is the capital of Australia?",
                response="The capital of Australia is Canberra.",
            ),
        ),
    ],
)
def pair_generator(domain: str) -> Pair:
    """Write an instruction a user might give an assistant about {domain}, and a response.
    The response must be correct, helpful and short."""


@smallagents.role(
    name="pair_reviewer",
    system="You review training examples for a helpful assistant. Answer with JSON only.",
    max_tokens=80,
    examples=[
        (
            {
                "domain": "geography",
                "focus": "correctness",
                "instruction": "What is the capital of Australia?",
                "response": "The capital of Australia is Sydney.",
            },
            Review(feedback="Wrong: the capital is Canberra.", score=2, accept=False),
        ),
        (
            {
                "domain": "cooking",
                "focus": "clarity",
                "instruction": "How long should I boil an egg to get a runny yolk?",
                "response": "Boil it for about six minutes, then put it in cold water.",
            },
            Review(feedback="Clear and correct.", score=9, accept=True),
        ),
    ],
)
def pair_reviewer(domain: str, focus: str, instruction: str, response: str) -> Review:
    """Review this {domain} example for its {focus}.
    Instruction: {instruction}
    Response: {response}
    Give short feedback, a score from 1 (useless) to 10 (perfect), and accept it only if
    the response is correct and helpful."""


@smallagents.role(
    name="pair_adjudicator",
    system="You settle disagreements between reviewers of training examples. "
    "Answer with JSON only.",
    max_tokens=100,
    examples=[
        (
            {
                "domain": "geography",
                "instruction": "What is the capital of Australia?",
                "response": "The capital of Australia is Sydney.",
                "reviews": "correctness: score 2, reject (Wrong: the capital is Canberra.)\n"
                "clarity: score 8, accept (Short and clear.)",
            },
            Verdict(rationale="Clear but wrong: Canberra is the capital.", accept=False),
        ),
    ],
)
def pair_adjudicator(domain: str, instruction: str, response: str, reviews: str) -> Verdict:
    """Settle two reviewers' disagreement on this {domain} example.
    Instruction: {instruction}
    Response: {response}
    Reviews:
    {reviews}
    Decide whether to keep it: accept only if the response is correct and helpful. Give a
    one-sentence rationale."""
