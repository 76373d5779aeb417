"""Where a job's work units run: threads in this process, or actors on a Ray cluster.

An executor takes the units still to do and yields ``(unit, result)`` pairs in any
order. It never writes anything: the runner (the only writer) puts results in
input order and commits them, so every executor keeps the runner's exactly-once
guarantee and gives the same output file.

This module holds the local executor; `smallagents.jobs.ray_executor` holds
the Ray one (optional extra ``smallagents[ray]``).
"""

from __future__ import annotations

import concurrent.futures as futures
import dataclasses
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from smallagents.errors import (
    ModelFileError,
    RoleUnresolvedError,
    SmallAgentsError,
    UsageError,
    is_unreachable,
)
from smallagents.jobs.pipelines import MODEL_UNREACHABLE, Pipeline, UnitResult
from smallagents.models.base import thread_prompt_counts
from smallagents.models.pool import (
    ModelPool,
    SharedInstances,
    available_cores,
    current_thread_pool,
    default_threads,
    use_thread_pool,
)
from smallagents.run import EscalationBudget, RoleSettings, Run
from smallagents.tools import allow_tools


@dataclass(frozen=True)
class Unit:
    """One input record and one sample index."""

    id: str
    seed: int
    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class RunConfig:
    """How to build a job's `smallagents.run.Run`: plain data, so it can be
    sent to another process (each Ray actor builds its own run from it)."""

    budget: EscalationBudget | None = None
    settings: Mapping[str, RoleSettings] = field(default_factory=dict)
    defaults: RoleSettings | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    allowed_tools: tuple[str, ...] = ()
    """Tools needing confirmation that the job may run (``--allow-tool``)."""
    endpoints: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """``openai:`` model settings by base URL (``[endpoints]`` of smallagents.toml)."""
    prefix_cache_mb: float | None = None
    """Each in-process model's prefix-cache memory (``None``: the model's default)."""

    def fingerprinted(self) -> dict[str, Any]:
        """Everything here that can change a record (all but ``endpoints``: how
        patiently to call a server changes when an answer comes, not which; and
        ``prefix_cache_mb``: a cached prefix answers as a fresh prefill does)."""
        return {
            "budget": dataclasses.asdict(self.budget) if self.budget is not None else None,
            "settings": {
                name: dataclasses.asdict(value) for name, value in sorted(self.settings.items())
            },
            "defaults": dataclasses.asdict(self.defaults) if self.defaults is not None else None,
            "aliases": dict(sorted(self.aliases.items())),
            "allowed_tools": sorted(set(self.allowed_tools)),
        }

    def new_pool(self, threads: int, shared: SharedInstances | None = None) -> ModelPool:
        """A worker's own model pool (its in-process models from ``shared``, if given)."""
        return ModelPool(
            threads=threads,
            endpoints=self.endpoints,
            shared=shared,
            prefix_cache_mb=self.prefix_cache_mb,
        )

    def new_run(self) -> Run:
        # A job keeps no per-call ledger: the report is built from the job state.
        return Run(
            budget=self.budget,
            settings=dict(self.settings),
            defaults=self.defaults,
            aliases=dict(self.aliases),
            keep_records=False,
            # Nobody is there to approve a call in a batch job: only tools named
            # ahead of time may run.
            tool_approval=allow_tools(self.allowed_tools),
        )


class Executor(Protocol):
    """Runs units and yields their results, in any order, each unit exactly once."""

    def execute(
        self, pipeline: Pipeline, units: Iterable[Unit], config: RunConfig
    ) -> Iterator[tuple[Unit, UnitResult]]:
        """Run ``units``, taking them from the iterable as workers free up."""
        ...


class LocalExecutor:
    """``workers`` threads in this process, each with its own model instances
    (llama.cpp instances are never shared between threads) and ``cores // workers``
    decode threads. More workers than cores keep more endpoint requests in flight
    (an endpoint is bound by its server, up to its ``max_concurrency``) without more
    in-process instances: those are then shared, one per core (see
    `smallagents.models.pool.SharedInstances`)."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)

    def execute(
        self, pipeline: Pipeline, units: Iterable[Unit], config: RunConfig
    ) -> Iterator[tuple[Unit, UnitResult]]:
        run = config.new_run()
        workers = self.workers
        threads = default_threads(workers)
        local = threading.local()
        created: list[ModelPool] = []
        caller_pool = current_thread_pool()
        cores = available_cores()
        shared = SharedInstances(cores) if workers > cores else None

        def work(unit: Unit) -> UnitResult:
            if getattr(local, "pool", None) is None:
                local.pool = config.new_pool(threads, shared)
                created.append(local.pool)
                use_thread_pool(local.pool)
            return counting_prompts(
                lambda: pipeline.run_unit(unit.data, run=run, seed=unit.seed, unit_id=unit.id)
            )

        try:
            if workers == 1:
                for unit in units:
                    yield unit, run_guarded(work, unit)
                return
            with futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unit") as pool:
                pending: dict[futures.Future[UnitResult], Unit] = {}
                queue = iter(units)
                try:
                    for unit in queue:
                        pending[pool.submit(run_guarded, work, unit)] = unit
                        if len(pending) >= 2 * workers:
                            break
                    while pending:
                        finished, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                        for future in finished:
                            unit = pending.pop(future)
                            yield unit, future.result()
                            following = next(queue, None)
                            if following is not None:
                                pending[pool.submit(run_guarded, work, following)] = following
                finally:
                    for future in pending:
                        future.cancel()
        finally:
            # The workers' models go with the job (freed here, under the native lock,
            # rather than by the garbage collector in whatever thread it runs).
            for created_pool in created:
                created_pool.close()
            if shared is not None:
                shared.close()
            # A one-worker job ran its units in this thread: give the thread back the
            # pool it had (None: none, so the next caller gets a fresh one), never the
            # job's closed pool with whatever models a unit registered in it.
            use_thread_pool(caller_pool)


PROMPT_EVALUATED = "prompt_tokens.evaluated."
PROMPT_REUSED = "prompt_tokens.reused."


def counting_prompts(work: Callable[[], UnitResult]) -> UnitResult:
    """Run ``work`` and add the prompt tokens its model calls (in this thread) evaluated
    and reused, per role, to the unit's counters (``prompt_tokens.evaluated.ROLE``,
    ``prompt_tokens.reused.ROLE``; the report's ``roles`` table shows them)."""
    before = thread_prompt_counts()
    result = work()
    for role, (evaluated, reused) in thread_prompt_counts().items():
        was_evaluated, was_reused = before.get(role, (0, 0))
        for name, count in (
            (PROMPT_EVALUATED, evaluated - was_evaluated),
            (PROMPT_REUSED, reused - was_reused),
        ):
            if count:
                result.counters[name + role] = result.counters.get(name + role, 0) + count
    return result


_LLAMA_LOAD_FAILED = "Failed to load model"


def run_guarded(work: Callable[[Unit], UnitResult], unit: Unit) -> UnitResult:
    """Turn a unit's own failure into a reject with the reason; usage errors still stop.

    A failure because a model could not be reached is counted as such
    (`smallagents.jobs.pipelines.MODEL_UNREACHABLE`), so that the job can say
    so and ``--retry-failed`` can run the unit again.
    """
    try:
        return work(unit)
    except UsageError:
        raise
    except ValueError as error:
        # llama-cpp-python's only word for a GGUF file whose header is right but whose
        # body is not (truncated, garbage): the job stops with one line, not a traceback.
        text = str(error)
        if not text.startswith(_LLAMA_LOAD_FAILED):
            raise
        path = text.partition("from file: ")[2] or "the model file"
        raise ModelFileError(
            f"Model file {path} could not be loaded by llama.cpp: it is a GGUF file by its "
            "header, but truncated, damaged or of an architecture this llama.cpp lacks.",
            path=path,
            fix="copy or download it again and compare its size or checksum, or choose "
            "another --model.",
        ) from None
    except SmallAgentsError as error:
        unreachable = is_unreachable(error) or (
            isinstance(error, RoleUnresolvedError)
            and bool(getattr(error.record, "unreachable", False))
        )
        return failed_unit(unit, error.message, unreachable=unreachable)


def failed_unit(unit: Unit, reason: str, *, unreachable: bool = False) -> UnitResult:
    """The result of a unit that produced nothing: one reject that says why."""
    return UnitResult(
        rejects=[{"id": unit.id, "seed_id": unit.data.get("id"), "reason": reason}],
        counters={MODEL_UNREACHABLE: 1} if unreachable else {},
    )


def portable(result: UnitResult) -> UnitResult:
    """The result without what only its own process can use (answer objects of
    classes defined in content files, generations): the writer needs only the
    records' JSON and the role records' figures."""
    return dataclasses.replace(
        result,
        records=[dataclasses.replace(r, value=None, generations=()) for r in result.records],
    )
