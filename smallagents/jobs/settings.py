"""The one settings object of a job (`JobOptions`): merged command line > file > default.

Every field is `X | None`, `None` meaning "this source does not give it". A job's
options come from up to three layers: what the command line (or a Python caller)
gives, what `smallagents.toml` gives (`JobConfig.options`), and `DEFAULTS`.
`JobOptions.over` is the one merge, field by field: a value given by the nearer
layer wins; a mapping (per-role settings, aliases, endpoints, MCP servers) merges
key by key, the nearer layer winning per key. The runner takes the merged object
whole: it builds the run from it and fingerprints all of it for the resume check
(`fingerprint_settings`), except the fields in `NOT_FINGERPRINTED`, which cannot
change a record.

Adding a setting: give `JobOptions` a field (`X | None = None`), a default in
`DEFAULTS` if it has one, its key check in `jobs/config.py` when `[run]` may set
it, and its option in `smallagents/cli/_run.py`; then either put it in
`fingerprint_settings` or name it in `NOT_FINGERPRINTED` (a test holds that
every field is one or the other).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from smallagents.errors import UsageError
from smallagents.jobs.inputs import OnError
from smallagents.run import EscalationBudget, RoleSettings

T = TypeVar("T")


@dataclass(frozen=True)
class JobOptions:
    """Everything that defines a job; see the module docstring for how layers merge.

    Attributes:
        input: the input file (JSONL, JSON array, CSV, Parquet) or ``-`` for stdin.
        output: the output JSONL (or ``.parquet``).
        rejects: the rejected records (default: OUTPUT.rejects.jsonl).
        state: the job state (default: OUTPUT.state.sqlite).
        samples_per_seed: samples per input record.
        limit: only the first N input records.
        seed: the job seed; a unit's seed comes from it and the unit id.
        workers: units run concurrently (the executor's default when not given).
        on_error: ``skip`` or ``stop`` on a bad input line.
        fresh: start over, discarding the state and output.
        retry_failed: run again the units rejected because a model could not be
            reached (``--retry-failed``); their reject lines are taken out first, so
            each record still ends up exactly once in the output or the rejects.
        model: the model of every role that no per-role setting names.
        fallback: the escalation model of every role.
        votes: k of first-to-ahead-by-k for every role.
        roles: per-role overrides (``[roles.NAME]``, ``--model ROLE=SPEC``).
        aliases: model aliases (``[models]``).
        budget: the escalation cap (``[escalation]``).
        endpoints: ``openai:`` model settings by base URL (``[endpoints]``).
        prefix_cache_mb: memory for each in-process model's prefix cache, in MB
            (``[run] prefix_cache_mb``, ``--prefix-cache-mb``; 0 turns it off;
            default ``SMALLAGENTS_PREFIX_CACHE_MB``, else 256).
        allowed_tools: tools marked ``requires_confirmation`` that this job may run
            (``--allow-tool``); no other such tool ever runs in a batch job.
        mcp: the MCP servers whose tools the job's agents get, by name, as each
            describes itself (``[mcp.servers.NAME]``, ``--mcp``).
    """

    input: str | None = None
    output: Path | None = None
    rejects: Path | None = None
    state: Path | None = None
    samples_per_seed: int | None = None
    limit: int | None = None
    seed: int | None = None
    workers: int | None = None
    on_error: OnError | None = None
    fresh: bool | None = None
    retry_failed: bool | None = None
    model: str | None = None
    fallback: str | None = None
    votes: int | None = None
    roles: Mapping[str, RoleSettings] | None = None
    aliases: Mapping[str, str] | None = None
    budget: EscalationBudget | None = None
    endpoints: Mapping[str, Mapping[str, Any]] | None = None
    prefix_cache_mb: float | None = None
    allowed_tools: tuple[str, ...] | None = None
    mcp: Mapping[str, Any] | None = None

    def over(self, other: JobOptions) -> JobOptions:
        """These options where given, ``other``'s where not: the one merge of layers."""
        values: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            mine, theirs = getattr(self, item.name), getattr(other, item.name)
            if isinstance(mine, Mapping) and isinstance(theirs, Mapping):
                values[item.name] = {**theirs, **mine}
            else:
                values[item.name] = mine if mine is not None else theirs
        return JobOptions(**values)

    @property
    def input_source(self) -> str:
        """``input``, which every job needs."""
        return required(self.input, "--input")

    @property
    def output_path(self) -> Path:
        """``output``, which every job needs."""
        return required(self.output, "--output")

    @property
    def rejects_path(self) -> Path:
        if self.rejects is not None:
            return self.rejects
        return self.output_path.with_name(self.output_path.stem + ".rejects.jsonl")

    @property
    def parquet(self) -> bool:
        """Whether the output is written as Parquet (from a JSONL journal, at the end)."""
        return self.output_path.suffix.lower() == ".parquet"

    @property
    def journal_path(self) -> Path:
        """The append-only JSONL that holds the output while the job runs."""
        output = self.output_path
        return output.with_name(output.name + ".jsonl") if self.parquet else output

    @property
    def state_path(self) -> Path:
        return self.state or self.output_path.with_name(self.output_path.name + ".state.sqlite")

    @property
    def role_defaults(self) -> RoleSettings:
        """``model``, ``fallback`` and ``votes``: the overrides of every role."""
        return RoleSettings(model=self.model, fallback=self.fallback, votes=self.votes)


DEFAULTS = JobOptions(
    samples_per_seed=1,
    seed=0,
    workers=1,
    on_error="stop",
    fresh=False,
    retry_failed=False,
    roles={},
    aliases={},
    endpoints={},
    allowed_tools=(),
)
"""What a job uses for an option no layer gives (``smallagents run`` gives ``workers``
one per core itself, once it has chosen the executor)."""

NOT_FINGERPRINTED = frozenset(
    {
        "output",
        "rejects",
        "state",
        "workers",
        "on_error",
        "fresh",
        "retry_failed",
        "endpoints",
        "prefix_cache_mb",
    }
)
"""Options that cannot change the records of a job: the paths written, how many
workers, what to do with a bad line (it either stops the job before any work or is
skipped; the input's fingerprint covers which), whether to start over or retry,
how patiently endpoints are called (that changes when an answer comes, not which),
and the prefix cache's memory (a cached prefix gives the same answer as a fresh
prefill: tested byte for byte)."""


def merge(*layers: JobOptions) -> JobOptions:
    """The layers, nearest first, merged over each other and over `DEFAULTS`."""
    merged = DEFAULTS
    for layer in reversed(layers):
        merged = layer.over(merged)
    return merged


def required(value: T | None, option: str) -> T:
    """A value every job needs (or one `DEFAULTS` gives), else a one-line error.

    Raises:
        UsageError: ``value`` is ``None``.
    """
    if value is None:
        raise UsageError(f"The job has no {option}.", fix=f"give {option}.")
    return value


def _fields(value: Any) -> dict[str, Any] | None:
    return dataclasses.asdict(value) if value is not None else None


def fingerprint_settings(options: JobOptions) -> dict[str, Any]:
    """The options' record-deciding settings, as the job state describes them.

    The layout is the one jobs have always been fingerprinted and described with
    (``settings`` and ``run``), so a job started before keeps its key.
    """
    roles = {name: vars(item) for name, item in sorted((options.roles or {}).items())}
    settings: dict[str, Any] = {
        "roles": roles,
        "defaults": vars(options.role_defaults),
        "aliases": dict(options.aliases or {}),
        "run": {
            "model": options.model,
            "fallback": options.fallback,
            "votes": options.votes,
            "seed": options.seed,
            "samples_per_seed": options.samples_per_seed,
        },
        "escalation": _fields(options.budget),
    }
    if options.mcp:  # which tools a job could call is part of what it is
        settings["mcp"] = dict(options.mcp)
    return settings


def described_options(options: JobOptions) -> dict[str, Any]:
    """The options as the report and the job's note show them."""
    return {
        "input": options.input,
        "output": str(options.output),
        "rejects": options.rejects,
        "state": options.state,
        "samples_per_seed": options.samples_per_seed,
        "limit": options.limit,
        "seed": options.seed,
        "workers": options.workers,
        "on_error": options.on_error,
        "fresh": options.fresh,
        "settings": fingerprint_settings(options),
        "allowed_tools": options.allowed_tools,
        "retry_failed": options.retry_failed,
    }
