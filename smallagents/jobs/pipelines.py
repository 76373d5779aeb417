"""What a job runs per work unit: a role or a graph behind one small interface.

A work unit is one input record and one sample index. Its result is a list of
output records (accepted) and a list of rejected ones (with a reason), plus the
role records that produced them and named counts of other events (tool calls by
status), for the report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from smallagents.errors import RoleInputError, UsageError
from smallagents.role import Role
from smallagents.run import RoleRecord, Run


@dataclass
class UnitResult:
    """What one work unit produced."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    records: list[RoleRecord] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    """Named counts the job report sums over units (e.g. the unit run's
    ``tool_calls.STATUS``, see `smallagents.run.Run.counters`)."""


class Pipeline(Protocol):
    """Anything a job can run: ``smallagents run NAME`` resolves NAME to one.

    Optional attributes the runner reads where a pipeline has them: ``settings`` (a
    mapping, part of the job's fingerprint), ``reads`` (label to path: files the
    pipeline reads, which no file the job writes may be) and the writer hooks of
    `GraphPipeline` (``seeds``, ``start``, ``finish_unit``).
    """

    name: str

    def required_fields(self) -> tuple[str, ...]:
        """Input fields every record must have."""
        ...

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        """Process one input record (one sample of it)."""
        ...


class PipelineFactory(Protocol):
    """What a content file may expose instead of a built pipeline: built per job.

    Nothing is built or compiled when the file is imported; ``smallagents run NAME``
    calls ``build`` with the job's settings (see `PipelineSettings`).
    """

    name: str

    def build(
        self, file: Mapping[str, Any], command_line: Mapping[str, str], *, where: str
    ) -> Pipeline:
        """The pipeline of these settings (``command_line`` wins over ``file``)."""
        ...


def is_pipeline_factory(value: Any) -> bool:
    """Whether ``value`` is a `PipelineFactory` (an object, not a class, not a pipeline)."""
    return (
        not isinstance(value, type)
        and isinstance(getattr(value, "name", None), str)
        and callable(getattr(value, "build", None))
        and not callable(getattr(value, "run_unit", None))
    )


def takes_settings(found: Any) -> bool:
    """Whether a found pipeline (or factory) is built from a job's pipeline settings."""
    return is_pipeline_factory(found) or callable(getattr(found, "configure", None))


@dataclass(frozen=True)
class PipelineSettings:
    """A pipeline's own settings for one job: its ``[pipelines.NAME]`` table and ``--set``.

    A pipeline that takes settings (gra's reviewers and thresholds) is either a
    `PipelineFactory` (``build(file, command_line, *, where)``) or a pipeline with a
    ``configure(file, command_line, *, where)`` method that returns the pipeline
    they describe. Either way the result's ``settings`` are its complete resolved
    settings, part of the job's fingerprint.

    Attributes:
        file: the ``[pipelines.NAME]`` table (TOML values).
        command_line: the ``--set KEY=VALUE`` pairs (text; the pipeline parses it).
        where: the config file's name, for the pipeline's errors.
    """

    file: Mapping[str, Any] = field(default_factory=dict)
    command_line: Mapping[str, str] = field(default_factory=dict)
    where: str = "smallagents.toml"

    def apply(self, found: Any) -> Pipeline:
        """The pipeline ``found`` (a pipeline or a factory) with these settings.

        Raises:
            UsageError: settings for a pipeline that takes none (or that it refuses).
        """
        file, command_line = dict(self.file), dict(self.command_line)
        if is_pipeline_factory(found):
            return found.build(file, command_line, where=self.where)  # type: ignore[no-any-return]
        configure = getattr(found, "configure", None)
        if callable(configure):
            return configure(file, command_line, where=self.where)  # type: ignore[no-any-return]
        if self.file or self.command_line:
            given = "--set" if self.command_line else f"[pipelines.{found.name}]"
            raise UsageError(
                f"{given} is given, but {found.name} has no pipeline settings.",
                fix=f"drop --set and [pipelines.{found.name}] (its roles take --model, "
                "--votes, --fallback).",
            )
        return found  # type: ignore[no-any-return]


def value_fields(value: Any) -> dict[str, Any]:
    """An answer as output fields: an object's fields, or ``{"output": value}``."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return dict(value) if isinstance(value, Mapping) else {"output": value}


class RolePipeline:
    """Runs one role per record: its inputs are read from the record's fields."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.name = role.name

    def required_fields(self) -> tuple[str, ...]:
        return tuple(self.role.spec.inputs)

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        missing = [name for name in self.required_fields() if name not in data]
        if missing:
            raise RoleInputError(
                self.name,
                f"record lacks {', '.join(missing)}",
                fix=f"give every record the fields {', '.join(self.required_fields())}",
            )
        inputs = {name: data[name] for name in self.required_fields()}
        record = self.role.invoke(inputs, run=run, seed=seed)
        out: dict[str, Any] = {"id": unit_id, **value_fields(record.value)}
        out.update(
            {
                "status": record.status,
                "escalated": record.escalated,
                "seed_id": data.get("id"),
                "models": {self.name: record.model},
            }
        )
        result = UnitResult(records=[record])
        if record.resolved:
            result.outputs.append(out)
        else:
            out["reason"] = f"unresolved ({record.escalation_reason}): {record.detail}"
            result.rejects.append(out)
            result.counters.update(_unreachable([record]))
        return result


MODEL_UNREACHABLE = "model_unreachable"
"""The unit counter of a unit rejected because a model could not be reached (an
endpoint refused, timed out or has its circuit open): ``smallagents run
--retry-failed`` runs such units again, and a job whose every unit counts it exits
with code 3."""


def _unreachable(records: list[RoleRecord]) -> dict[str, int]:
    return {MODEL_UNREACHABLE: 1} if any(r.unreachable for r in records) else {}


RecordsFn = Callable[
    [Mapping[str, Any], Mapping[str, Any], str], tuple[list[dict[str, Any]], list[dict[str, Any]]]
]


class GraphPipeline:
    """Runs a graph per record: the record's fields are the graph's input.

    A graph file may build one with its own hooks and expose it as a module-level
    object; otherwise ``smallagents run GRAPH`` wraps the graph as it is, and every
    final state becomes one output record.

    Args:
        graph: the graph.
        to_records: ``(output, record, unit_id) -> (outputs, rejects)``; default: the
            graph's output as one accepted record.
        start: called once, in the writer thread, with the records already in the
            output (a resumed job), before any unit runs.
        seeds: called once, in the writer thread, before ``start``, with every input
            record of the job (each once, whatever ``samples_per_seed``), so that a
            filter can compare outputs with all of the inputs, not only the unit's.
        finish_unit: called in the writer thread on each unit's result before it is
            written (cross-record filters such as de-duplication live here: one
            thread, in commit order, so a resumed job decides the same way).
        settings: the pipeline's own settings (thresholds and the like), JSON values:
            part of the job's fingerprint and recorded in its dataset card.
    """

    def __init__(
        self,
        graph: Any,
        *,
        to_records: RecordsFn | None = None,
        start: Callable[[list[dict[str, Any]]], None] | None = None,
        finish_unit: Callable[[UnitResult], UnitResult] | None = None,
        seeds: Callable[[list[dict[str, Any]]], None] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.graph = graph
        self.name: str = graph.name
        self._compiled = graph.compile()
        self._to_records = to_records
        self._start = start
        self._finish_unit = finish_unit
        self._seeds = seeds
        self.settings: dict[str, Any] = dict(settings or {})

    def required_fields(self) -> tuple[str, ...]:
        schema = self.graph.input_schema
        required = getattr(schema, "__required_keys__", None)
        return tuple(sorted(required)) if required is not None else ()

    def seeds(self, records: list[dict[str, Any]]) -> None:
        if self._seeds is not None:
            self._seeds(records)

    def start(self, existing: list[dict[str, Any]]) -> None:
        if self._start is not None:
            self._start(existing)

    def finish_unit(self, result: UnitResult) -> UnitResult:
        return self._finish_unit(result) if self._finish_unit is not None else result

    def run_unit(self, data: Mapping[str, Any], *, run: Run, seed: int, unit_id: str) -> UnitResult:
        unit_run = run.derive(salt=seed)  # a graph runs many roles: the unit's seed salts them
        fields = set(getattr(self.graph.input_schema, "__annotations__", {}) or data)
        inputs = {key: value for key, value in data.items() if key in fields}
        output = self._compiled.invoke(inputs, run=unit_run)
        records = list(unit_run.records)
        if self._to_records is not None:
            outputs, rejects = self._to_records(output, data, unit_id)
        else:
            outputs, rejects = [{"id": unit_id, **output}], []
        provenance = {
            "seed_id": data.get("id"),
            "escalated": any(r.escalated for r in records),
            "models": {r.role: r.model for r in records},
        }
        counters = dict(unit_run.counters)
        if not outputs:  # rejected only: retrying may help if a model was out of reach
            counters.update(_unreachable(records))
        return UnitResult(
            outputs=[{**provenance, **record} for record in outputs],
            rejects=[{**provenance, **record} for record in rejects],
            records=records,
            counters=counters,
        )
