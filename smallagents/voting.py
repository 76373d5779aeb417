"""Voting over repeated samples: first-to-ahead-by-k, fixed-size majority, and their math."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pydantic

from smallagents.structured.schema import RedFlag

__all__ = [
    "VoteResult",
    "canonical_key",
    "expected_samples",
    "fields_key",
    "first_to_ahead_by_k",
    "k_min",
    "majority",
    "step_success",
    "task_success",
]

T = TypeVar("T")
RedFlagCheck = Callable[[T], str | bool | None]


def _json_default(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot vote on {type(value).__name__}: not JSON; pass key=")


def canonical_key(value: Any) -> str:
    """Return the canonical JSON of ``value``, the default vote key.

    Keys are sorted and separators compact, so key order does not matter. Pydantic
    models, nested ones too, are dumped with ``model_dump(mode="json")`` first.

    Raises:
        TypeError: ``value`` holds something JSON cannot encode.
    """
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    )


def fields_key(*names: str) -> Callable[[Any], str]:
    """Return a key function that votes on the named fields only.

    Works for mappings (a missing key is left out, so "absent" differs from ``null``)
    and for objects such as pydantic models (read with ``getattr``; an unknown name
    raises ``AttributeError``).

    Raises:
        ValueError: no field name was given.
    """
    if not names:
        raise ValueError("fields_key needs at least one field name; use canonical_key for all")

    def key(value: Any) -> str:
        if isinstance(value, Mapping):
            chosen = {name: value[name] for name in names if name in value}
        else:
            chosen = {name: getattr(value, name) for name in names}
        return canonical_key(chosen)

    return key


@dataclass(frozen=True)
class VoteResult(Generic[T]):
    """The outcome of a vote.

    Attributes:
        winner: The first sample drawn with the leading key; ``None`` if no valid sample.
        winner_key: The leading key; ``None`` if no valid sample.
        votes: Valid votes per key, in the order keys were first seen.
        samples_drawn: Every draw, red-flagged ones included.
        red_flags: The reason of each discarded draw, in order.
        decided: Whether the vote reached its rule (a lead of k, or a unique plurality).
        margin: Votes of the leader minus votes of the runner-up (0 on a tie).
    """

    winner: T | None
    winner_key: Hashable | None
    votes: dict[Hashable, int]
    samples_drawn: int
    red_flags: list[str]
    decided: bool
    margin: int

    @property
    def valid_samples(self) -> int:
        """Number of draws that were not red-flagged."""
        return sum(self.votes.values())

    @property
    def share(self) -> float:
        """Fraction of valid votes that went to the winner (0.0 if there were none)."""
        valid = self.valid_samples
        return self.votes[self.winner_key] / valid if valid else 0.0


class _Tally(Generic[T]):
    def __init__(self, key: Callable[[T], Hashable], is_red_flag: RedFlagCheck[T] | None) -> None:
        self.key, self.is_red_flag = key, is_red_flag
        self.votes: dict[Hashable, int] = {}
        self.first: dict[Hashable, T] = {}
        self.red_flags: list[str] = []
        self.drawn = 0

    def draw(self, sample: Callable[[int], T]) -> None:
        index, self.drawn = self.drawn, self.drawn + 1
        try:
            value = sample(index)
            flag = self.is_red_flag(value) if self.is_red_flag is not None else None
            if not flag:
                vote = self.key(value)
                self.votes[vote] = self.votes.get(vote, 0) + 1
                self.first.setdefault(vote, value)
                return
            reason = flag if isinstance(flag, str) else "red-flagged by is_red_flag"
        except RedFlag as error:
            reason = error.reason or "RedFlag"
        self.red_flags.append(reason)

    def standings(self) -> tuple[Hashable | None, int]:
        """Return the leader (first seen among equals) and its margin over the runner-up."""
        leader: Hashable | None = None
        top = runner = 0
        for vote, count in self.votes.items():
            if count > top:
                leader, top, runner = vote, count, top
            elif count > runner:
                runner = count
        return leader, top - runner

    def result(self, decided: bool) -> VoteResult[T]:
        leader, margin = self.standings()
        winner = self.first[leader] if self.votes else None
        votes, flags = dict(self.votes), list(self.red_flags)
        return VoteResult(winner, leader, votes, self.drawn, flags, decided, margin)


def first_to_ahead_by_k(
    sample: Callable[[int], T],
    k: int,
    *,
    key: Callable[[T], Hashable] = canonical_key,
    max_samples: int | None = None,
    is_red_flag: RedFlagCheck[T] | None = None,
) -> VoteResult[T]:
    """Draw samples until one answer has k more votes than any other.

    The sampler is a callable ``sample(i) -> T``, ``i`` being the 0-based index of the
    draw (red-flagged draws included), handy for seeding; no model is needed here.
    A draw is red-flagged, discarded (never repaired) and counted when ``sample`` or
    ``key`` raises `RedFlag`, or when ``is_red_flag(value)`` returns a non-empty reason
    or ``True``. Drawing stops the
    moment the vote is decided: k unanimous samples cost exactly k draws, and k=1
    accepts the first valid sample.

    Args:
        sample: Draws one sample; called as ``sample(i)`` with the 0-based draw index.
        k: Lead needed to win, at least 1.
        key: Maps a sample to its vote; defaults to `canonical_key`.
        max_samples: Budget of draws, red-flagged ones included; ``None`` means ``20 * k``.
        is_red_flag: Optional check returning a reason (or ``True``) for a bad sample.

    Returns:
        A `VoteResult`; if the budget runs out first, ``decided`` is False and the
        current leader (``None`` if every draw was red-flagged) is reported.

    Raises:
        ValueError: ``k < 1`` or ``max_samples < k``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}; use k=1 to accept the first valid sample")
    budget = 20 * k if max_samples is None else max_samples
    if budget < k:
        raise ValueError(f"max_samples must be >= k, got {budget} < {k}; raise it or lower k")
    tally: _Tally[T] = _Tally(key, is_red_flag)
    while tally.drawn < budget:
        tally.draw(sample)
        if tally.standings()[1] >= k:
            return tally.result(decided=True)
    return tally.result(decided=False)


def majority(
    sample: Callable[[int], T],
    n: int,
    *,
    key: Callable[[T], Hashable] = canonical_key,
    is_red_flag: RedFlagCheck[T] | None = None,
) -> VoteResult[T]:
    """Draw exactly n samples and return the plurality answer.

    Red flags are handled as in `first_to_ahead_by_k`. ``decided`` is True when
    a unique plurality leader exists among the valid samples; on a tie the answer seen
    first is reported with ``margin == 0`` and ``decided == False``.

    Raises:
        ValueError: ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}; draw at least one sample")
    tally: _Tally[T] = _Tally(key, is_red_flag)
    for _ in range(n):
        tally.draw(sample)
    return tally.result(decided=tally.standings()[1] > 0)


def _check(p: float, k: int = 1, steps: int = 1, m: int = 1) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    if min(k, steps, m) < 1:
        raise ValueError(f"k, steps and m must be >= 1, got k={k}, steps={steps}, m={m}")


def step_success(p: float, k: int) -> float:
    """Probability that first-to-ahead-by-k picks the correct answer: ``1/(1+((1-p)/p)^k)``.

    The formulas here follow the analysis of first-to-ahead-by-k voting in the MAKER
    paper and assume the *binary* model: a sample is correct with probability ``p``,
    and every error is the same wrong answer. That is the worst case for voting;
    scattered errors do better. Computed as a logistic of ``k*ln(p/(1-p))`` so that it
    never overflows.
    """
    _check(p, k)
    if p in (0.0, 1.0):
        return p
    z = k * (math.log(p) - math.log1p(-p))
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def task_success(p: float, k: int, steps: int, m: int = 1) -> float:
    """Probability that all ``steps/m`` votes of a task succeed: ``step_success(p, k)^(steps/m)``.

    Binary model per vote; ``m`` is the number of steps each voted call covers.
    """
    _check(p, k, steps, m)
    return float(step_success(p, k) ** (steps / m))  # float ** float is typed Any


def k_min(p: float, target: float, steps: int, m: int = 1) -> int:
    """Smallest k with ``task_success(p, k, steps, m) >= target`` (binary model).

    ``ceil(ln(target^(-m/steps) - 1) / ln((1-p)/p))``, at least 1, checked exactly
    against `task_success` to rule out rounding errors.

    Raises:
        ValueError: ``target`` not in (0, 1), or ``p <= 0.5`` (voting cannot help when
            the single wrong answer is at least as likely as the right one), or ``p > 1``.
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be in (0, 1), got {target}")
    _check(p, 1, steps, m)
    if p <= 0.5:
        raise ValueError(f"p={p} <= 0.5: voting cannot help; use a better model or smaller steps")
    if p == 1.0:
        return 1
    slack = math.expm1(-(m / steps) * math.log(target))  # target^(-m/steps) - 1, precisely
    k = max(1, math.ceil(math.log(slack) / (math.log1p(-p) - math.log(p))))
    while k > 1 and task_success(p, k - 1, steps, m) >= target:
        k -= 1
    while task_success(p, k, steps, m) < target:
        k += 1
    return k


def expected_samples(p: float, k: int) -> float:
    """Expected draws of first-to-ahead-by-k in the binary model (no red flags).

    The vote is a random walk on (correct - wrong) absorbed at ``+-k``; with
    ``q = 1 - p`` the gambler's-ruin duration is
    ``k/(q-p) - (2k/(q-p)) * (1-(q/p)^k) / (1-(q/p)^(2k))``, and ``k^2`` at ``p = 1/2``.
    It is computed in the equivalent stable form ``k*tanh(k*atanh(d))/d``, ``d = 2p-1``.
    """
    _check(p, k)
    d = 2.0 * p - 1.0
    if d == 0.0:
        return float(k * k)
    if abs(d) == 1.0:
        return float(k)
    return k * math.tanh(k * math.atanh(d)) / d
