"""judge_by_solving: judge a pair by answering it first, then comparing the answers.

::

    solve -> agree -> END

``judge_solve`` answers the instruction on its own; ``judge_agree`` says whether
the candidate response gives the same answer. The verdict's probability
(``RoleRecord.confidence["verdict"]`` of ``judge_agree``) is the score. Small
models generate better than they critique (FACTS.md: re-deriving function calls
and comparing gave 0.81 where reviewing gave 0.52). Written only against the
public ``smallagents`` API; the roles come from ``roles/judges.py`` by path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import smallagents
from smallagents import END, START

_ROLES = smallagents.load_roles(Path(__file__).resolve().parent.parent / "roles" / "judges.py")


class JudgeInput(TypedDict):
    instruction: str
    response: str


class JudgeState(TypedDict, total=False):
    instruction: str
    response: str
    reference: str
    verdict: str


class JudgeOutput(TypedDict, total=False):
    reference: str
    verdict: str


def _reference(solution: Any, _: Any) -> dict[str, Any]:
    return {"reference": solution["answer"] if solution else ""}


graph = (
    smallagents.Graph(
        "judge_by_solving",
        state=JudgeState,
        input=JudgeInput,
        output=JudgeOutput,
        description="Answer the instruction, then accept the response if it agrees.",
    )
    .role("solve", _ROLES["judge_solve"], output=_reference, on_unresolved="keep")
    .role(
        "agree",
        _ROLES["judge_agree"],
        output=lambda verdict, _: {"verdict": verdict["verdict"] if verdict else "no"},
        on_unresolved="keep",
    )
    .edge(START, "solve")
    .edge("solve", "agree")
    .edge("agree", END)
)
