"""The gra job pipelines, and the factories ``smallagents run`` builds them with per job."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import smallagents

from ._avoid import read_avoided
from ._config import GraConfig, config_from_env, configure
from ._graph import build_graph
from ._records import PairDeduplicator, curated_records, few_shot_pairs, to_records


class GraPipeline(smallagents.GraphPipeline):
    """A gra job pipeline of one configuration: its graph, its records, its de-duplication.

    Args:
        config: the settings it runs with (its ``settings``, fingerprinted whole).
        curate: judge existing pairs (``gra-curate``) instead of generating them.
    """

    def __init__(self, config: GraConfig, *, curate: bool = False) -> None:
        self.config = config
        self.curate = curate
        self.avoided = read_avoided(config.avoid)
        # Files the job reads: the runner refuses an output or rejects file among them.
        self.reads = {f"avoid file {path}": Path(path) for path in config.avoid}
        earlier = [(pair.key, pair.pair()) for pair in self.avoided.pairs]
        if curate:  # the input is the data itself: no seeds (earlier pairs are indexed now)
            deduplicator = PairDeduplicator(config.dedupe_threshold, earlier=earlier)
            seeds = None
        else:
            deduplicator = PairDeduplicator(config.dedupe_threshold, few_shot_pairs(), earlier)
            seeds = deduplicator.seeds
        on = config.dedupe
        settings = asdict(config)
        if self.avoided.digest:  # the files' content decides the records, not their paths
            settings["avoid_content"] = self.avoided.digest
        super().__init__(
            build_graph(config, curate=curate, avoided=self.avoided),
            to_records=curated_records if curate else to_records,
            seeds=seeds if on else None,
            start=deduplicator.start if on else None,
            finish_unit=deduplicator.finish_unit if on else None,
            settings=settings,
        )


def build_pipeline(config: GraConfig | None = None) -> GraPipeline:
    """The ``gra`` job pipeline of ``config``: the graph, its records and the de-duplication."""
    return GraPipeline(config or GraConfig())


def build_curate_pipeline(config: GraConfig | None = None) -> GraPipeline:
    """The ``gra-curate`` job pipeline of ``config``: existing pairs checked, reviewed,
    adjudicated (and, with ``refine``, rewritten once), de-duplicated among the kept ones."""
    return GraPipeline(config or GraConfig(), curate=True)


@dataclass(frozen=True)
class GraFactory:
    """What ``smallagents run gra`` (or ``gra-curate``) finds: it builds the job's pipeline.

    Nothing is built when the content is loaded: ``build`` reads the job's settings
    (and the ``SMALLAGENTS_GRA_*`` variables) when the job starts.

    Attributes:
        name: the pipeline's name, ``gra`` or ``gra-curate``.
        curate: whether it judges existing pairs.
    """

    name: str
    curate: bool = False

    def build(
        self,
        file: Mapping[str, Any] | None = None,
        command_line: Mapping[str, Any] | None = None,
        *,
        where: str = "smallagents.toml",
    ) -> GraPipeline:
        """The pipeline of a job's settings: defaults, then ``file`` (the
        ``[pipelines.NAME]`` table), then the ``SMALLAGENTS_GRA_*`` variables, then
        ``command_line`` (``--set``).

        Raises:
            UsageError: an unknown setting, a value that does not parse or is out of range.
        """
        config = configure(file, command_line, where=f"[pipelines.{self.name}] in {where}")
        return GraPipeline(config, curate=self.curate)

    @property
    def graph(self) -> smallagents.Graph:
        """The graph of the default settings (and ``SMALLAGENTS_GRA_*``, read now), uncompiled."""
        return build_graph(config_from_env(), curate=self.curate)

    @property
    def description(self) -> str:
        """The graph's one-line description, for listings."""
        return self.graph.description
