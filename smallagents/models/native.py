"""One lock for loading and freeing llama.cpp objects.

With ``verbose=False`` llama-cpp-python silences llama.cpp by swapping
``sys.stdout``/``sys.stderr`` and redirecting file descriptors 1 and 2 while it
loads or frees a model. Done from two threads at once (two job workers loading
their models), the swaps interleave and leave the process writing to a closed
or null stream. Loads and frees are rare and short; serializing them costs
nothing measurable.
"""

from __future__ import annotations

import threading

NATIVE_LOCK = threading.RLock()
