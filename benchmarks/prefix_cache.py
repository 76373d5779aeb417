"""What it costs to keep several prompt prefixes warm in one llama.cpp instance, three ways.

Run ``python -m benchmarks prefix_cache`` (``--models default,gemma-270m``). For a
prompt of about 800 tokens it measures, in one run on one instance with one thread:

* ``fresh``: the prefill itself, in the fixed segments every call uses;
* ``seq_state``: ``llama_state_seq_get_data`` after the prefix (save: bytes and
  time) and ``llama_state_seq_set_data`` into an emptied context (restore time);
* ``ram_cache``: llama-cpp-python's ``save_state``/``load_state`` (what
  ``LlamaRAMCache`` stores): bytes and time;
* ``seq_cp``: the prefix kept in sequence 1 of a four-sequence unified context,
  copied into sequence 0 by ``llama_memory_seq_cp`` (no bytes move);

and for each, whether the logits after the rest of the prompt are bit-identical to
a fresh prefill's (a seeded answer must not depend on what the cache held).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from benchmarks._common import Result, load_llama, model_specs, models_argument
from smallagents.models.llama import LlamaModel, _prefill, prefill_segments
from smallagents.models.pool import ModelPool


def _prompt(index: int) -> str:
    shots = "\n".join(
        f"Example {i}: a {20 + i}-year-old {job} named Person{i} who likes {hobby}."
        for i, (job, hobby) in enumerate(
            [("teacher", "chess"), ("farmer", "fishing"), ("doctor", "running")] * 14
        )
    )
    return f"{shots}\n\nNow describe person number {index} in one sentence as JSON."


def _logits(model: LlamaModel) -> np.ndarray[Any, Any]:
    llm = model._llm
    return np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(llm.n_vocab(),)).copy()


def _fresh(model: LlamaModel, tokens: list[int]) -> tuple[float, np.ndarray[Any, Any]]:
    model._llm.reset()
    model._llm._ctx.kv_cache_clear()
    started = time.perf_counter()
    _prefill(model._llm, tokens, [])
    return time.perf_counter() - started, _logits(model)


def _upto(model: LlamaModel, tokens: list[int], end: int) -> None:
    """Evaluate ``tokens[:end]`` from an empty context in the segments of the whole prompt."""
    model._llm.reset()
    model._llm._ctx.kv_cache_clear()
    start = 0
    for boundary in prefill_segments(len(tokens)):
        if start < boundary <= end:
            model._llm.eval(tokens[start:boundary])
            start = boundary


def _rest(model: LlamaModel, tokens: list[int], start: int) -> None:
    """Evaluate ``tokens`` after the first ``start`` (a segment boundary) are in the cache."""
    model._llm.n_tokens = start
    for boundary in prefill_segments(len(tokens)):
        if boundary > start:
            model._llm.eval(tokens[start:boundary])
            start = boundary


def _prefix_boundary(a: list[int], b: list[int]) -> int:
    common = 0
    while common < min(len(a), len(b)) and a[common] == b[common]:
        common += 1
    return max((x for x in prefill_segments(len(b)) if x <= common and x % 64 == 0), default=0)


def measure(alias: str) -> dict[str, Any]:
    pool = ModelPool(threads=1)
    model = load_llama(alias, pool)
    llm = model._llm
    first, second = model.prompt_tokens(_prompt(1)), model.prompt_tokens(_prompt(2))
    boundary = _prefix_boundary(first, second)
    out: dict[str, Any] = {"prompt_tokens": len(second), "shared_prefix": boundary}
    fresh_s, reference = _fresh(model, second)
    fresh_s = min(fresh_s, _fresh(model, second)[0])
    out["fresh_prefill_s"] = fresh_s

    # seq_state: save the prefix of the first prompt, restore it, finish the second.
    _upto(model, first, boundary)
    ctx = llm._ctx.ctx
    import llama_cpp

    size = llama_cpp.llama_state_seq_get_size(ctx, 0)
    buffer = (ctypes.c_uint8 * size)()
    started = time.perf_counter()
    written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
    out["seq_state_save_s"] = time.perf_counter() - started
    out["seq_state_mb"] = written / 2**20
    out["seq_state_kb_per_token"] = written / 1024 / boundary
    _prefill(llm, first, first[:boundary])  # something else in the cache first
    llm._ctx.kv_cache_clear()
    started = time.perf_counter()
    read = llama_cpp.llama_state_seq_set_data(ctx, buffer, written, 0)
    out["seq_state_restore_s"] = time.perf_counter() - started
    assert read == written
    started = time.perf_counter()
    _rest(model, second, boundary)
    out["seq_state_call_s"] = out["seq_state_restore_s"] + time.perf_counter() - started
    out["seq_state_identical"] = bool(np.array_equal(_logits(model), reference))

    # ram_cache: the whole context state (what LlamaRAMCache keeps).
    _upto(model, first, boundary)
    started = time.perf_counter()
    state = llm.save_state()
    out["ram_cache_save_s"] = time.perf_counter() - started
    out["ram_cache_mb"] = state.llama_state_size / 2**20
    _prefill(llm, first, first[:boundary])
    started = time.perf_counter()
    llm.load_state(state)
    out["ram_cache_restore_s"] = time.perf_counter() - started
    _rest(model, second, boundary)
    out["ram_cache_identical"] = bool(np.array_equal(_logits(model), reference))
    pool.close()

    # seq_cp: the prefix in sequence 1 of a unified four-sequence context.
    with _four_sequences():
        pool = ModelPool(threads=1)
        multi = load_llama(alias, pool)
    _fresh_multi, multi_reference = _fresh(multi, second)
    mllm = multi._llm
    _upto(multi, first, boundary)
    mllm._ctx.kv_cache_seq_cp(0, 1, 0, boundary)
    # Sequence 0 moves on to another role's prompt, whose cells go elsewhere.
    other = multi.prompt_tokens("Another role entirely. " * 40)
    llama_cpp.llama_memory_seq_rm(mllm._ctx.memory, 0, -1, -1)
    mllm.n_tokens = 0
    _rest(multi, other, 0)
    started = time.perf_counter()
    memory = mllm._ctx.memory
    llama_cpp.llama_memory_seq_rm(memory, 0, -1, -1)
    llama_cpp.llama_memory_seq_cp(memory, 1, 0, 0, boundary)
    out["seq_cp_restore_s"] = time.perf_counter() - started
    _rest(multi, second, boundary)
    out["seq_cp_identical_to_its_own_fresh"] = bool(np.array_equal(_logits(multi), multi_reference))
    out["seq_cp_identical_to_single_sequence"] = bool(np.array_equal(multi_reference, reference))
    pool.close()
    return out


@contextlib.contextmanager
def _four_sequences() -> Iterator[None]:
    import llama_cpp.llama_cpp as native

    original = native.llama_context_default_params

    def four() -> Any:
        params = original()
        params.n_seq_max = 4
        params.kv_unified = True
        return params

    native.llama_context_default_params = four
    try:
        yield
    finally:
        native.llama_context_default_params = original


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--models``."""
    models_argument(parser, "default,gemma-270m")


def run(args: argparse.Namespace) -> Result:
    """Measure each model and print its figures."""
    results = {alias: measure(alias) for alias in model_specs(args.models)}
    for alias, figures in results.items():
        print(f"== {alias}")
        for key, value in figures.items():
            print(
                f"  {key:40s} {value:.4f}" if isinstance(value, float) else f"  {key:40s} {value}"
            )
    print(json.dumps(results))
    return Result(results)
