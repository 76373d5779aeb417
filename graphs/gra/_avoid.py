"""Pairs the user already holds (the ``avoid`` setting): what the Generator is steered away
from, and what the de-duplication drops.

Repeats happen across jobs, not within one: four runs of the quick start with other
``--seed`` values wrote "What is the capital of France?" twice and "How can I create a
new branch in Git?" twice, each in a job of its own whose de-duplication could not see
the other. Naming the earlier files in ``avoid`` makes them part of every unit's
de-duplication and (with ``steer``, the default) shows the Generator the earlier
instructions nearest to its seed.

The files are read once, when the job builds its pipeline; their records (not their
paths alone) are part of the job's fingerprint, so a resumed job sees the same ones.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import smallagents
from smallagents.dedupe import normalize

SHOWN = 6
"""How many earlier instructions the Generator sees per unit: enough for every earlier
draft of its seed in a few runs, short enough to cost a second of prompt."""

_SMALL = (
    "a an and are as at be by can do does for from how i in is it of on or the to what when "
    "where which who why with you your my me"
)
_SMALL_WORDS = frozenset(_SMALL.split())  # words too common to say two questions are near


@dataclass(frozen=True)
class Earlier:
    """One pair from an ``avoid`` file.

    Attributes:
        key: where it came from (``old.jsonl line 3``), as a duplicate's reason names it.
        instruction: its instruction.
        response: its response ("" when the file gives none).
        seed_id: the seed a gra job drew it from (its ``seed_id``), or ``None``.
        domain: its ``domain`` field, or ``None``.
    """

    key: str
    instruction: str
    response: str
    seed_id: str | None
    domain: str | None

    def pair(self) -> dict[str, str]:
        """The pair as the de-duplication compares it."""
        return {"instruction": self.instruction, "response": self.response}


@dataclass(frozen=True)
class Avoided:
    """The pairs of a job's ``avoid`` files, in file order.

    Attributes:
        pairs: every pair read.
        digest: a hash of their content, for the job's fingerprint ("" when none).
    """

    pairs: tuple[Earlier, ...] = ()
    digest: str = ""

    def nearest(self, seed: Mapping[str, Any], limit: int = SHOWN) -> list[str]:
        """The earlier instructions a unit's Generator should not ask again, nearest first.

        Nearest are those drawn from the same seed (a gra output's ``seed_id`` equal to
        the seed's ``id``), then those of the seed's domain, then those sharing the
        most words with the seed's domain, instruction and response; ties keep file
        order. Instructions met twice are shown once.
        """
        seed_id = seed.get("id")
        domain = normalize(str(seed.get("domain") or ""))
        words = _content_words(
            f"{seed.get('domain') or ''} {seed.get('instruction', '')} {seed.get('response') or ''}"
        )

        def rank(earlier: Earlier) -> tuple[int, int, int]:
            return (
                int(seed_id is not None and earlier.seed_id == str(seed_id)),
                int(bool(domain) and normalize(earlier.domain or "") == domain),
                len(words & _content_words(f"{earlier.instruction} {earlier.response}")),
            )

        ranked = sorted(((rank(e), e) for e in self.pairs), key=lambda r: r[0], reverse=True)
        shown: list[str] = []
        seen: set[str] = set()
        for score, earlier in ranked:  # a stable sort: ties keep file order
            text = normalize(earlier.instruction)
            if score == (0, 0, 0) or len(shown) == limit:
                break  # the rest share nothing with the seed either, or enough are shown
            if text not in seen:
                seen.add(text)
                shown.append(earlier.instruction)
        return shown


def read_avoided(paths: Sequence[str]) -> Avoided:
    """The pairs of ``paths`` (JSONL, JSON, CSV or Parquet, as a job's input).

    Raises:
        UsageError: a file that is missing or unreadable, or a record without an
            instruction (one line, naming the file and the line).
    """
    pairs: list[Earlier] = []
    for path in paths:
        try:
            for record in smallagents.read_records(path):
                pairs.append(_earlier(path, record.line, record.data))
        except smallagents.errors.InputError as error:
            raise smallagents.errors.UsageError(
                f"gra setting avoid: {error.message}",
                fix="give avoid the data files of earlier jobs (or your own pairs), "
                "each record with an instruction.",
            ) from None
    if not pairs:
        return Avoided()
    content = json.dumps([earlier.__dict__ for earlier in pairs], sort_keys=True)
    return Avoided(tuple(pairs), hashlib.sha256(content.encode()).hexdigest()[:32])


def _earlier(path: str, line: int, data: Mapping[str, Any]) -> Earlier:
    instruction = data.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        raise smallagents.errors.UsageError(
            f"gra setting avoid: {path} line {line} has no instruction.",
            fix="give avoid files whose records each have an instruction (a gra job's "
            "data.jsonl, or your own pairs).",
        )
    response = data.get("response")
    seed_id = data.get("seed_id")
    domain = data.get("domain")
    return Earlier(
        key=f"{path} line {line}",
        instruction=instruction,
        response=response if isinstance(response, str) else "",
        seed_id=str(seed_id) if seed_id not in (None, "") else None,
        domain=domain if isinstance(domain, str) else None,
    )


def _content_words(text: str) -> frozenset[str]:
    return frozenset(word for word in normalize(text).split() if word not in _SMALL_WORDS)
