"""Vote cost benchmark: k votes on one prompt against one prefill plus k decodes.

Run ``python -m benchmarks votes`` (``--quick`` for fewer prompts). For a role with
first-to-ahead-by-k voting on the embedded models it prints, measured in one run:

* ``votes_ratio``: wall time of a role's k votes / (one prefill + the decodes of the
  samples drawn). Target: within 5% of 1. The prefill is measured on a
  prompt of the same length; a decode at the constrained rate measured in the same
  context, with nothing else in the timing.
* ``unanimous_cost``: samples drawn when the first k samples agree (greedy votes
  at temperature 0 always agree): must be exactly k.
"""

from __future__ import annotations

import argparse
import json
import time

from pydantic import BaseModel, Field

import smallagents
from benchmarks._common import Result, load_llama, model_specs, models_argument
from smallagents.models.llama import LlamaModel


class Answer(BaseModel):
    city: str = Field(max_length=30)
    country: str = Field(max_length=30)


FEW_SHOT = "\n".join(
    f"Fact {i}: {city} is a large city in {country}."
    for i, (city, country) in enumerate(
        [("Lyon", "France"), ("Osaka", "Japan"), ("Porto", "Portugal"), ("Cork", "Ireland")] * 10
    )
)


def measure(alias: str, k: int, prompts: int) -> dict[str, float]:
    model = load_llama(alias)

    @smallagents.role(model=alias, voting=smallagents.VotingPolicy(k=k, temperature=0.8))
    def capital(question: str) -> Answer:
        """{question}"""

    @smallagents.role(model=alias, voting=smallagents.VotingPolicy(k=k, temperature=0.0))
    def capital_greedy(question: str) -> Answer:
        """{question}"""

    capital.invoke({"question": "warm-up"})  # tokenizer index, schema compile
    ratios: list[float] = []
    unanimous: list[int] = []
    for index in range(prompts):
        question = f"{FEW_SHOT}\n\nQuestion {index}: name one city and its country."
        # One prefill of a prompt of the same length (plus one token), from a cold cache.
        decoy = model_prompt(model, f"Decoy {index}. {question}")
        model._llm.reset()
        prefill = model.generate(decoy, max_tokens=1, seed=0).seconds
        # The constrained decode rate in this context: warm samples on the decoy.
        decode_tokens = decode_seconds = 0.0
        for seed in range(3):
            generation = model.generate(decoy, schema=Answer, temperature=0.8, seed=seed)
            decode_tokens += generation.completion_tokens
            decode_seconds += generation.seconds
        per_token = decode_seconds / decode_tokens
        model._llm.reset()
        started = time.perf_counter()
        record = capital.invoke({"question": question})
        wall = time.perf_counter() - started
        ratios.append(wall / (prefill + record.completion_tokens * per_token))
        greedy = capital_greedy.invoke({"question": question})
        unanimous.append(greedy.samples)
    return {
        "k": float(k),
        "votes_ratio_mean": sum(ratios) / len(ratios),
        "votes_ratio_max": max(ratios),
        "unanimous_samples_mean": sum(unanimous) / len(unanimous),
    }


def model_prompt(model: LlamaModel, question: str) -> object:
    """The prompt a role with template ``{question}`` sends to ``model``."""
    return [{"role": "user", "content": question}] if model.chat else question


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quick`` (2 prompts instead of 5), ``--k``, ``--models``."""
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--k", type=int, default=3)
    models_argument(parser, "default,gemma-270m")


def run(args: argparse.Namespace) -> Result:
    """Measure each model and print its figures."""
    prompts = 2 if args.quick else 5
    results = {alias: measure(alias, args.k, prompts) for alias in model_specs(args.models)}
    for alias, figures in results.items():
        print(f"== {alias}")
        for key, value in figures.items():
            print(f"  {key:26s} {value:8.3f}")
    print(json.dumps(results))
    return Result(results)
