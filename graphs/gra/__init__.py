"""gra: synthetic data by peer review among small models (Generator, Reviewers, Adjudicator).

::

    generate -> screen --(a free check fails)--> END
                      \\-> review_1 -> ... -> review_N -> tally --(reviewers agree)--> END
                                                            \\-(they disagree)--> adjudicate -> END
    (with refinement on, a rejected first draft goes to refine -> screen once more)

Per seed record ``{"id"?, "instruction", "response"?, "domain"?}`` the Generator
writes a new instruction/response pair in the seed's domain (few-shot from the
seed and fixed examples). Free checks that need no model run first
(`free_checks`: an instruction that is no request, repetition, truncation,
a copy of the seed, a response that restates the question): a pair that fails one
is rejected with the reason and costs no review. Each Reviewer (by default one,
on Qwen2.5-Coder-1.5B) answers the instruction itself, says whether the response
agrees, fact-checks an agreeing response whole (``review = "solve"``,
``claims_threshold``) and rejects one not one of whose figures a few answers of
its own state (``figure_samples``); with ``review = "score"`` it scores the pair 1-10, accepts
or rejects it, and lists problems and feedback. Their votes are combined by
weight (`disagreement`):
when the weighted share of accepts reaches ``accept_share`` the pair is
accepted, at ``reject_share`` or below rejected, and in between (or when the
scores spread by ``spread_threshold`` or more) the Adjudicator reads the pair and
the reviews and accepts, rejects, or revises it (writing the corrected pair).

``gra-curate`` (`curate_pipeline`) runs the same screen, reviewers,
adjudicator, refinement and de-duplication on pairs that already exist: each
input record ``{"id"?, "instruction", "response", "domain"?}`` is kept, revised or
rejected with the reason.

The job keeps accepted and revised pairs, except exact and near duplicates of the
seeds, of the Generator's few-shot examples, or of a pair the job already kept;
those go to the rejects file with the reason. The de-duplication runs in the job's
writer thread (`smallagents.GraphPipeline` hooks), so it is the same with
any number of workers and after a resume.

Configuration (`GraConfig`): ``[pipelines.gra]`` (or ``[pipelines.gra-curate]``)
in ``smallagents.toml``, then ``SMALLAGENTS_GRA_*`` environment variables, then
``--set KEY=VALUE`` on the command line (`configure`), all read when a job builds
its pipeline (`GraFactory.build`), never at import; `build_pipeline` and
`build_curate_pipeline` take a `GraConfig` directly. The published method gives
no thresholds: the defaults are our own. Written only against the public
``smallagents`` API; roles are loaded by path from ``roles/gra.py`` on first use.

Modules: ``_config`` (settings), ``_checks`` (free checks), ``_state`` (types),
``_roles`` (the roles, loaded lazily), ``_nodes`` (what each node reads and writes,
the tally and the branches), ``_solving`` (the reviewers), ``_graph`` (the graph),
``_records`` (records and de-duplication), ``_avoid`` (pairs the user already
holds, ``avoid``), ``_pipeline`` (pipelines, factories).
"""

from ._avoid import SHOWN, Avoided, Earlier, read_avoided
from ._checks import copies, free_checks, is_request, repetition, restatement, truncation
from ._config import (
    CHECKS,
    DEFAULT_DOMAIN,
    ENVIRONMENT,
    REVIEW_METHODS,
    SETTINGS,
    GraConfig,
    config_from_env,
    configure,
    parse_settings,
)
from ._figures import figures, same_figure, unreproduced
from ._graph import build_graph
from ._nodes import accept_share, current_reviews, disagreement
from ._pipeline import GraFactory, GraPipeline, build_curate_pipeline, build_pipeline
from ._records import (
    PROVENANCE,
    PairDeduplicator,
    curated_records,
    few_shot_pairs,
    pair_text,
    to_records,
)
from ._roles import generator, response_limit
from ._solving import (
    SolvingReviewer,
    claims_checkers,
    compare_answers,
    figure_samplers,
    reviewer_roles,
    solving_reviewers,
)
from ._state import CurateInput, GraInput, GraOutput, GraState

pipeline = GraFactory("gra")
"""What ``smallagents run gra`` builds its pipeline with (``pipeline.graph``: the graph)."""
curate_pipeline = GraFactory("gra-curate", curate=True)
"""What ``smallagents run gra-curate`` builds its pipeline with."""

__all__ = [
    "CHECKS",
    "DEFAULT_DOMAIN",
    "ENVIRONMENT",
    "PROVENANCE",
    "REVIEW_METHODS",
    "SETTINGS",
    "SHOWN",
    "Avoided",
    "CurateInput",
    "Earlier",
    "GraConfig",
    "GraFactory",
    "GraInput",
    "GraOutput",
    "GraPipeline",
    "GraState",
    "PairDeduplicator",
    "SolvingReviewer",
    "accept_share",
    "build_curate_pipeline",
    "build_graph",
    "build_pipeline",
    "claims_checkers",
    "compare_answers",
    "config_from_env",
    "configure",
    "copies",
    "curate_pipeline",
    "curated_records",
    "current_reviews",
    "disagreement",
    "few_shot_pairs",
    "figure_samplers",
    "figures",
    "free_checks",
    "generator",
    "is_request",
    "pair_text",
    "parse_settings",
    "pipeline",
    "read_avoided",
    "repetition",
    "response_limit",
    "restatement",
    "reviewer_roles",
    "same_figure",
    "solving_reviewers",
    "to_records",
    "truncation",
    "unreproduced",
]
