"""Peer review: write a pair, review it twice in parallel, adjudicate only a split decision.

::

    generate -> review (x2, one per focus, in parallel) -> tally -> END
                                                              \\-> adjudicate -> END

Written only against the public ``smallagents`` API; its roles are loaded by path
from ``roles/peer_review.py`` (beside this folder in a checkout and in the wheel).
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import smallagents
from smallagents import END, START

_ROLES = smallagents.load_roles(Path(__file__).resolve().parent.parent / "roles" / "peer_review.py")

# Two reviewers that look at different things: with the same focus (the same
# inputs) a deterministic role would give the same review twice.
FOCI = ("correctness", "clarity")


class PeerReviewInput(TypedDict):
    """What the graph needs: the domain of the pair to write."""

    domain: str


class PeerReviewOutput(TypedDict, total=False):
    """What the graph returns.

    ``verdict`` is ``{"accept": bool, "rationale": str, "decided_by": "reviewers" |
    "adjudicator"}``.
    """

    pair: dict[str, str]
    reviews: list[dict[str, Any]]
    verdict: dict[str, Any]


class PeerReviewState(TypedDict, total=False):
    """The whole state; ``reviews`` collects the parallel reviews."""

    domain: str
    pair: dict[str, str]
    reviews: Annotated[list[dict[str, Any]], operator.add]
    verdict: dict[str, Any]


def _review_payloads(state: PeerReviewState) -> list[dict[str, str]]:
    pair = state["pair"]
    return [
        {
            "domain": state["domain"],
            "focus": focus,
            "instruction": pair["instruction"],
            "response": pair["response"],
        }
        for focus in FOCI
    ]


def _tally(state: PeerReviewState) -> dict[str, Any]:
    """Settle the pair when the reviewers agree; leave a split to the adjudicator."""
    opinions = {review["accept"] for review in state["reviews"]}
    if len(opinions) != 1:
        return {}
    accept = opinions.pop()
    verdict = "accepted" if accept else "rejected"
    return {
        "verdict": {
            "accept": accept,
            "rationale": f"both reviewers {verdict} it",
            "decided_by": "reviewers",
        }
    }


def _after_tally(state: PeerReviewState) -> str:
    return END if "verdict" in state else "adjudicate"


def _adjudicator_inputs(state: PeerReviewState) -> dict[str, str]:
    reviews = "\n".join(
        f"{r['focus']}: score {r['score']}, {'accept' if r['accept'] else 'reject'} "
        f"({r['feedback']})"
        for r in state["reviews"]
    )
    pair = state["pair"]
    return {
        "domain": state["domain"],
        "instruction": pair["instruction"],
        "response": pair["response"],
        "reviews": reviews,
    }


graph = (
    smallagents.Graph(
        "peer_review",
        state=PeerReviewState,
        input=PeerReviewInput,
        output=PeerReviewOutput,
        description="Write an instruction/response pair, review it twice, adjudicate a split.",
    )
    .role("generate", _ROLES["pair_generator"], output="pair")
    .role(
        "review",
        _ROLES["pair_reviewer"],
        output=lambda review, payload: {"reviews": [{**review, "focus": payload["focus"]}]},
    )
    .step("tally", _tally)
    .role(
        "adjudicate",
        _ROLES["pair_adjudicator"],
        inputs=_adjudicator_inputs,
        output=lambda verdict, _: {"verdict": {**verdict, "decided_by": "adjudicator"}},
    )
    .edge(START, "generate")
    .fan_out("generate", "review", _review_payloads)
    .edge("review", "tally")
    .branch("tally", _after_tally, to=["adjudicate", END])
    .edge("adjudicate", END)
)
