"""Exact and near-duplicate detection of texts: MinHash over word shingles, in pure Python.

A text is normalized (case-folded, every run of non-alphanumeric characters made
one space), cut into word shingles (``shingle_size`` consecutive words; a text
shorter than that is one shingle), and summarized by a MinHash signature: for each
of ``permutations`` hash functions, the smallest hash of any shingle. Two
signatures agree in a share of their slots that estimates the Jaccard similarity
of the two shingle sets (standard error about ``sqrt(J(1-J)/permutations)``, 0.04
at J = 0.7 with 128 permutations).

`NearDuplicateIndex` finds candidates by locality-sensitive hashing (the
signature cut into ``bands`` bands; texts that share one band are candidates) and
confirms them by their estimated similarity. Every hash is a keyed BLAKE2b digest,
never Python's ``hash()`` (salted per process): the same texts give the same
signatures and decisions in every process, which a resumed job relies on.

The defaults, an estimated Jaccard similarity of at least 0.7 on word 2-shingles
(bigrams), are our own choice for short instruction/response pairs (20 to 60
words), where the 3-shingles and 0.8 usual for web documents miss copies: one word
changed in a 21-word pair leaves a bigram Jaccard of 0.80 (3-shingles: 0.72), a
question reworded around the same answer 0.57 to 0.67, and different questions
on one template ("What is the capital of France/Spain? ...") 0.2 to 0.35.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_SHINGLE_SIZE",
    "DEFAULT_THRESHOLD",
    "Duplicate",
    "MinHash",
    "NearDuplicateIndex",
    "jaccard",
    "normalize",
    "shingles",
]

DEFAULT_THRESHOLD = 0.7
"""Estimated Jaccard similarity of word shingles from which a text is a near duplicate."""
DEFAULT_SHINGLE_SIZE = 2
"""Words per shingle (bigrams: see the module docstring for why not 3)."""

# A Mersenne prime above every 60-bit shingle hash: (a * x + b) mod p is then a
# random permutation of the hashes for each (a, b).
_PRIME = (1 << 61) - 1
_NON_WORD = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Case-folded text with every run of non-alphanumeric characters replaced by one space."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


def shingles(text: str, size: int = DEFAULT_SHINGLE_SIZE) -> frozenset[str]:
    """The word ``size``-grams of the normalized text (one shingle if it is shorter).

    Empty for a text without a single word.
    """
    words = normalize(text).split()
    if len(words) <= size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: str, b: str, size: int = DEFAULT_SHINGLE_SIZE) -> float:
    """The exact Jaccard similarity of two texts' shingle sets (1.0 for two empty texts)."""
    left, right = shingles(a, size), shingles(b, size)
    if not left and not right:
        return 1.0
    return len(left & right) / len(left | right)


def _digest(data: str, key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data.encode(), digest_size=8, key=key).digest(), "big")


class MinHash:
    """MinHash signatures with a fixed family of hash functions (the same in every process).

    Args:
        permutations: signature length; more is slower and estimates more tightly.
        shingle_size: words per shingle.
        seed: picks the hash family; signatures compare only within one family.
    """

    def __init__(
        self, permutations: int = 128, *, shingle_size: int = DEFAULT_SHINGLE_SIZE, seed: int = 1
    ) -> None:
        if permutations < 1 or shingle_size < 1:
            raise ValueError("permutations and shingle_size must be at least 1")
        self.permutations = permutations
        self.shingle_size = shingle_size
        self._key = f"smallagents.dedupe/{seed}".encode()
        self._coefficients = [
            (
                _digest(f"a{i}", self._key) % (_PRIME - 1) + 1,  # a != 0: a permutation
                _digest(f"b{i}", self._key) % _PRIME,
            )
            for i in range(permutations)
        ]

    def signature(self, text: str) -> tuple[int, ...]:
        """The text's signature; all slots are ``_PRIME`` for a text without words."""
        hashes = [_digest(s, self._key) % _PRIME for s in shingles(text, self.shingle_size)]
        if not hashes:
            return (_PRIME,) * self.permutations
        return tuple(min((a * h + b) % _PRIME for h in hashes) for a, b in self._coefficients)

    @staticmethod
    def similarity(left: tuple[int, ...], right: tuple[int, ...]) -> float:
        """Estimated Jaccard similarity: the share of slots where two signatures agree."""
        if len(left) != len(right):
            raise ValueError("signatures of different lengths do not compare")
        return sum(x == y for x, y in zip(left, right, strict=True)) / len(left)


@dataclass(frozen=True)
class Duplicate:
    """What a text duplicates.

    Attributes:
        key: the key the earlier text was added under.
        similarity: 1.0 for an exact duplicate, else the estimated Jaccard similarity.
        exact: whether the normalized texts are identical.
    """

    key: str
    similarity: float
    exact: bool

    def describe(self) -> str:
        """A short reason, e.g. ``near duplicate (similarity 0.86) of seed s3``.

        The key names what it stands for (``seed s3``, ``record 17``).
        """
        if self.exact:
            return f"exact duplicate of {self.key}"
        return f"near duplicate (similarity {self.similarity:.2f}) of {self.key}"


class NearDuplicateIndex:
    """Texts seen so far, and which earlier one a new text duplicates.

    ``find`` is exact first (identical normalized text), then near: candidates that
    share an LSH band, confirmed by estimated similarity ``>= threshold``. Among
    several matches the most similar wins, then the earliest added.

    Args:
        threshold: estimated Jaccard similarity from which a text is a near duplicate.
        permutations: MinHash signature length; must be a multiple of ``bands``.
        bands: LSH bands. With 32 bands of 4 slots, a pair at similarity 0.7 is a
            candidate with probability above 0.9998, and at 0.4 with 0.56.
        shingle_size: words per shingle.
    """

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        *,
        permutations: int = 128,
        bands: int = 32,
        shingle_size: int = DEFAULT_SHINGLE_SIZE,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold {threshold} is not in (0, 1]")
        if bands < 1 or permutations % bands:
            raise ValueError(f"{permutations} permutations do not split into {bands} bands")
        self.threshold = threshold
        self.minhash = MinHash(permutations, shingle_size=shingle_size)
        self._rows = permutations // bands
        self._exact: dict[str, str] = {}
        self._signatures: dict[str, tuple[int, ...]] = {}
        self._order: dict[str, int] = {}
        self._buckets: defaultdict[tuple[int, tuple[int, ...]], list[str]] = defaultdict(list)

    def __len__(self) -> int:
        return len(self._signatures)

    def _bands(self, signature: tuple[int, ...]) -> Iterable[tuple[int, tuple[int, ...]]]:
        rows = self._rows
        for band in range(len(signature) // rows):
            yield band, signature[band * rows : (band + 1) * rows]

    def find(self, text: str) -> Duplicate | None:
        """The earlier text that ``text`` duplicates, or ``None``."""
        return self._lookup(text)[0]

    def add(self, key: str, text: str) -> None:
        """Remember ``text`` under ``key`` (a key added again keeps its first text)."""
        self._remember(key, normalize(text), self.minhash.signature(text))

    def check(self, key: str, text: str) -> Duplicate | None:
        """Like ``find``; a text that duplicates nothing is then added under ``key``."""
        found, normalized, signature = self._lookup(text)
        if found is None:
            self._remember(key, normalized, signature)
        return found

    def _lookup(self, text: str) -> tuple[Duplicate | None, str, tuple[int, ...]]:
        normalized = normalize(text)
        signature = self.minhash.signature(text)
        exact = self._exact.get(normalized)
        if exact is not None:
            return Duplicate(exact, 1.0, True), normalized, signature
        candidates = {key for band in self._bands(signature) for key in self._buckets.get(band, ())}
        best: Duplicate | None = None
        for key in sorted(candidates, key=self._order.__getitem__):
            similarity = MinHash.similarity(signature, self._signatures[key])
            if similarity >= self.threshold and (best is None or similarity > best.similarity):
                best = Duplicate(key, similarity, False)
        return best, normalized, signature

    def _remember(self, key: str, normalized: str, signature: tuple[int, ...]) -> None:
        if key in self._signatures:
            return
        self._exact.setdefault(normalized, key)
        self._signatures[key] = signature
        self._order[key] = len(self._order)
        for band in self._bands(signature):
            self._buckets[band].append(key)
