"""The gra graph, built for one configuration (generating, or curating existing pairs)."""

import itertools

import smallagents
from smallagents import END, START

from ._avoid import Avoided
from ._config import GraConfig
from ._nodes import (
    _adjudication,
    _adjudicator_inputs,
    _after,
    _draft_seed,
    _drafted,
    _generator_inputs,
    _refined,
    _refiner_inputs,
    _review_output,
    _reviewer_inputs,
    _screen,
    _steered_inputs,
    _tally,
)
from ._roles import generator, roles
from ._solving import (
    _solving_review,
    reviewer_roles,
    solving_reviewers,
)
from ._state import CurateInput, GraInput, GraOutput, GraState


def build_graph(
    config: GraConfig | None = None, *, curate: bool = False, avoided: Avoided | None = None
) -> smallagents.Graph:
    """The gra graph for ``config`` (default: `GraConfig`'s defaults).

    With ``curate`` the graph judges the input pair itself (``gra-curate``): no
    Generator; the screen, reviewers, adjudicator and refinement are the same. With
    ``avoided`` pairs (read from ``config.avoid`` by the pipeline) and
    ``config.steer`` the Generator is shown the earlier instructions nearest to each
    seed.
    """
    config = config or GraConfig()
    avoided = avoided if avoided is not None else Avoided()
    solving = solving_reviewers(config) if config.review == "solve" else []
    reviewers = reviewer_roles(config)
    nodes = [f"review_{index}" for index in range(1, len(reviewers) + 1)]
    graph = smallagents.Graph(
        "gra-curate" if curate else "gra",
        state=GraState,
        input=CurateInput if curate else GraInput,
        output=GraOutput,
        description=(
            "Free checks, Reviewers, Adjudicator: existing instruction/response pairs kept, "
            "revised or rejected with the reason."
            if curate
            else "Generator, free checks, Reviewers, Adjudicator: new instruction/response "
            "pairs from seeds, peer-reviewed by small models."
        ),
    )
    if not curate:
        steered = config.steer and bool(avoided.pairs)
        graph.role(
            "generate",
            generator(steered=steered),
            inputs=_steered_inputs(avoided) if steered else _generator_inputs,
            output=_drafted,
            seed=_draft_seed,
        )
    graph.step("screen", _screen(config, curate=curate))
    for index, (node, reviewer) in enumerate(zip(nodes, reviewers, strict=True)):
        if solving:
            graph.step(node, _solving_review(solving[index]))
            continue
        graph.role(
            node,
            reviewer,
            inputs=_reviewer_inputs,
            output=_review_output(reviewer.name),
            on_unresolved="keep",
        )
    graph.step("tally", _tally(config))
    graph.role(
        "adjudicate",
        roles()["gra_adjudicator"],
        inputs=_adjudicator_inputs,
        output=_adjudication,
        on_unresolved="keep",
    )
    # The reviewers run one after the other, not in parallel: a job already keeps
    # every core busy with its workers, and two llama.cpp instances sharing one
    # worker's cores oversubscribe them (README, "Threads").
    if curate:
        graph.edge(START, "screen")
    else:
        graph.edge(START, "generate")
        graph.edge("generate", "screen")
    for source, target in itertools.pairwise(nodes):
        graph.edge(source, target)
    graph.edge(nodes[-1], "tally")
    refine = ["refine"] if config.refine else []
    if config.refine:
        graph.role("refine", roles()["gra_refiner"], inputs=_refiner_inputs, output=_refined)
        graph.edge("refine", "screen")
    redraw = not curate and config.drafts > 1
    for node, targets in (
        ("screen", [nodes[0], END, *(["generate"] if redraw else [])]),
        ("tally", ["adjudicate", END]),
        ("adjudicate", [END]),
    ):
        choose = _after(config, node=node, reviewed=nodes[0], redraw=redraw and node == "screen")
        graph.branch(node, choose, to=targets + refine)
    return graph
