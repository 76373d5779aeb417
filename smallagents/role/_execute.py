"""Roles: a typed contract (inputs, output schema) that small models fill, vote on, and escalate.

Two doors, one spec. ``@role`` turns a plain function into a role: its parameters
are the inputs, its docstring (or ``prompt=``) the template, its return annotation
the output schema; its body never runs. Subclassing :class:`Role` is the door for
stateful roles: class attributes give the same settings, and ``values()`` may add
template values from the instance's state. Both are checked when they are
defined; a mistake raises :class:`RoleDefinitionError` naming the role and the fix.

Calling a role returns the validated answer; :meth:`Role.invoke` returns the whole
:class:`~smallagents.run.RoleRecord` (generations, votes, tokens, escalation).
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, overload

import pydantic

from smallagents.errors import (
    GenerationError,
    ModelUnavailableError,
    RoleDefinitionError,
    RoleInputError,
    RoleUnresolvedError,
    SchemaError,
    SmallAgentsError,
    StructuredOutputError,
    is_unreachable,
    key_mismatch,
)
from smallagents.models.base import Generation, Model, Prompt
from smallagents.prompts import Example, TemplateError, build_prompt, template_fields
from smallagents.run import EscalationReason, RoleRecord, Run
from smallagents.structured.schema import CompiledSchema, RedFlag, compile_schema
from smallagents.voting import canonical_key, fields_key, first_to_ahead_by_k

Unsure = str | Callable[[Any], bool]


@dataclass(frozen=True)
class VotingPolicy:
    """How many samples a role draws and how they vote.

    Attributes:
        k: first-to-ahead-by-k: the answer must lead every other by k votes
            (1 = accept the first valid sample; no voting).
        max_samples: draws allowed before the vote counts as undecided
            (default ``4 * k``).
        fields: vote on these output fields only (default: the whole answer).
        temperature: sampling temperature of the votes; greedy votes would all agree.
    """

    k: int = 1
    max_samples: int | None = None
    fields: tuple[str, ...] = ()
    temperature: float = 0.7

    @property
    def budget(self) -> int:
        """Draws allowed."""
        return self.max_samples if self.max_samples is not None else 4 * self.k


@dataclass(frozen=True)
class EscalationPolicy:
    """When a request leaves the small models for ``fallback``.

    Attributes:
        fallback: a model spec, usually ``openai:BASE_URL#MODEL`` for a larger LLM.
        on_schema_failure: escalate when every sample was red-flagged.
        on_undecided: escalate when the vote is undecided within its samples.
        min_margin: escalate when the winner leads by fewer votes than this.
        min_confidence: escalate when the answer's token confidence (the lowest
            per-field confidence of ``confidence_fields``, see
            :attr:`~smallagents.models.base.Generation.confidence`) is below this.
            ``smallagents eval --large`` measures the threshold that reaches a
            target accuracy with the fewest escalations.
        confidence_fields: the answer fields whose confidence counts, as dotted
            paths or their prefixes (``"calls"`` covers ``"calls.0.name"``);
            empty: every field.
        unsure: an output field (truthy = unsure, or one of ``unsure``/``give_up``)
            or a predicate on the answer that says the role is unsure or gives up.
        on_model_error: escalate when the small model cannot run the request
            (context overflow, endpoint down).
    """

    fallback: str | None = None
    on_schema_failure: bool = True
    on_undecided: bool = True
    min_margin: int | None = None
    unsure: Unsure | None = None
    on_model_error: bool = True
    min_confidence: float | None = None
    confidence_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleSpec:
    """The validated definition of a role."""

    name: str
    template: str
    inputs: Mapping[str, Any]
    output: CompiledSchema
    model: str = "default"
    system: str | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    attempts: int = 3
    examples: tuple[Example, ...] = ()
    voting: VotingPolicy = field(default_factory=VotingPolicy)
    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    state_fields: tuple[str, ...] = ()
    description: str = ""


class Role:
    """A role. Subclass it for stateful roles, or use ``@role`` on a function.

    Subclass attributes (all optional but ``prompt`` and ``output``)::

        class Reviewer(Role):
            prompt = "Rate this answer from 1 to 10: {answer}"
            output = Review                  # pydantic model, schema dict or name
            inputs = {"answer": str}         # default: every template field, as str
            model = "default"
            votes = 3                        # or a VotingPolicy
            fallback = "openai:http://127.0.0.1:8000/v1#big"

    ``values(inputs)`` may return extra template values from the instance's state;
    name them in ``state_fields`` so the template can be checked at definition.
    """

    spec: RoleSpec
    prompt: ClassVar[str | None] = None
    output: ClassVar[Any] = None
    inputs: ClassVar[Mapping[str, Any] | None] = None
    state_fields: ClassVar[tuple[str, ...]] = ()
    model: ClassVar[str] = "default"
    system: ClassVar[str | None] = None
    max_tokens: ClassVar[int] = 256
    temperature: ClassVar[float] = 0.0
    attempts: ClassVar[int] = 3
    examples: ClassVar[Sequence[Example | tuple[Mapping[str, Any], Any]]] = ()
    votes: ClassVar[int | VotingPolicy] = 1
    vote_on: ClassVar[Sequence[str]] = ()
    fallback: ClassVar[str | None] = None
    escalation: ClassVar[EscalationPolicy | None] = None
    unsure: ClassVar[Unsure | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("prompt") is None and cls.__dict__.get("output") is None:
            return  # an intermediate base class: nothing to check yet
        name = cls.__dict__.get("name") or _snake(cls.__name__)
        template = cls.prompt or (inspect.cleandoc(cls.__doc__) if cls.__doc__ else None)
        inputs = dict(cls.inputs) if cls.inputs is not None else None
        cls.spec = make_spec(
            name=name,
            template=template,
            inputs=inputs,
            output=cls.output,
            model=cls.model,
            system=cls.system,
            max_tokens=cls.max_tokens,
            temperature=cls.temperature,
            attempts=cls.attempts,
            examples=cls.examples,
            votes=cls.votes,
            vote_on=cls.vote_on,
            fallback=cls.fallback,
            escalation=cls.escalation,
            unsure=cls.unsure,
            state_fields=tuple(cls.state_fields),
        )

    @property
    def name(self) -> str:
        """The role's name."""
        return self.spec.name

    def values(self, inputs: Mapping[str, Any]) -> Mapping[str, Any]:
        """Template values for one call; override to add values from the role's state."""
        return inputs

    def output_schema_for(self, values: Mapping[str, Any]) -> Any:
        """The output schema of one call; override when it depends on the inputs.

        The default is the role's own schema (``spec.output``). An override gets the
        call's template values (after :meth:`values`) and returns anything ``output``
        accepts (a pydantic model, a JSON Schema dict, a bundled schema name) or a
        compiled schema; it is compiled through :func:`compile_schema`'s cache, so a
        schema seen before costs nothing. It must keep the fields that ``vote_on`` and
        ``unsure`` name. Few-shot examples are still checked against the role's own
        schema, when the role is defined. A Caller uses it to constrain its answer to
        the tools of each request.
        """
        return self.spec.output

    def prompt_for(
        self, model: Model, spec: RoleSpec, values: Mapping[str, Any]
    ) -> tuple[Prompt, CompiledSchema]:
        """The prompt and output schema of one call to ``model``; override to speak its format.

        The default fills the role's template (chat messages for a chat model, plain
        text for a base model) and keeps ``spec.output``. A Caller overrides it to
        hand a model with a tool-aware chat template its tools the way it was trained
        to read them; the schema it returns must parse answers into the role's value.
        """
        prompt = build_prompt(
            spec.template, values, examples=spec.examples, system=spec.system, chat=model.chat
        )
        return prompt, spec.output

    def __call__(self, **inputs: Any) -> Any:
        """Run the role and return its validated answer.

        Raises:
            RoleUnresolvedError: neither the small models nor a fallback settled it.
        """
        record = self.invoke(inputs)
        if not record.resolved:
            raise RoleUnresolvedError(
                record,
                role=self.name,
                reason=record.escalation_reason or "unresolved",
                detail=record.detail,
            )
        return record.value

    def invoke(
        self, inputs: Mapping[str, Any], *, run: Run | None = None, seed: int | None = None
    ) -> RoleRecord:
        """Run the role and return the full record; an unresolved call is kept, not raised.

        Args:
            inputs: the role's inputs by name.
            run: the run that pays for it (models, escalation budget, ledger);
                default: a throwaway run on the calling thread's models.
            seed: the first sampling seed; default: derived from the role and its
                inputs, so the same call gives the same answer.
        """
        return _execute(self, inputs, run or Run(), seed)

    def __repr__(self) -> str:
        return f"<role {self.name!r} -> {self.spec.output.name} on {self.spec.model}>"


class FunctionRole(Role):
    """A role made by ``@role`` from a function."""

    def __init__(self, spec: RoleSpec, function: Callable[..., Any]) -> None:
        self.spec = spec
        self.function = function
        self.__doc__ = function.__doc__
        self.__name__ = spec.name


@overload
def role(function: Callable[..., Any], /) -> FunctionRole: ...


@overload
def role(
    *,
    name: str | None = None,
    prompt: str | None = None,
    schema: Any = None,
    model: str = "default",
    system: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.0,
    attempts: int = 3,
    examples: Sequence[Example | tuple[Mapping[str, Any], Any]] = (),
    votes: int | VotingPolicy = 1,
    vote_on: Sequence[str] = (),
    fallback: str | None = None,
    escalation: EscalationPolicy | None = None,
    unsure: Unsure | None = None,
) -> Callable[[Callable[..., Any]], FunctionRole]: ...


def role(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    prompt: str | None = None,
    schema: Any = None,
    model: str = "default",
    system: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.0,
    attempts: int = 3,
    examples: Sequence[Example | tuple[Mapping[str, Any], Any]] = (),
    votes: int | VotingPolicy = 1,
    vote_on: Sequence[str] = (),
    fallback: str | None = None,
    escalation: EscalationPolicy | None = None,
    unsure: Unsure | None = None,
) -> FunctionRole | Callable[[Callable[..., Any]], FunctionRole]:
    """Define a role from a function: parameters are inputs, the docstring the template.

    Works bare (``@role``) and with arguments (``@role(model="gemma-270m", votes=3)``).

    Args:
        name: the role's name (default: the function's).
        prompt: the template (default: the docstring); see :mod:`smallagents.prompts`.
        schema: the output schema, overriding the return annotation: a pydantic
            model, a JSON Schema dict, or the name of a file in ``schemas/``.
        model: the model spec that plays the role.
        system: a system message for chat models (a first paragraph for base models).
        max_tokens, temperature, attempts: decoding settings of one answer.
        examples: few-shot examples, ``(inputs, output)`` pairs or :class:`Example`.
        votes: k of first-to-ahead-by-k voting, or a full :class:`VotingPolicy`.
        vote_on: output fields to vote on (default: the whole answer).
        fallback: a model spec to escalate to (shorthand for ``escalation=``).
        escalation: when to escalate (see :class:`EscalationPolicy`).
        unsure: an output field or predicate saying the role is unsure / gives up.
    """

    def decorate(fn: Callable[..., Any]) -> FunctionRole:
        role_name = name or fn.__name__
        inputs, output = _signature(role_name, fn, schema)
        template = prompt if prompt is not None else inspect.getdoc(fn)
        spec = make_spec(
            name=role_name,
            template=template,
            inputs=inputs,
            output=output,
            model=model,
            system=system,
            max_tokens=max_tokens,
            temperature=temperature,
            attempts=attempts,
            examples=examples,
            votes=votes,
            vote_on=vote_on,
            fallback=fallback,
            escalation=escalation,
            unsure=unsure,
        )
        return FunctionRole(spec, fn)

    return decorate(function) if function is not None else decorate


def make_spec(
    *,
    name: str,
    template: str | None,
    inputs: Mapping[str, Any] | None,
    output: Any,
    model: str,
    system: str | None,
    max_tokens: int,
    temperature: float,
    attempts: int,
    examples: Sequence[Example | tuple[Mapping[str, Any], Any]],
    votes: int | VotingPolicy,
    vote_on: Sequence[str],
    fallback: str | None,
    escalation: EscalationPolicy | None,
    unsure: Unsure | None,
    state_fields: tuple[str, ...] = (),
) -> RoleSpec:
    """Check every part of a role definition and build its :class:`RoleSpec`."""
    if not template or not template.strip():
        raise RoleDefinitionError(
            name, "no prompt template", fix="write the template as the docstring or pass prompt="
        )
    try:
        fields = template_fields(template)
    except TemplateError as error:
        raise RoleDefinitionError(name, f"bad template: {error}", fix="fix the template") from None
    if inputs is None:
        inputs = {field_name: str for field_name in fields if field_name not in state_fields}
    unknown = [f for f in fields if f not in inputs and f not in state_fields]
    if unknown:
        raise RoleDefinitionError(
            name,
            f"template field(s) {', '.join('{' + f + '}' for f in unknown)} match no parameter "
            f"(parameters: {', '.join(inputs) or 'none'})",
            fix="rename the field or add a parameter of that name",
        )
    if output is None:
        raise RoleDefinitionError(
            name,
            "no output schema",
            fix="annotate the return type with a pydantic model, or pass schema='NAME'",
        )
    try:
        compiled = compile_schema(_as_schema(output))
    except SchemaError as error:
        raise RoleDefinitionError(
            name, f"output schema: {error.message}", fix=error.fix or ""
        ) from None
    voting = votes if isinstance(votes, VotingPolicy) else VotingPolicy(k=votes)
    if vote_on:
        voting = VotingPolicy(voting.k, voting.max_samples, tuple(vote_on), voting.temperature)
    if voting.k < 1 or voting.budget < voting.k:
        raise RoleDefinitionError(
            name,
            f"votes k={voting.k} with max_samples={voting.budget}",
            fix="use k >= 1 and max_samples >= k",
        )
    policy = escalation or EscalationPolicy()
    if fallback is not None or unsure is not None:
        policy = dataclasses.replace(
            policy,
            fallback=fallback if fallback is not None else policy.fallback,
            unsure=unsure if unsure is not None else policy.unsure,
        )
    if policy.min_confidence is not None and not 0.0 <= policy.min_confidence <= 1.0:
        raise RoleDefinitionError(
            name,
            f"min_confidence={policy.min_confidence} is not a probability",
            fix="use a threshold between 0 and 1",
        )
    _check_fields_exist(name, compiled, voting.fields, policy.unsure)
    checked_examples = tuple(
        _check_example(name, e, inputs, state_fields, fields, compiled) for e in examples
    )
    return RoleSpec(
        name=name,
        template=template,
        inputs=dict(inputs),
        output=compiled,
        model=model,
        system=system,
        max_tokens=max_tokens,
        temperature=temperature,
        attempts=attempts,
        examples=checked_examples,
        voting=voting,
        escalation=policy,
        state_fields=state_fields,
        # What the model is told it does (its system message's first sentence), else the
        # template's first line.
        description=(
            (system or "").split(". ")[0].strip().rstrip(".") or template.strip()
        ).splitlines()[0][:120],
    )


def _as_schema(output: Any) -> Any:
    if isinstance(output, type) and issubclass(output, pydantic.BaseModel):
        return output
    if isinstance(output, str | Mapping):
        return output
    return pydantic.TypeAdapter(output).json_schema()


def _signature(name: str, fn: Callable[..., Any], schema: Any) -> tuple[dict[str, Any], Any]:
    try:
        hints = typing.get_type_hints(fn)
    except NameError as error:
        raise RoleDefinitionError(
            name, f"cannot resolve an annotation ({error})", fix="import the type at module level"
        ) from None
    inputs: dict[str, Any] = {}
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise RoleDefinitionError(
                name, f"*{parameter.name} parameters", fix="name every input as its own parameter"
            )
        inputs[parameter.name] = hints.get(parameter.name, str)
    output = schema if schema is not None else hints.get("return")
    if output is None:
        raise RoleDefinitionError(
            name,
            "no return annotation",
            fix="annotate the return type with a pydantic model (-> MyOutput) or pass "
            "schema='NAME'",
        )
    return inputs, output


def _check_fields_exist(
    name: str, schema: CompiledSchema, vote_fields: Sequence[str], unsure: Unsure | None
) -> None:
    properties = schema.json_schema.get("properties")
    if properties is None:
        properties = {}
        for definition in schema.json_schema.get("$defs", {}).values():
            properties.update(definition.get("properties", {}))
    wanted = list(vote_fields) + ([unsure] if isinstance(unsure, str) else [])
    missing = [f for f in wanted if f not in properties]
    if missing:
        raise RoleDefinitionError(
            name,
            f"field(s) {', '.join(missing)} are not in the output schema {schema.name}",
            fix=f"use output fields ({', '.join(properties) or 'none'})",
        )


def _check_example(
    name: str,
    example: Example | tuple[Mapping[str, Any], Any],
    inputs: Mapping[str, Any],
    state_fields: tuple[str, ...],
    fields: Sequence[str],
    schema: CompiledSchema,
) -> Example:
    checked = example if isinstance(example, Example) else Example(*example)
    unknown = [key for key in checked.inputs if key not in inputs and key not in state_fields]
    if unknown:
        raise RoleDefinitionError(
            name, f"example inputs {unknown} are not parameters", fix="match the parameter names"
        )
    missing = [f for f in fields if f not in checked.inputs]
    if missing:  # the example's prompt is the template filled with its inputs
        raise RoleDefinitionError(
            name,
            f"example inputs lack template field(s) {missing}",
            fix="give every example a value for each template field",
        )
    output = checked.output
    if isinstance(output, pydantic.BaseModel):
        output = output.model_dump(mode="json")
    try:
        schema.check(output)
    except RedFlag as flag:
        raise RoleDefinitionError(
            name,
            f"example output does not fit the schema ({flag.reason})",
            fix="correct the example",
        ) from None
    return checked


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(camel))


# --- running a role -------------------------------------------------------------------


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
    """A seed derived from the role, its inputs and the run's seed: same call, same answer."""
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


def _execute(role_obj: Role, inputs: Mapping[str, Any], run: Run, seed: int | None) -> RoleRecord:
    spec = configured_spec(role_obj.spec, run)
    checked = _checked_inputs(spec, inputs)
    values = role_obj.values(checked)
    spec = _output_for_call(role_obj, spec, values)
    first_seed = seed if seed is not None else default_seed(spec.name, values, run.seed)
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


def _output_for_call(role_obj: Role, spec: RoleSpec, values: Mapping[str, Any]) -> RoleSpec:
    """The spec with this call's output schema, when the role chooses one per call."""
    schema = role_obj.output_schema_for(values)
    if schema is spec.output:
        return spec
    compiled = schema if isinstance(schema, CompiledSchema) else compile_schema(_as_schema(schema))
    _check_fields_exist(spec.name, compiled, spec.voting.fields, spec.escalation.unsure)
    return dataclasses.replace(spec, output=compiled)


def _sample_small_model(
    role_obj: Role, spec: RoleSpec, model: Model, values: Mapping[str, Any], first_seed: int
) -> _Attempt:
    attempt = _Attempt()
    prompt, output = role_obj.prompt_for(model, spec, values)
    spec = dataclasses.replace(spec, output=output) if output is not spec.output else spec
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
            schema=spec.output,
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
                schema=spec.output,
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
    role_obj: Role,
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
        prompt, output = role_obj.prompt_for(model, spec, values)
        generation = model.generate(
            prompt,
            schema=output,
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
