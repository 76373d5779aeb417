"""Roles of the gra pipeline: Generator, Reviewers, Adjudicator (and the Generator's refiner).

Written only against the public ``smallagents`` API; ``graphs/gra/`` wires them
together. Every template ends in a cue line ("New example:", "Review:",
"Decision:") so that a base model, which gets the few-shot examples as plain text
(each filled template followed by its JSON answer), continues with the JSON; a
chat model gets the same examples as user/assistant turns. Answers are short on
purpose: the default models have 135M and 270M parameters, and every token they do
not write is one they cannot get wrong.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from pydantic import BaseModel, Field

import smallagents


class Pair(BaseModel):
    """One training example: what a user asks and what a good assistant answers."""

    instruction: str = Field(min_length=8, max_length=160)
    response: str = Field(min_length=2, max_length=320)


class Review(BaseModel):
    """One reviewer's opinion; problems and feedback come first so the score follows them."""

    problems: list[str] = Field(max_length=2)
    feedback: str = Field(min_length=2, max_length=120)
    score: int = Field(ge=1, le=10)
    accept: bool


class Adjudication(BaseModel):
    """The adjudicator's decision on a pair the reviewers disagreed on.

    ``revision`` is the corrected pair when the verdict is ``revise``, else null.
    """

    rationale: str = Field(min_length=2, max_length=160)
    verdict: Literal["accept", "reject", "revise"]
    revision: Pair | None


# --- the Generator ----------------------------------------------------------------------

_EGG = Pair(
    instruction="How long should I boil an egg to get a runny yolk?",
    response="Boil it for about six minutes, then put it in cold water to stop the cooking.",
)
_RICE = Pair(
    instruction="How much water do I need to cook one cup of white rice?",
    response="Use about two cups of water for one cup of white rice, then simmer it covered "
    "for 18 minutes.",
)
_CANBERRA = Pair(
    instruction="What is the capital of Australia?",
    response="The capital of Australia is Canberra.",
)
_NILE = Pair(
    instruction="Which river is the longest in Africa?",
    response="The Nile is the longest river in Africa, about 6,650 km long.",
)
_LEN = Pair(
    instruction="How do I get the number of items in a Python list?",
    response="Use the built-in len function: len(my_list) returns the number of items.",
)
_REVERSE = Pair(
    instruction="How can I reverse a string in Python?",
    response='Use slicing with a step of -1: "hello"[::-1] gives "olleh".',
)


@smallagents.role(
    name="gra_generator",
    # Read one by one, 12 drafts each from the bundled seeds: correct and useful
    # SmolLM2-135M 0, Qwen2.5-Coder-0.5B 4, Qwen2.5-Coder-1.5B 8 (README, "gra pipeline").
    model="qwen-1.5b",
    system="You write training examples for a helpful assistant. Answer with JSON only.",
    # Sampled, not greedy: several samples of one seed should differ.
    temperature=0.7,
    max_tokens=256,  # both strings at their longest, which the grammar enforces
    examples=[
        (
            {
                "domain": "cooking",
                "seed_instruction": _EGG.instruction,
                "seed_response": _EGG.response,
            },
            _RICE,
        ),
        (
            {
                "domain": "geography",
                "seed_instruction": _CANBERRA.instruction,
                "seed_response": _CANBERRA.response,
            },
            _NILE,
        ),
        (
            {
                "domain": "programming",
                "seed_instruction": _LEN.instruction,
                "seed_response": _LEN.response,
            },
            _REVERSE,
        ),
    ],
)
def gra_generator(domain: str, seed_instruction: str, seed_response: str) -> Pair:
    """Domain: {domain}
    Existing example:
    Instruction: {seed_instruction}
    Response: {seed_response}
    Write a new example in the same domain that asks about something different, with a
    correct and helpful response.
    New example:"""


@smallagents.role(
    name="gra_generator_steered",
    # The Generator when the job is given pairs the user already holds (gra's `avoid`
    # and `steer` settings): the same role, shown the earlier instructions nearest to
    # its seed. The graph plays it under the name gra_generator, so
    # `--model gra_generator=SPEC` and the records treat both as one role. Asked for
    # "something different", the 1.5B model wrote questions it gets wrong ("the
    # smallest continent"); asked for another common question it did not (README,
    # "Growing a dataset").
    model="qwen-1.5b",
    system="You write training examples for a helpful assistant. Answer with JSON only.",
    temperature=0.7,
    max_tokens=256,
    examples=[
        (
            {
                "domain": "cooking",
                "seed_instruction": _EGG.instruction,
                "seed_response": _EGG.response,
                "earlier": "- How do I keep pasta from sticking together?\n"
                "- What temperature should I bake chicken breasts at?",
            },
            _RICE,
        ),
        (
            {
                "domain": "geography",
                "seed_instruction": _CANBERRA.instruction,
                "seed_response": _CANBERRA.response,
                "earlier": "- What is the capital of France?\n- What is the largest desert "
                "in the world?\n- What is the highest mountain in Europe?",
            },
            _NILE,
        ),
        (
            {
                "domain": "programming",
                "seed_instruction": _LEN.instruction,
                "seed_response": _LEN.response,
                "earlier": "- How can I create a new branch in Git?",
            },
            _REVERSE,
        ),
    ],
)
def gra_generator_steered(
    domain: str, seed_instruction: str, seed_response: str, earlier: str
) -> Pair:
    """Domain: {domain}
    Existing example:
    Instruction: {seed_instruction}
    Response: {seed_response}
    Already in the dataset, so do not repeat these questions:
    {earlier}
    Write a new example: another common, practical {domain} question that people often
    ask, none of the above, with a correct and helpful response you are sure of.
    New example:"""


@smallagents.role(
    name="gra_refiner",
    system="You improve training examples for a helpful assistant. Answer with JSON only.",
    max_tokens=256,
    examples=[
        (
            {
                "domain": "geography",
                "instruction": "Which river is the longest in Africa?",
                "response": "The Amazon.",
                "feedback": "Wrong: the Nile is the longest river in Africa.",
            },
            _NILE,
        ),
        (
            {
                "domain": "cooking",
                "instruction": "Rice?",
                "response": "Use two cups of water for one cup of rice.",
                "feedback": "The instruction is too vague to be useful.",
            },
            _RICE,
        ),
    ],
)
def gra_refiner(domain: str, instruction: str, response: str, feedback: str) -> Pair:
    """Domain: {domain}
    Example:
    Instruction: {instruction}
    Response: {response}
    Reviewers' feedback: {feedback}
    Rewrite the example so that it fixes every problem in the feedback.
    Improved example:"""


# --- the Reviewers ----------------------------------------------------------------------


class GraReviewer(smallagents.Role):
    """A reviewer; the graph runs one `variant` per reviewer, each on its own model."""

    template = """Domain: {domain}
Instruction: {instruction}
Response: {response}
Check that the response is correct, answers the instruction and is helpful. List the
problems (none if there are none), give short feedback, a score from 1 (useless) to 10
(perfect), and accept it only if it is correct and helpful.
Review:"""
    schema = Review
    system = "You review training examples for a helpful assistant. Answer with JSON only."
    max_tokens = 160
    examples = (
        (
            {
                "domain": "geography",
                "instruction": "What is the capital of Australia?",
                "response": "The capital of Australia is Sydney.",
            },
            Review(
                problems=["Sydney is not the capital; Canberra is."],
                feedback="Wrong answer.",
                score=2,
                accept=False,
            ),
        ),
        (
            {
                "domain": "cooking",
                "instruction": "How long should I boil an egg to get a runny yolk?",
                "response": "Boil it for about six minutes, then put it in cold water.",
            },
            Review(problems=[], feedback="Correct, clear and useful.", score=9, accept=True),
        ),
        (
            {
                "domain": "programming",
                "instruction": "How do I get the number of items in a Python list?",
                "response": "Python is a popular programming language.",
            },
            Review(
                problems=["Does not answer the question."],
                feedback="Off topic: it should mention len().",
                score=1,
                accept=False,
            ),
        ),
        (
            {
                "domain": "health",
                "instruction": "Why should I drink water when I exercise?",
                "response": "To replace the water you lose by sweating.",
            },
            Review(
                problems=[],
                feedback="Correct but short; could mention dehydration.",
                score=7,
                accept=True,
            ),
        ),
    )

    def variant(self, name: str, model: str, *, temperature: float | None = None) -> GraReviewer:
        """The same reviewer under another name, on another model.

        Args:
            name: the variant's role name (how ``--model NAME=SPEC`` and the records
                refer to it).
            model: the model spec that plays it.
            temperature: its sampling temperature (default: this reviewer's, greedy).
        """
        twin = type(self)()
        twin.spec = dataclasses.replace(
            self.spec,
            name=name,
            model=model,
            temperature=self.spec.temperature if temperature is None else temperature,
        )
        return twin


# --- the Adjudicator ----------------------------------------------------------------------


@smallagents.role(
    name="gra_adjudicator",
    system="You settle disagreements between reviewers of training examples. "
    "Answer with JSON only.",
    max_tokens=320,
    # The order matters: a model this small mostly repeats one example's verdict.
    # On the 11 split decisions of a real run on examples/seeds.jsonl, SmolLM2
    # rejected all 11 under two other orders; under this one it rejected the two
    # most broken responses (one repeats itself, one invents a "tongue-removing
    # product") and accepted the rest, some of them wrong.
    examples=[
        (
            {
                "domain": "geography",
                "instruction": "What is the capital of Australia?",
                "response": "The capital of Australia is Sydney.",
                "reviews": "reviewer 1: score 2, reject (Wrong: the capital is Canberra.)\n"
                "reviewer 2: score 8, accept (Short and clear.)",
            },
            Adjudication(
                rationale="Clear but wrong; the fix is one word.",
                verdict="revise",
                revision=_CANBERRA,
            ),
        ),
        (
            {
                "domain": "programming",
                "instruction": "How do I get the number of items in a Python list?",
                "response": "Python is a popular programming language.",
                "reviews": "reviewer 1: score 7, accept (True statement.)\n"
                "reviewer 2: score 1, reject (Does not answer the question.)",
            },
            Adjudication(
                rationale="True but it does not answer the question.",
                verdict="reject",
                revision=None,
            ),
        ),
        (
            {
                "domain": "cooking",
                "instruction": "How much water do I need to cook one cup of white rice?",
                "response": _RICE.response,
                "reviews": "reviewer 1: score 9, accept (Correct and useful.)\n"
                "reviewer 2: score 4, reject (Too long.)",
            },
            Adjudication(
                rationale="Correct and helpful; its length is fine.",
                verdict="accept",
                revision=None,
            ),
        ),
    ],
)
def gra_adjudicator(domain: str, instruction: str, response: str, reviews: str) -> Adjudication:
    """Domain: {domain}
    Instruction: {instruction}
    Response: {response}
    The reviewers disagree:
    {reviews}
    Decide: accept the example as it is, reject it, or revise it (then write the corrected
    instruction and response). Give a one-sentence rationale first.
    Decision:"""
