"""Towers of Hanoi as voted micro-steps: the standard benchmark for this method.

Each step gives the model the pegs, the previous move and the known policy, and
asks for the next move only. Plain code applies the move; an illegal move is
refused by the verifier and drawn again. Every move is compared with the known
optimal solution, so the report counts errors exactly.

Run: ``python examples/hanoi.py [--disks 3] [--model default] [--k 2]``; any model
spec works, e.g. ``--model openai:http://127.0.0.1:8000/v1#big``. The embedded
135M and 270M models are weak at this; the README reports what they do.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

import smallagents
from smallagents.decompose import run_steps

Peg = Literal["A", "B", "C"]
POLICY = (
    "Rules: move one disk at a time; never put a disk on a smaller one. "
    "Policy: on odd-numbered moves, move disk 1 (the smallest) one peg in its "
    "direction ({direction}); on even-numbered moves, make the only legal move "
    "that does not move disk 1."
)


class Move(BaseModel):
    disk: int = Field(ge=1, le=9)
    source: Peg
    target: Peg


@dataclass(frozen=True)
class Towers:
    """Pegs as bottom-to-top tuples of disk sizes, and the moves made so far."""

    pegs: dict[str, tuple[int, ...]]
    moves: tuple[tuple[int, str, str], ...] = ()


def describe(pegs: dict[str, tuple[int, ...]]) -> str:
    return "; ".join(f"{peg}: {list(disks)}" for peg, disks in pegs.items())


def optimal(disks: int) -> list[tuple[int, str, str]]:
    """The optimal solution (disk, source, target), moving everything from A to C."""
    moves: list[tuple[int, str, str]] = []

    def solve(n: int, source: str, target: str, spare: str) -> None:
        if n:
            solve(n - 1, source, spare, target)
            moves.append((n, source, target))
            solve(n - 1, spare, target, source)

    solve(disks, "A", "C", "B")
    return moves


def legal(state: Towers, move: Move) -> bool:
    source, target = state.pegs[move.source], state.pegs[move.target]
    return (
        move.source != move.target
        and bool(source)
        and source[-1] == move.disk
        and (not target or target[-1] > move.disk)
    )


def apply(state: Towers, move: Move) -> Towers:
    if not legal(state, move):  # a refused move that survived the retries: no change
        return Towers(state.pegs, (*state.moves, (move.disk, move.source, move.target)))
    pegs = dict(state.pegs)
    pegs[move.source] = pegs[move.source][:-1]
    pegs[move.target] = (*pegs[move.target], move.disk)
    return Towers(pegs, (*state.moves, (move.disk, move.source, move.target)))


def make_role(model: str, temperature: float) -> smallagents.Role:
    @smallagents.role(
        model=model,
        temperature=temperature,
        max_tokens=30,
        voting=smallagents.VotingPolicy(k=1, temperature=temperature, max_samples=12),
        system="You solve Towers of Hanoi one move at a time. Answer with the next move.",
        examples=[
            (
                {
                    "policy": POLICY.format(direction="A -> C -> B -> A"),
                    "pegs": "A: [3, 2]; B: []; C: [1]",
                    "number": 2,
                    "previous": "disk 1 from A to C",
                },
                {"disk": 2, "source": "A", "target": "B"},
            )
        ],
    )
    def next_move(policy: str, pegs: str, number: int, previous: str) -> Move:
        """{policy}
        Pegs (bottom to top): {pegs}
        Previous move: {previous}
        Give move number {number}."""

    return next_move


def solve(
    role: smallagents.Role, disks: int, k: int, pool: smallagents.ModelPool
) -> dict[str, Any]:
    """Run the puzzle once with k votes per move; score it against the optimal moves."""
    reference = optimal(disks)
    # Disk 1 cycles A -> C -> B for an odd number of disks, A -> B -> C for an even one.
    policy = POLICY.format(direction="A -> C -> B -> A" if disks % 2 else "A -> B -> C -> A")
    start = Towers({"A": tuple(range(disks, 0, -1)), "B": (), "C": ()})

    def inputs(state: Towers) -> dict[str, Any]:
        last = state.moves[-1] if state.moves else None
        previous = f"disk {last[0]} from {last[1]} to {last[2]}" if last else "none (first move)"
        return {
            "policy": policy,
            "pegs": describe(state.pegs),
            "number": len(state.moves) + 1,
            "previous": previous,
        }

    task = run_steps(
        role,
        start,
        next_inputs=inputs,
        apply=apply,
        done=lambda s: len(s.pegs["C"]) == disks or len(s.moves) >= len(reference),
        verify=legal,
        k=k,
        pool=pool,
    )
    made = task.state.moves
    pairs = list(zip(made, reference, strict=False))
    return {
        "k": k,
        "moves": len(made),
        "optimal_moves": len(reference),
        "per_step_accuracy": round(sum(m == r for m, r in pairs) / len(reference), 3),
        "first_error_at": next((i + 1 for i, (m, r) in enumerate(pairs) if m != r), None),
        "solved": len(task.state.pegs["C"]) == disks,
        "samples_per_step": round(task.samples_per_step, 2),
        "illegal_moves_refused_for_good": task.failed_verifications,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--disks", type=int, default=3)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.7)
    args = parser.parse_args(argv)
    role = make_role(args.model, args.temperature)
    pool = smallagents.ModelPool(threads=1)
    results: dict[str, Any] = {"model": args.model, "disks": args.disks, "runs": {}}
    for label, k in (("single", 1), ("voted", args.k)):
        results["runs"][label] = solve(role, args.disks, k, pool)
    pool.close()
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
