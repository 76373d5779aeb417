"""Decode benchmark: constrained JSON against raw decoding, per-call costs, prefix reuse.

Run ``python -m benchmarks decode`` (``--quick`` for fewer rounds, ``--json PATH`` for
the figures as JSON). Every figure is a ratio or a cost measured in this one
run, so a noisy shared machine moves both sides together. Targets:

* constrained / raw decode throughput for the same tokens        >= 0.95
* fixed cost per call, schema already used                       <= 10 ms
* fixed cost per call, first use of a new schema                 <= 150 ms
* five samples of one prompt / (one prefill + five decodes)       <= 1.0 (+ noise)
* decode throughput with token confidence recorded / without        >= 0.98 ("at no
  measurable cost"), constrained and unconstrained

For the README's "Why llguidance" table it also measures, where installed,
llama.cpp's own GBNF grammar and an outlines generator on the same prompt.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from benchmarks._common import Result, load_llama, model_specs, models_argument
from smallagents import compile_schema
from smallagents.models.llama import LlamaModel

PROMPT = "Invent one fictional person. Give their name, age, occupation and up to three hobbies."
SCHEMA = "person"


def _new_schema(index: int) -> dict[str, Any]:
    """A schema never seen before (defeats every cache), of the demo's size."""
    return {
        "title": f"Fresh{index}",
        "type": "object",
        "properties": {
            f"name_{index}": {"type": "string", "maxLength": 30},
            "score": {"type": "integer", "minimum": 0, "maximum": 100 + index},
            "tags": {"type": "array", "items": {"enum": ["a", "b", f"c{index}"]}, "maxItems": 3},
        },
        "required": [f"name_{index}", "score", "tags"],
    }


def _long_prompt(model: LlamaModel) -> str:
    examples = "\n".join(
        f"Example {i}: a {20 + i}-year-old {job} named Person{i} who likes {hobby}."
        for i, (job, hobby) in enumerate(
            [("teacher", "chess"), ("farmer", "fishing"), ("doctor", "running")] * 12
        )
    )
    return f"{examples}\n\n{PROMPT}"


def measure(alias: str, rounds: int) -> dict[str, float]:
    model = load_llama(alias)
    llm = model._llm
    compile_schema(SCHEMA)
    model.generate(PROMPT, schema=SCHEMA, max_tokens=160, seed=0)  # builds the tokenizer index

    # 1. Throughput: alternate constrained and raw decoding of the same length.
    tokens = model.tokenize(model.render(PROMPT))
    constrained_tokens = constrained_seconds = raw_tokens = raw_seconds = 0.0
    overheads: list[float] = []
    for i in range(rounds):
        started = time.perf_counter()
        generation = model.generate(PROMPT, schema=SCHEMA, max_tokens=160, temperature=0.7, seed=i)
        overheads.append(time.perf_counter() - started - generation.seconds)
        constrained_tokens += generation.completion_tokens
        constrained_seconds += generation.seconds
        started = time.perf_counter()
        raw = llm.create_completion(
            tokens, max_tokens=generation.completion_tokens, temperature=0.7, seed=i
        )
        raw_seconds += time.perf_counter() - started
        raw_tokens += raw["usage"]["completion_tokens"]
    constrained_rate = constrained_tokens / constrained_seconds
    raw_rate = raw_tokens / raw_seconds

    # 2. First use of a schema: compile, grammar check, matcher for this tokenizer.
    first_use: list[float] = []
    for i in range(max(3, rounds // 2)):
        fresh = _new_schema(i + 1000 * rounds + hash(alias) % 997)
        started = time.perf_counter()
        generation = model.generate(PROMPT, schema=fresh, max_tokens=120, seed=i)
        first_use.append(time.perf_counter() - started - generation.seconds)

    # 3. Five samples of one long prompt against one prefill plus five decodes.
    #    A decode's cost is measured in the same long context, unconstrained
    #    (llama-cpp-python's own loop), so it is independent of our code path.
    long_prompt = _long_prompt(model)
    long_tokens = model.tokenize(model.render(long_prompt))
    decoy = model.tokenize(model.render("Decoy. " + long_prompt))
    llm.reset()
    started = time.perf_counter()
    llm.create_completion(decoy, max_tokens=1)  # one full prefill of the same length
    prefill = time.perf_counter() - started
    started = time.perf_counter()
    warm = llm.create_completion(decoy, max_tokens=48, temperature=0.9, seed=1)
    long_decode_rate = warm["usage"]["completion_tokens"] / (time.perf_counter() - started)
    llm.reset()
    model._last_prompt = []  # the next call must prefill
    five_total = 0.0
    five_tokens = 0
    for seed in range(5):
        started = time.perf_counter()
        generation = model.generate(
            long_prompt, schema=SCHEMA, max_tokens=160, temperature=0.9, seed=seed
        )
        five_total += time.perf_counter() - started
        five_tokens += generation.completion_tokens
    five_expected = prefill + five_tokens / long_decode_rate

    result = {
        "raw_tok_s": raw_rate,
        "constrained_tok_s": constrained_rate,
        "throughput_ratio": constrained_rate / raw_rate,
        "fixed_cost_ms_cached": 1000 * statistics.median(overheads),
        "fixed_cost_ms_first_use": 1000 * statistics.median(first_use),
        "prompt_tokens_long": float(len(long_tokens)),
        "prefill_s": prefill,
        "five_samples_ratio": five_total / five_expected,
        "five_samples_without_reuse_ratio": (5 * prefill + five_tokens / long_decode_rate)
        / five_expected,
    }
    result.update(_confidence_cost(model, rounds))
    result.update(_alternatives(model, tokens, rounds))
    return result


def _confidence_cost(model: LlamaModel, rounds: int) -> dict[str, float]:
    """Decode throughput with token logprobs recorded over without, same calls, interleaved."""
    seconds = {(schema, on): 0.0 for schema in (SCHEMA, None) for on in (True, False)}
    tokens = dict.fromkeys(seconds, 0)
    try:
        for i in range(2 * rounds):
            for schema in (SCHEMA, None):
                # Alternate which setting goes first, so drift hits both alike.
                for on in (True, False) if i % 2 else (False, True):
                    model.confidence = on
                    generation = model.generate(
                        PROMPT, schema=schema, max_tokens=120, temperature=0.7, seed=i
                    )
                    seconds[schema, on] += generation.seconds
                    tokens[schema, on] += generation.completion_tokens
    finally:
        model.confidence = True

    def rate(schema: str | None, on: bool) -> float:
        return tokens[schema, on] / seconds[schema, on]

    return {
        "confidence_on_off_ratio_constrained": rate(SCHEMA, True) / rate(SCHEMA, False),
        "confidence_on_off_ratio_raw": rate(None, True) / rate(None, False),
    }


def _alternatives(model: LlamaModel, tokens: list[int], rounds: int) -> dict[str, float]:
    """GBNF and outlines on the same prompt: speed relative to raw, and validity."""
    from llama_cpp import LlamaGrammar

    schema = compile_schema(SCHEMA)
    llm = model._llm
    out: dict[str, float] = {}
    grammar = LlamaGrammar.from_json_schema(json.dumps(schema.json_schema), verbose=False)
    rate_tokens = rate_seconds = valid = 0.0
    for i in range(rounds):
        started = time.perf_counter()
        raw = llm.create_completion(
            tokens, max_tokens=160, temperature=0.7, seed=i, grammar=grammar
        )
        rate_seconds += time.perf_counter() - started
        rate_tokens += raw["usage"]["completion_tokens"]
        valid += _is_valid(schema, raw["choices"][0]["text"])
    out["gbnf_tok_s"] = rate_tokens / rate_seconds
    out["gbnf_valid_share"] = valid / rounds
    try:
        import outlines
        from outlines.types import JsonSchema
    except ImportError:
        return out
    text_prompt = model.render(PROMPT)
    build: list[float] = []
    rate_tokens = rate_seconds = valid = 0.0
    for i in range(max(2, rounds // 2)):
        started = time.perf_counter()
        generator = outlines.Generator(
            outlines.from_llamacpp(llm, chat_mode=False),
            JsonSchema(json.dumps(schema.json_schema)),
            backend="llguidance",
        )
        build.append(time.perf_counter() - started)
        started = time.perf_counter()
        text = generator(text_prompt, max_tokens=160, temperature=0.7, seed=i)
        rate_seconds += time.perf_counter() - started
        rate_tokens += len(llm.tokenize(text.encode(), add_bos=False))
        valid += _is_valid(schema, text)
    out["outlines_build_s"] = statistics.median(build)
    out["outlines_tok_s_incl_prefill"] = rate_tokens / rate_seconds
    out["outlines_valid_share"] = valid / max(2, rounds // 2)
    return out


def _is_valid(schema: Any, text: str) -> float:
    try:
        schema.parse(text)
    except Exception:
        return 0.0
    return 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quick`` (4 rounds instead of 10) and ``--models``."""
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    models_argument(parser, "default,gemma-270m")


def run(args: argparse.Namespace) -> Result:
    """Measure each model and print its figures."""
    rounds = 4 if args.quick else 10
    results = {alias: measure(alias, rounds) for alias in model_specs(args.models)}
    for alias, figures in results.items():
        print(f"== {alias}")
        for key, value in figures.items():
            print(f"  {key:34s} {value:10.3f}")
    return Result(results)
