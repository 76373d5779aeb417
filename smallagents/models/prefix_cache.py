"""KV states of prompt prefixes, kept per llama.cpp instance so that alternating roles stay warm.

One instance often serves several roles in turn (gra's generator, reviewer and
adjudicator on SmolLM2), each with a long fixed prompt (system text, few-shot
block, tool descriptions) and a short varying tail. The context holds only the
last prompt, so without this each call would prefill its role's prefix again.

Measured with ``benchmarks/prefix_cache.py`` (README, "Prefix cache"), the three
ways llama.cpp offers: ``llama_state_seq_get_data``/``set_data`` of the one
sequence moves about 22 KB a token for SmolLM2 (20 ms to save and 36 ms to restore
960 tokens, against seconds of prefill), and the restored cells sit where a fresh
prefill puts them, so the logits that follow are bit-identical; llama-cpp-python's
``save_state`` (what ``LlamaRAMCache`` keeps) copies its whole logits buffer too
(seconds); several sequences in one context (``llama_memory_seq_cp``) copy nothing
but need the context sized for every prefix at once, and place the working
sequence's cells elsewhere than a fresh prefill would. So entries are sequence
states, in a least-recently-used store bounded in bytes.

An entry is saved at a segment boundary of ``smallagents.models.llama.prefill_segments``
(a multiple of the chunk size), so that a call that restores it evaluates the rest
of its prompt in exactly the segments a fresh prefill would: answers never depend
on what the cache held.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class _Entry:
    tokens: tuple[int, ...]
    state: Any  # a ctypes uint8 array holding one sequence's state
    size: int


class PrefixCache:
    """Sequence states of prompt prefixes for one llama.cpp context, LRU within ``budget_bytes``."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = max(0, budget_bytes)
        self._entries: OrderedDict[tuple[int, ...], _Entry] = OrderedDict()
        self.bytes = 0
        self.saved = self.restored = self.evicted = 0

    def __len__(self) -> int:
        return len(self._entries)

    def longest(self, tokens: Sequence[int], usable: Sequence[int]) -> tuple[int, Any]:
        """The longest boundary in ``usable`` up to which an entry matches ``tokens``.

        Returns ``(boundary, key)``; ``(0, None)`` when no entry shares a usable prefix.
        """
        best, best_key = 0, None
        allowed = sorted(usable)
        for key in self._entries:
            common = _common_prefix(key, tokens)
            reach = max((b for b in allowed if b <= common), default=0)
            if reach > best:
                best, best_key = reach, key
        return best, best_key

    def covers(self, tokens: Sequence[int]) -> bool:
        """Whether some entry starts with all of ``tokens``."""
        n = len(tokens)
        return any(len(key) >= n and _common_prefix(key, tokens) >= n for key in self._entries)

    def save(self, ctx: Any, tokens: Sequence[int]) -> bool:
        """Store sequence 0 of ``ctx``, which holds exactly ``tokens``; evict to fit."""
        import llama_cpp

        size = int(llama_cpp.llama_state_seq_get_size(ctx, 0))
        if size <= 0 or size > self.budget_bytes:
            return False
        key = tuple(tokens)
        # An entry that this one extends is never the better choice again.
        for old in [k for k in self._entries if len(k) <= len(key) and key[: len(k)] == k]:
            self._drop(old)
        while self._entries and self.bytes + size > self.budget_bytes:
            self._drop(next(iter(self._entries)))
            self.evicted += 1
        state = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(ctx, state, size, 0))
        if written <= 0:
            return False
        self._entries[key] = _Entry(key, state, written)
        self.bytes += written
        self.saved += 1
        return True

    def restore(self, ctx: Any, key: tuple[int, ...]) -> int:
        """Load the entry ``key`` into sequence 0 of an emptied ``ctx``; its token count."""
        import llama_cpp

        entry = self._entries[key]
        self._entries.move_to_end(key)
        read = int(llama_cpp.llama_state_seq_set_data(ctx, entry.state, entry.size, 0))
        if read != entry.size:
            self._drop(key)
            return 0
        self.restored += 1
        return len(entry.tokens)

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
        self.bytes = 0

    def _drop(self, key: tuple[int, ...]) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.size


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
