"""Running a role: sampling the small model, voting, and escalating to the fallback."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pydantic

from smallagents.errors import (
    GenerationError,
    ModelUnavailableError,
    RoleInputError,
    SmallAgentsError,
    StructuredOutputError,
    is_unreachable,
    key_mismatch,
)
from smallagents.models.base import Generation, Model, Prompt
from smallagents.role._policies import EscalationPolicy
from smallagents.role._spec import RoleSpec, as_schema, check_fields_exist
from smallagents.run import EscalationReason, RoleRecord, Run
from smallagents.structured.schema import CompiledSchema, RedFlag, compile_schema
from smallagents.voting import canonical_key, fields_key, first_to_ahead_by_k


class Playable(Protocol):
    """What running a role needs of it (a `Role` has it all)."""

    spec: RoleSpec

    def values(self, inputs: Mapping[str, Any]) -> Mapping[str, Any]: ...

    def output_schema_for(self, values: Mapping[str, Any]) -> Any: ...

    def prompt_for(
        self, model: Model, spec: RoleSpec, values: Mapping[str, Any]
    ) -> tuple[Prompt, CompiledSchema]: ...


def _checked_inputs(spec: RoleSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    missing = [key for key in spec.inputs if key not in inputs]
    extra = [key for key in inputs if key not in spec.inputs]
    if missing or extra:
        raise RoleInputError(
            spec.name,
            key_mismatch(missing, extra),
            fix=f"pass exactly these inputs: {', '.join(spec.inputs)}",
        )
    checked: dict[str, Any] = {}
    for key, annotation in spec.inputs.items():
        try:
            checked[key] = pydantic.TypeAdapter(annotation).validate_python(inputs[key])
        except pydantic.ValidationError as error:
            raise RoleInputError(
                spec.name,
                f"{key}: {error.errors()[0]['msg']}",
                fix=f"pass {key} as {getattr(annotation, '__name__', annotation)}",
            ) from None
    return checked


def default_seed(role_name: str, values: Mapping[str, Any], salt: int | None = None) -> int:
    """A seed derived from the role, its inputs and the run's salt: same call, same answer."""
    text = f"{role_name}\x00{canonical_key(dict(values))}"
    if salt is not None:
        text += f"\x00{salt}"
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class _Attempt:
    value: Any = None
    generations: list[Generation] = field(default_factory=list)
    samples: int = 0
    red_flags: list[str] = field(default_factory=list)
    votes: dict[str, int] = field(default_factory=dict)
    decided: bool = False
    margin: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    failures: list[StructuredOutputError] = field(default_factory=list)
    reason: EscalationReason | None = None
    detail: str = ""
    unreachable: bool = False  # the last model tried could not be reached

    def spend(self, generation: Generation) -> None:
        self.generations.append(generation)
        self.prompt_tokens += generation.prompt_tokens
        self.completion_tokens += generation.completion_tokens
        self.seconds += generation.seconds

    def spend_failure(self, error: StructuredOutputError) -> None:
        self.failures.append(error)
        self.prompt_tokens += error.prompt_tokens
        self.completion_tokens += error.completion_tokens
        self.seconds += error.seconds


def configured_spec(spec: RoleSpec, run: Run) -> RoleSpec:
    """The spec with the run's overrides (model, fallback, votes) and aliases applied."""
    settings = run.settings_for(spec.name)
    voting = spec.voting
    if settings.votes is not None:
        voting = dataclasses.replace(voting, k=settings.votes)
    fallback = settings.fallback or spec.escalation.fallback
    min_confidence = (
        settings.min_confidence
        if settings.min_confidence is not None
        else spec.escalation.min_confidence
    )
    return dataclasses.replace(
        spec,
        model=run.resolve(settings.model or spec.model),
        voting=voting,
        escalation=dataclasses.replace(
            spec.escalation,
            fallback=run.resolve(fallback) if fallback else None,
            min_confidence=min_confidence,
        ),
    )


def execute(
    role_obj: Playable, inputs: Mapping[str, Any], run: Run, seed: int | None
) -> RoleRecord:
    spec = configured_spec(role_obj.spec, run)
    checked = _checked_inputs(spec, inputs)
    values = role_obj.values(checked)
    spec = _output_for_call(role_obj, spec, values)
    first_seed = seed if seed is not None else default_seed(spec.name, values, run.salt)
    model = run.models().load(spec.model)
    attempt = _sample_small_model(role_obj, spec, model, values, first_seed)
    policy = spec.escalation
    confidence = _winner_confidence(attempt)
    if attempt.reason is None and policy.unsure is not None and _is_unsure(attempt.value, policy):
        attempt.reason, attempt.detail = "unsure", "the role's answer says it is unsure"
    if attempt.reason is None and policy.min_confidence is not None:
        lowest = lowest_confidence(confidence, policy.confidence_fields)
        if lowest is not None and lowest < policy.min_confidence:
            attempt.reason = "low_confidence"
            attempt.detail = f"confidence {lowest:.3f} below {policy.min_confidence}"
    status: Any = "ok"
    answered_by = model.name
    if attempt.reason is not None:
        status, answered_by = _escalate(
            role_obj, spec, run, values, first_seed, attempt, model.name
        )
    cost = sum(run.cost_of(g) for g in attempt.generations) + sum(
        run.cost_of(e) for e in attempt.failures
    )
    record = RoleRecord(
        role=spec.name,
        value=attempt.value,
        status=status,
        model=answered_by,
        escalation_reason=attempt.reason,
        detail=attempt.detail,
        generations=tuple(attempt.generations),
        votes=dict(attempt.votes),
        samples=attempt.samples,
        red_flags=tuple(attempt.red_flags),
        decided=attempt.decided,
        margin=attempt.margin,
        prompt_tokens=attempt.prompt_tokens,
        completion_tokens=attempt.completion_tokens,
        seconds=attempt.seconds,
        cost=cost,
        unreachable=attempt.unreachable and status == "unresolved",
        confidence=confidence,
    )
    run.add(record)
    return record


def _winner_confidence(attempt: _Attempt) -> dict[str, float]:
    """The confidence of the small model's generation of the winning answer.

    With votes, several draws may have written the winner; the first of them is
    the one the vote would have kept alone.
    """
    if attempt.value is None:
        return {}
    winner = canonical_key(attempt.value)
    for generation in attempt.generations:
        if canonical_key(generation.value) == winner:
            return dict(generation.confidence)
    return {}


def lowest_confidence(confidence: Mapping[str, float], fields: Sequence[str] = ()) -> float | None:
    """The lowest per-field confidence among ``fields`` (dotted paths or their prefixes).

    ``None`` when no such field has a confidence (a backend that reports none).
    """
    chosen = [
        value
        for path, value in confidence.items()
        if not fields or any(path == f or path.startswith(f + ".") for f in fields)
    ]
    return min(chosen) if chosen else None


def _output_for_call(role_obj: Playable, spec: RoleSpec, values: Mapping[str, Any]) -> RoleSpec:
    """The spec with this call's output schema, when the role chooses one per call."""
    schema = role_obj.output_schema_for(values)
    if schema is spec.schema:
        return spec
    compiled = schema if isinstance(schema, CompiledSchema) else compile_schema(as_schema(schema))
    check_fields_exist(spec.name, compiled, spec.voting.fields, spec.escalation.unsure)
    return dataclasses.replace(spec, schema=compiled)


def _sample_small_model(
    role_obj: Playable, spec: RoleSpec, model: Model, values: Mapping[str, Any], first_seed: int
) -> _Attempt:
    attempt = _Attempt()
    prompt, schema = role_obj.prompt_for(model, spec, values)
    spec = dataclasses.replace(spec, schema=schema) if schema is not spec.schema else spec
    policy = spec.escalation
    try:
        if spec.voting.k == 1:
            _single_answer(spec, model, prompt, first_seed, attempt)
        else:
            _vote(spec, model, prompt, first_seed, attempt)
    except (GenerationError, ModelUnavailableError) as error:
        if not policy.on_model_error:
            raise
        attempt.reason, attempt.detail = "model_error", str(error)
        attempt.unreachable = is_unreachable(error)
    return attempt


def _single_answer(spec: RoleSpec, model: Model, prompt: Any, seed: int, attempt: _Attempt) -> None:
    try:
        generation = model.generate(
            prompt,
            schema=spec.schema,
            max_tokens=spec.max_tokens,
            temperature=spec.temperature,
            seed=seed,
            attempts=spec.attempts,
            role=spec.name,
        )
    except StructuredOutputError as error:
        attempt.spend_failure(error)
        attempt.samples += error.attempts
        attempt.red_flags += error.red_flags
        attempt.reason, attempt.detail = "schema_failure", str(error)
        return
    attempt.spend(generation)
    attempt.samples += generation.attempts
    attempt.red_flags += generation.red_flags
    attempt.value, attempt.decided = generation.value, True
    attempt.votes = {canonical_key(generation.value): 1}


def _vote(spec: RoleSpec, model: Model, prompt: Any, first_seed: int, attempt: _Attempt) -> None:
    voting = spec.voting

    def sample(index: int) -> Any:
        try:
            generation = model.generate(
                prompt,
                schema=spec.schema,
                max_tokens=spec.max_tokens,
                temperature=voting.temperature,
                seed=first_seed + index,
                attempts=1,
                role=spec.name,
            )
        except StructuredOutputError as error:
            attempt.spend_failure(error)
            raise RedFlag(error.red_flags[-1] if error.red_flags else "invalid") from None
        attempt.spend(generation)
        return generation.value

    key = fields_key(*voting.fields) if voting.fields else canonical_key
    result = first_to_ahead_by_k(sample, voting.k, key=key, max_samples=voting.budget)
    attempt.samples = result.samples_drawn
    attempt.red_flags = list(result.red_flags)
    attempt.votes = {str(k): v for k, v in result.votes.items()}
    attempt.value, attempt.decided, attempt.margin = result.winner, result.decided, result.margin
    policy = spec.escalation
    if not result.votes:
        attempt.reason = "schema_failure"
        attempt.detail = f"all {result.samples_drawn} samples red-flagged"
    elif not result.decided and policy.on_undecided:
        attempt.reason = "undecided"
        attempt.detail = f"no answer led by {voting.k} within {result.samples_drawn} samples"
    elif policy.min_margin is not None and result.margin < policy.min_margin:
        attempt.reason = "low_margin"
        attempt.detail = f"margin {result.margin} below {policy.min_margin}"


def _is_unsure(value: Any, policy: EscalationPolicy) -> bool:
    unsure = policy.unsure
    if callable(unsure):
        return bool(unsure(value))
    if unsure is None or value is None:
        return False
    flag = value.get(unsure) if isinstance(value, Mapping) else getattr(value, unsure, None)
    if isinstance(flag, str):
        return flag.strip().lower() in {"unsure", "give_up", "giveup", "yes", "true"}
    return bool(flag)


def _escalate(
    role_obj: Playable,
    spec: RoleSpec,
    run: Run,
    values: Mapping[str, Any],
    first_seed: int,
    attempt: _Attempt,
    small: str,
) -> tuple[str, str]:
    fallback = spec.escalation.fallback
    if attempt.reason == "schema_failure" and not spec.escalation.on_schema_failure:
        attempt.detail += "; on_schema_failure is off, so it was not escalated"
        return "unresolved", small
    if fallback is None:
        attempt.detail += "; no fallback model is set"
        return "unresolved", small
    if not run.reserve_escalation():
        attempt.detail += "; the run's escalation budget is spent"
        return "unresolved", small
    try:
        model = run.models().load(fallback)
        prompt, schema = role_obj.prompt_for(model, spec, values)
        generation = model.generate(
            prompt,
            schema=schema,
            max_tokens=spec.max_tokens,
            temperature=spec.temperature,
            seed=first_seed,
            attempts=spec.attempts,
            role=spec.name,
        )
    except StructuredOutputError as error:
        attempt.spend_failure(error)
        attempt.detail += f"; the fallback failed too: {error.message}"
        attempt.unreachable = False
        return "unresolved", fallback
    except SmallAgentsError as error:
        attempt.detail += f"; the fallback failed: {error.message}"
        attempt.unreachable = is_unreachable(error)
        return "unresolved", fallback
    attempt.spend(generation)
    attempt.value = generation.value
    return "escalated", generation.model
