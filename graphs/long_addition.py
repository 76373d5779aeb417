"""Long addition as a job: each record ``{"a", "b"}`` is added by voted counting steps.

``smallagents run long_addition --input pairs.jsonl --output sums.jsonl [--votes 3]``.
The model only continues a count ("Counting: 13 14 15 16 17 18" -> 19); plain code
keeps the digits, the carry and how many counts are left (see README, "Long
tasks", for why this step shape and not "a + b ="). ``--votes K`` sets k of the
counting step (default 3); ``--model count_on=SPEC`` changes its model.
``examples/long_addition.py`` measures per-step accuracy and compares single
samples with voting on the same machinery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import smallagents
from smallagents.decompose import run_steps

DEFAULT_K = 3

OFFSET = 10  # counts run from 10 up, so that every window shows six numbers
COUNT_SCHEMA = {"type": "integer", "minimum": OFFSET, "maximum": OFFSET + 20}


def window(value: int) -> str:
    """The last six numbers of the count that ends at ``value``."""
    return " ".join(str(n) for n in range(value - 5, value + 1))


def make_roles(
    model: str = "gemma-270m", temperature: float = 1.0
) -> tuple[smallagents.Role, smallagents.Role]:
    """The counting step and the digit-sum step, on ``model``."""
    voting = smallagents.VotingPolicy(k=1, temperature=temperature, max_samples=12)

    @smallagents.role(
        model=model,
        schema=COUNT_SCHEMA,
        max_tokens=4,
        temperature=temperature,
        voting=voting,
        examples=[
            ({"sequence": window(14)}, 15),
            ({"sequence": window(21)}, 22),
            ({"sequence": window(12)}, 13),
        ],
    )
    def count_on(sequence: str) -> int:
        """Counting: {sequence}"""

    @smallagents.role(
        model=model,
        schema={"type": "integer", "minimum": 0, "maximum": 18},
        max_tokens=4,
        temperature=temperature,
        voting=voting,
        examples=[
            ({"a": 2, "b": 2}, 4),
            ({"a": 3, "b": 5}, 8),
            ({"a": 9, "b": 4}, 13),
            ({"a": 5, "b": 8}, 13),
            ({"a": 0, "b": 7}, 7),
        ],
    )
    def add_digits(a: int, b: int) -> int:
        """{a} + {b} ="""

    return count_on, add_digits


@dataclass(frozen=True)
class Addition:
    """Where a long addition stands: digits least significant first."""

    a: tuple[int, ...]
    b: tuple[int, ...]
    position: int = 0
    value: int = OFFSET  # the running count for the current position
    remaining: int = 0  # counts left at the current position
    carry: int = 0
    result: tuple[int, ...] = ()

    @property
    def done(self) -> bool:
        return self.position >= len(self.a)


def start(a: int, b: int, digits: int) -> Addition:
    da = tuple(int(c) for c in str(a).zfill(digits)[::-1])
    db = tuple(int(c) for c in str(b).zfill(digits)[::-1])
    return settle(Addition(da, db, value=OFFSET + da[0], remaining=db[0]))


def settle(state: Addition) -> Addition:
    """Close finished positions (plain code: digit, carry, next position)."""
    while not state.done and state.remaining == 0:
        total = state.value - OFFSET
        position = state.position + 1
        carry = total // 10
        state = replace(state, position=position, carry=carry, result=(*state.result, total % 10))
        if not state.done:
            state = replace(
                state, value=OFFSET + state.a[position], remaining=state.b[position] + carry
            )
    return state


def apply(state: Addition, answer: int) -> Addition:
    return settle(replace(state, value=answer, remaining=state.remaining - 1))


def total(state: Addition) -> int:
    digits = list(state.result) + ([state.carry] if state.carry else [])
    return int("".join(str(d) for d in reversed(digits)) or "0")


class LongAdditionPipeline:
    """The job pipeline: one long addition per record, every count voted."""

    name = "long_addition"

    def __init__(self) -> None:
        self.role, _ = make_roles()

    def required_fields(self) -> tuple[str, ...]:
        return ("a", "b")

    def run_unit(
        self, data: Mapping[str, Any], *, run: smallagents.Run, seed: int, unit_id: str
    ) -> smallagents.UnitResult:
        a, b = int(data["a"]), int(data["b"])
        if a < 0 or b < 0:
            raise smallagents.errors.RoleInputError(
                self.name, "a and b must be natural numbers", fix="give non-negative integers"
            )
        digits = max(len(str(a)), len(str(b)))
        k = run.settings_for(self.role.name).votes or DEFAULT_K
        task = run_steps(
            self.role,
            start(a, b, digits),
            next_inputs=lambda s: {"sequence": window(s.value)},
            apply=apply,
            done=lambda s: s.done,
            k=k,
            run=run,
            seed=seed,
        )
        record = {
            "id": unit_id,
            "a": a,
            "b": b,
            "sum": total(task.state),
            "k": k,
            "steps": len(task.steps),
            "samples_per_step": round(task.samples_per_step, 3),
            "undecided_steps": task.undecided_steps,
            "seed_id": data.get("id"),
        }
        return smallagents.UnitResult(outputs=[record], records=list(task.records))


long_addition = LongAdditionPipeline()
