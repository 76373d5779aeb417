"""Long tasks as chains of small voted steps (the MAKER recipe on small models)."""

from __future__ import annotations

__all__ = ["StepRecord", "TaskRun", "choose_k", "run_steps", "step_accuracy"]

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from smallagents.models.pool import ModelPool
from smallagents.role import Role
from smallagents.run import RoleRecord, RoleSettings, Run
from smallagents.voting import k_min

S = TypeVar("S")


@dataclass(frozen=True)
class StepRecord:
    """One step of a task."""

    index: int
    inputs: Mapping[str, Any]
    answer: Any
    samples: int
    red_flags: int
    decided: bool
    verified: bool | None
    retries: int
    seconds: float


@dataclass
class TaskRun(Generic[S]):
    """The outcome of `run_steps`."""

    state: S
    k: int
    steps: list[StepRecord] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = False
    records: list[RoleRecord] = field(default_factory=list)
    """The role record of every call (for accounting)."""

    @property
    def samples_per_step(self) -> float:
        """Mean samples drawn per step (k for unanimous votes)."""
        return sum(s.samples for s in self.steps) / len(self.steps) if self.steps else 0.0

    @property
    def undecided_steps(self) -> int:
        """Steps whose vote did not reach a lead of k within its samples."""
        return sum(not s.decided for s in self.steps)

    @property
    def failed_verifications(self) -> int:
        """Steps whose answer the verifier still refused after the retries."""
        return sum(s.verified is False for s in self.steps)


def choose_k(p: float, target: float, steps: int, m: int = 1) -> int:
    """The smallest k for which ``steps`` voted steps all succeed with probability >= target.

    With per-step accuracy ``p`` and independent errors, a step is right with
    probability ``1/(1+((1-p)/p)^k)``. Voting fixes random errors, not systematic
    ones: measure ``p`` per kind of question with `step_accuracy` first, and if some
    questions are always answered wrong, change the step's shape, not k.
    """
    return k_min(p, target, steps, m)


def step_accuracy(
    role: Role,
    cases: Iterable[tuple[Mapping[str, Any], Any]],
    *,
    samples: int = 5,
    pool: ModelPool | None = None,
    seed: int = 0,
) -> tuple[float, dict[str, float]]:
    """Per-step accuracy p of ``role`` (single samples, no voting), overall and per case.

    Returns the overall share of right answers and the share per case (keyed by the
    inputs' repr): a case stuck near 0 is a systematic error voting cannot fix.
    """
    run = Run(pool=pool, settings={role.name: RoleSettings(votes=1)})
    per_case: dict[str, float] = {}
    right = total = 0
    for case_index, (inputs, expected) in enumerate(cases):
        hits = 0
        for sample in range(samples):
            record = role.invoke(inputs, run=run, seed=seed + 7919 * case_index + sample)
            hits += _plain(record.value) == _plain(expected)
        per_case[repr(dict(inputs))] = hits / samples
        right += hits
        total += samples
    return (right / total if total else 0.0), per_case


def run_steps(
    role: Role,
    state: S,
    *,
    next_inputs: Callable[[S], Mapping[str, Any]],
    apply: Callable[[S, Any], S],
    done: Callable[[S], bool],
    k: int = 1,
    max_steps: int = 10_000,
    verify: Callable[[S, Any], bool] | None = None,
    retries: int = 2,
    pool: ModelPool | None = None,
    seed: int = 0,
    on_step: Callable[[StepRecord, S], None] | None = None,
    run: Run | None = None,
) -> TaskRun[S]:
    """Run a task step by step, each step voted with first-to-ahead-by-k.

    A task is a state and a step role. Each step asks the role one small question
    about the state (``next_inputs``), votes on the answer, and applies it
    (``apply``); plain code does the bookkeeping.

    Args:
        role: the step role; its voting temperature and sample budget apply, k is
            set here.
        state: the initial state (any value; ``apply`` returns the next one).
        next_inputs: the role's inputs for the current state.
        apply: the next state from the current state and the step's answer.
        done: whether the task is finished.
        k: votes lead needed per step (1: single sample, no voting).
        max_steps: a bound on the loop.
        verify: an optional plausibility check of an answer (never the answer
            itself); a refused answer is drawn again with new seeds, ``retries`` times.
        pool: where the model lives (default: the calling thread's).
        seed: the task's seed; step ``i`` uses seeds derived from it and ``i``.
        on_step: called after every step (progress display).
        run: the run whose models, overrides (a ``--model`` for the step role) and
            aliases apply; its vote count for the role is replaced by ``k``.
    """
    if run is not None:
        own = run.settings_for(role.name)
        run = Run(
            pool=run.pool if pool is None else pool,
            budget=run.budget,
            prices=run.prices,
            settings={**run.settings, role.name: RoleSettings(own.model, own.fallback, k)},
            aliases=run.aliases,
        )
    else:
        run = Run(pool=pool, settings={role.name: RoleSettings(votes=k)})
    task: TaskRun[S] = TaskRun(state=state, k=k)
    started = time.perf_counter()
    for index in range(max_steps):
        if done(task.state):
            task.finished = True
            break
        inputs = next_inputs(task.state)
        step_started = time.perf_counter()
        samples = red_flags = 0
        verified: bool | None = None
        for attempt in range(retries + 1):
            record = role.invoke(inputs, run=run, seed=seed + 1_000_003 * index + 10_007 * attempt)
            task.records.append(record)
            samples += record.samples
            red_flags += len(record.red_flags)
            if verify is None:
                break
            verified = verify(task.state, record.value)
            if verified:
                break
        step = StepRecord(
            index=index,
            inputs=inputs,
            answer=record.value,
            samples=samples,
            red_flags=red_flags,
            decided=record.decided,
            verified=verified,
            retries=attempt,
            seconds=time.perf_counter() - step_started,
        )
        task.steps.append(step)
        task.state = apply(task.state, record.value)
        if on_step is not None:
            on_step(step, task.state)
    else:
        task.finished = done(task.state)
    task.seconds = time.perf_counter() - started
    return task


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else value
