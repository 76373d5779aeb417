"""Run a job's units on a Ray cluster: ``smallagents run ... --executor ray --address ADDR``.

Each unit goes to a Ray actor that owns its own model instances (one llama.cpp
instance per model per actor, single-threaded: an actor asks Ray for one CPU).
Endpoint models (``openai:``) are called from the actors as they would be from a
local worker. The driver (the process that runs ``smallagents run``) keeps the job
state and is the only writer, so a Ray job keeps the local runner's guarantees:
the same stable unit ids and seeds, results written in input order, resume after
the driver dies, nothing duplicated. The output file is the same, line for line,
as a local run's.

When an actor dies (a node lost, an out-of-memory kill, a segfault in native
code), the unit it held is retried on a fresh actor; a unit that kills
``max_unit_failures`` actors is written to the rejects with the reason, and the
job goes on.

Actors rebuild the pipeline themselves from a *factory* (a picklable callable,
e.g. ``functools.partial(find_pipeline, "gra", [], [])``), because roles defined in
a user's file cannot be pickled by reference. Roles and graphs files named on the
command line must therefore exist at the same path on every node (or be shipped
with Ray's ``runtime_env``). A pipeline that takes settings is rebuilt with the
settings the driver resolved (see ``smallagents.jobs.launch``), so the actors'
environment does not decide them. The escalation budget of ``smallagents.toml``
is enforced per actor.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from smallagents.errors import UsageError
from smallagents.jobs.executors import (
    RunConfig,
    Unit,
    counting_prompts,
    failed_unit,
    portable,
    run_guarded,
)
from smallagents.jobs.pipelines import Pipeline, UnitResult
from smallagents.models.pool import current_thread_pool, use_thread_pool

PipelineFactory = Callable[[], Pipeline]

ACTOR_ENVIRONMENT = (
    "SMALLAGENTS_CACHE",
    "SMALLAGENTS_THREADS",
    "SMALLAGENTS_PREFIX_CACHE_MB",
    "SMALLAGENTS_EXTRA_BUFFERS",
)
"""The variables that travel to the actors when set here: the model runtime's own
(where model files live, decode threads, prefix cache, native buffers). Pipeline
settings travel in the pipeline factory instead; API keys never do (Ray shows a
job's runtime_env to anyone who can see the cluster): set them in the nodes' own
environment."""


class UnitWorker:
    """A Ray actor's body: one pipeline, one run and one model pool, for its lifetime."""

    def __init__(self, factory: PipelineFactory, config: RunConfig) -> None:
        self._pipeline = factory()
        self._run = config.new_run()
        self._pool = config.new_pool(threads=1)

    def run_unit(self, unit: Unit) -> UnitResult:
        # Ray runs a synchronous actor's calls on one thread; set the pool on it
        # (again) here rather than trust that it is the thread __init__ ran on.
        if current_thread_pool() is not self._pool:
            use_thread_pool(self._pool)
        result = run_guarded(self._work, unit)
        return portable(result)

    def _work(self, unit: Unit) -> UnitResult:
        # Counted in the actor, where the model calls run, like a local worker's units.
        return counting_prompts(
            lambda: self._pipeline.run_unit(
                unit.data, run=self._run, seed=unit.seed, unit_id=unit.id
            )
        )

    def pid(self) -> int:
        return os.getpid()


class RayExecutor:
    """Runs units on Ray actors; see the module docstring.

    Args:
        factory: builds the pipeline in each actor (picklable).
        address: a Ray cluster (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``); ``None``
            starts a private Ray instance on this machine for the job.
        actors: how many actors (default: one per CPU of the cluster).
        max_unit_failures: actor deaths one unit may cause before it is rejected.
    """

    def __init__(
        self,
        factory: PipelineFactory,
        *,
        address: str | None = None,
        actors: int | None = None,
        max_unit_failures: int = 3,
    ) -> None:
        self.factory = factory
        self.address = address
        self.actors = actors
        self.max_unit_failures = max(1, max_unit_failures)
        self.actor_deaths = 0
        """Actors lost during the last `execute` (for reports and tests)."""
        self.actor_pids: list[int] = []
        """Process ids of the live actors (for tests that kill one)."""

    def execute(
        self, pipeline: Pipeline, units: Iterable[Unit], config: RunConfig
    ) -> Iterator[tuple[Unit, UnitResult]]:
        self.actor_deaths = 0
        source = iter(units)
        first = next(source, None)
        if first is None:  # a finished job resumed: nothing to start a cluster for
            return
        ray = _import_ray()
        started_here = _connect(ray, self.address)
        try:
            yield from self._schedule(ray, itertools.chain([first], source), config)
        finally:
            if started_here:
                ray.shutdown()

    def _schedule(
        self, ray: Any, units: Iterator[Unit], config: RunConfig
    ) -> Iterator[tuple[Unit, UnitResult]]:
        from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

        remote_worker = ray.remote(num_cpus=1, max_restarts=0)(UnitWorker)
        # More actors than CPUs would wait for a CPU forever: cap at the cluster's;
        # fewer units than that need no more actors than units.
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # Units are read as actors free up (the input is never all in memory);
        # ``retry`` holds the first ones and those whose actor died.
        retry: deque[Unit] = deque(itertools.islice(units, min(self.actors or cpus, cpus)))
        count = len(retry)
        idle: deque[Any] = deque(remote_worker.remote(self.factory, config) for _ in range(count))
        live = list(idle)
        try:
            self.actor_pids = ray.get([actor.pid.remote() for actor in live])
        except RayActorError as error:  # the pipeline could not be built on a node
            for actor in live:
                ray.kill(actor, no_restart=True)
            cause, _, its_fix = _cause(error).partition(" Fix: ")
            nodes = (
                "install smallagents on every node and give --roles/--graphs files that "
                "exist at the same path there (or ship them with Ray's runtime_env)"
            )
            raise UsageError(
                f"A Ray actor could not build the pipeline: {cause}",
                fix=f"{its_fix.rstrip('.')}; on a cluster, {nodes}." if its_fix else f"{nodes}.",
            ) from None
        pending: dict[Any, tuple[Any, Unit]] = {}
        deaths: Counter[str] = Counter()
        try:
            while True:
                # One unit in flight per actor: an actor's death is then charged to
                # the one unit that was running on it.
                while idle:
                    following = retry.popleft() if retry else next(units, None)
                    if following is None:
                        break
                    actor = idle.popleft()
                    pending[actor.run_unit.remote(following)] = (actor, following)
                if not pending:
                    break
                ready, _ = ray.wait(list(pending), num_returns=1)
                actor, unit = pending.pop(ready[0])
                try:
                    result: UnitResult = ray.get(ready[0])
                except RayTaskError as error:  # a usage error inside the pipeline: stop
                    remote: Any = error  # Ray leaves this method untyped
                    raise remote.as_instanceof_cause() from None
                except (RayActorError, WorkerCrashedError) as error:
                    self.actor_deaths += 1
                    deaths[unit.id] += 1
                    live.remove(actor)
                    replacement = remote_worker.remote(self.factory, config)
                    live.append(replacement)
                    idle.append(replacement)
                    if deaths[unit.id] < self.max_unit_failures:
                        retry.appendleft(unit)  # retried first, on another actor
                        continue
                    reason = (
                        f"worker died {deaths[unit.id]} times running this record "
                        f"({type(error).__name__}); not retried again"
                    )
                    yield unit, failed_unit(unit, reason)
                    continue
                idle.append(actor)
                yield unit, result
        finally:
            for actor in live:
                ray.kill(actor, no_restart=True)


def _cause(error: Exception) -> str:
    """The last line of a remote traceback: the original error, without its module."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    last = lines[-1] if lines else type(error).__name__
    name, sep, message = last.partition(": ")
    return message if sep and "." in name and " " not in name else last


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--executor ray needs Ray, which is not installed.",
            fix="pip install 'smallagents[ray]', or run without --executor ray.",
        ) from None
    return ray


def _connect(ray: Any, address: str | None) -> bool:
    """Join (or start) Ray; return whether this call started it (and so must stop it)."""
    if ray.is_initialized():
        return False
    # No telemetry: Ray's usage statistics stay off for every job we start.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env_vars = {name: os.environ[name] for name in ACTOR_ENVIRONMENT if name in os.environ}
    try:
        ray.init(
            address=address,
            num_cpus=None if address else os.cpu_count(),
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
            runtime_env={"env_vars": env_vars} if env_vars else None,
        )
    except Exception as error:  # Ray raises many kinds; each becomes one line
        if ray.is_initialized():
            ray.shutdown()
        raise _join_error(error, address) from None
    return True


# What a driver needs to join a cluster that checks tokens (Ray 2.52 and later).
_TOKEN_FIX = (
    "set RAY_AUTH_MODE=token in this shell and give it the cluster's token: on the head "
    "node `ray get-auth-token` prints it; keep it in ~/.ray/auth_token here, or point "
    "RAY_AUTH_TOKEN_PATH at a file that holds it (or set RAY_AUTH_TOKEN)"
)


def _join_error(error: Exception, address: str | None) -> UsageError:
    """Ray's failure to join or start a cluster, as one line that names the fix."""
    where = address or "a new local instance"
    text = " ".join(str(error).split())
    if type(error).__name__ == "AuthenticationError" or "authentication token" in text.lower():
        # Ray's own message runs on for several sentences: keep its first one.
        first = text.split(". ")[0].rstrip(".") if text else type(error).__name__
        return UsageError(f"Cannot join the Ray cluster at {where}: {first}.", fix=_TOKEN_FIX + ".")
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if address is None:
        fix = "check that Ray can start here (ray start --head works), or pass --address."
    else:
        fix = (
            f"check that the cluster is up at {address} (ray status --address {address}); "
            f"if its `ray start` said token authentication is enabled, {_TOKEN_FIX}."
        )
    return UsageError(f"Cannot join the Ray cluster at {where}: {first_line}", fix=fix)
