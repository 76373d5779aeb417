"""The graph's state, input and output types."""

import hashlib
import operator
from typing import Annotated, Any, TypedDict

import smallagents


def unit_seed(*parts: object) -> int:
    """The seed of one of a unit's own extra draws (a redrawn draft, a figure check's
    sample): the unit's salt (a job's ``--seed``) and ``parts``, so a resumed unit
    draws the same."""
    run = smallagents.current_run()
    salt = run.salt if run is not None and run.salt is not None else 0
    text = "|".join(str(part) for part in (salt, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "big")


class _SeedRequired(TypedDict):
    instruction: str


class GraInput(_SeedRequired, total=False):
    """One seed record: ``instruction`` is required, ``response``, ``domain`` and ``id``
    optional (the ``id`` finds the pairs earlier jobs drew from this seed: ``avoid``)."""

    response: str
    domain: str
    id: str


class _PairRequired(TypedDict):
    instruction: str
    response: str


class CurateInput(_PairRequired, total=False):
    """One existing pair: ``instruction`` and ``response`` are required, ``domain`` optional."""

    domain: str


class GraOutput(TypedDict, total=False):
    """What the graph returns.

    ``decision`` is ``{"verdict": "accept" | "reject" | "revise", "adjudicated": bool,
    "rationale": str, "reason": str, "pair"?: the revised pair}``; ``reviews`` holds
    every round's reviews, each with its ``round``; ``disagreement`` says why the
    adjudicator was asked (``None`` when the reviewers agreed); ``checks`` names the
    free checks the latest round's pair failed.
    """

    pair: dict[str, str]
    reviews: list[dict[str, Any]]
    decision: dict[str, Any]
    disagreement: str | None
    round: int
    checks: list[str]
    draws: int


class GraState(GraInput, total=False):
    """The whole state: the seed, the current pair, the reviews (appended), the decision,
    and how many drafts the Generator wrote (``draws``)."""

    pair: dict[str, str]
    reviews: Annotated[list[dict[str, Any]], operator.add]
    decision: dict[str, Any] | None
    disagreement: str | None
    round: int
    checks: list[str]
    draws: int
