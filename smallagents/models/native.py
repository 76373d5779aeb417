"""One lock for loading and freeing llama.cpp objects.

With ``verbose=False`` llama-cpp-python silences llama.cpp by swapping
``sys.stdout``/``sys.stderr`` and redirecting file descriptors 1 and 2 while it
loads or frees a model. Done from two threads at once (two job workers loading
their models), the swaps interleave and leave the process writing to a closed
or null stream. Loads and frees are rare and short; serializing them costs
nothing measurable.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import threading
from collections.abc import Iterator
from typing import Any

NATIVE_LOCK = threading.RLock()


@functools.cache
def amx_kernels_built() -> bool:
    """Whether this llama.cpp build runs AMX kernels on this CPU (its system info says so).

    Upstream llama.cpp issues 11115 and 20824 report the same AMX mul_mat crash.
    """
    import llama_cpp

    return b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()


def use_extra_buffers() -> bool:
    """Whether llama.cpp may use its extra weight buffer types (AMX, repacked layouts).

    Measured 2026-12-02 on a Sapphire Rapids machine of this project's kind (a
    sandbox): a build of llama-cpp-python 0.3.36 with ``-march=native`` picks the
    AMX buffer type for Q4 weights, and the first ``llama_decode`` segfaults in
    ``ggml_backend_amx_mul_mat``, for every model. Without extra buffer types the
    same build runs (measured: single-token decode of SmolLM2 32 tok/s against 58
    with AMX, one noisy run). So they are off where the build runs AMX kernels;
    ``SMALLAGENTS_EXTRA_BUFFERS=1`` turns them on (``0`` off) everywhere. A build
    without AMX keeps them: ``CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON
    -DGGML_AVX512=ON -DGGML_FMA=ON -DGGML_F16C=ON" pip install llama-cpp-python``.
    """
    chosen = os.environ.get("SMALLAGENTS_EXTRA_BUFFERS", "").strip()
    if chosen in ("0", "1"):
        return chosen == "1"
    return not amx_kernels_built()


@contextlib.contextmanager
def model_params_without_extra_buffers() -> Iterator[None]:
    # Llama() builds its model parameters from llama_model_default_params() and
    # offers no argument for use_extra_bufts: swap the default for the load.
    import llama_cpp.llama_cpp as native

    original = native.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        native.llama_model_default_params = original


@contextlib.contextmanager
def native_load() -> Iterator[None]:
    """Hold ``NATIVE_LOCK`` and drop what llama.cpp logs while a model loads.

    Even with ``verbose=False`` some notes reach ``sys.stderr`` through
    llama-cpp-python's log callback (a vocabulary-only load "overflowing" its
    training context of 0, Gemma's full-size SWA cache): noise on every run.
    """
    with NATIVE_LOCK, contextlib.redirect_stderr(io.StringIO()):
        if use_extra_buffers():
            yield
        else:
            with model_params_without_extra_buffers():
                yield
