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
import io
import threading
from collections.abc import Iterator

NATIVE_LOCK = threading.RLock()


@contextlib.contextmanager
def native_load() -> Iterator[None]:
    """Hold :data:`NATIVE_LOCK` and drop what llama.cpp logs while a model loads.

    Even with ``verbose=False`` some notes reach ``sys.stderr`` through
    llama-cpp-python's log callback (a vocabulary-only load "overflowing" its
    training context of 0, Gemma's full-size SWA cache): noise on every run.
    """
    with NATIVE_LOCK, contextlib.redirect_stderr(io.StringIO()):
        yield
