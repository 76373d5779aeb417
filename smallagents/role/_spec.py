"""A role's definition (each setting once, with its default), its checks, and its spec."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic

from smallagents.errors import RoleDefinitionError, SchemaError
from smallagents.prompts import Example, TemplateError, template_fields
from smallagents.role._policies import EscalationPolicy, Unsure, VotingPolicy
from smallagents.structured.schema import CompiledSchema, RedFlag, compile_schema

ExampleLike = Example | tuple[Mapping[str, Any], Any]
"""A few-shot example: an `Example`, or an ``(inputs, output)`` pair."""


@dataclass(frozen=True)
class RoleDefinition:
    """A role as written through either door, before its checks.

    The one list of a role's settings and their defaults: ``@role`` takes the
    settings from ``SETTINGS`` as keyword arguments, a `Role` subclass as class
    attributes, and `make_spec` checks them all into a `RoleSpec`.

    Attributes:
        name: the role's name.
        template: the prompt template (see `smallagents.prompts`).
        schema: the output schema: a pydantic model, a JSON Schema dict, the name
            of a file in ``schemas/``, or a type pydantic can describe.
        inputs: the inputs by name and type (default: every template field, as str).
        state_fields: template fields that ``Role.values`` fills from the role's state.
        model: the model spec that plays the role.
        system: a system message for chat models (a first paragraph for base models).
        max_tokens: the most tokens of one answer.
        temperature: the sampling temperature of one answer.
        attempts: tries of one answer before it is a schema failure.
        examples: few-shot examples.
        voting: k of first-to-ahead-by-k voting, or a full `VotingPolicy`.
        vote_on: output fields to vote on (default: the whole answer).
        fallback: a model spec to escalate to (shorthand for ``escalation``).
        escalation: when to escalate.
        unsure: an output field or predicate saying the role is unsure / gives up.
    """

    name: str
    template: str | None = None
    schema: Any = None
    inputs: Mapping[str, Any] | None = None
    state_fields: tuple[str, ...] = ()
    model: str = "default"
    system: str | None = None
    max_tokens: int = 256
    temperature: float = 0.0
    attempts: int = 3
    examples: Sequence[ExampleLike] = ()
    voting: int | VotingPolicy = 1
    vote_on: Sequence[str] = ()
    fallback: str | None = None
    escalation: EscalationPolicy | None = None
    unsure: Unsure | None = None


# The settings both doors take as they are; the others each door finds its own way
# (a function's name, docstring and signature; a class's name, docstring and attributes).
SETTINGS: tuple[str, ...] = tuple(
    f.name
    for f in dataclasses.fields(RoleDefinition)
    if f.name not in ("name", "template", "schema", "inputs", "state_fields")
)


@dataclass(frozen=True)
class RoleSpec:
    """The validated definition of a role."""

    name: str
    template: str
    inputs: Mapping[str, Any]
    schema: CompiledSchema
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


def make_spec(definition: RoleDefinition) -> RoleSpec:
    """Check every part of a role definition and build its `RoleSpec`.

    Raises:
        RoleDefinitionError: the template, schema, voting, escalation or examples
            are wrong; the message names the role and the fix.
    """
    d = definition
    name, template, state_fields = d.name, d.template, d.state_fields
    if not template or not template.strip():
        raise RoleDefinitionError(
            name, "no prompt template", fix="write the template as the docstring or pass template="
        )
    try:
        fields = template_fields(template)
    except TemplateError as error:
        raise RoleDefinitionError(name, f"bad template: {error}", fix="fix the template") from None
    inputs = d.inputs
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
    if d.schema is None:
        raise RoleDefinitionError(
            name,
            "no output schema",
            fix="annotate the return type with a pydantic model, or pass schema='NAME'",
        )
    try:
        compiled = compile_schema(as_schema(d.schema))
    except SchemaError as error:
        raise RoleDefinitionError(
            name, f"output schema: {error.message}", fix=error.fix or ""
        ) from None
    voting = d.voting if isinstance(d.voting, VotingPolicy) else VotingPolicy(k=d.voting)
    if d.vote_on:
        voting = VotingPolicy(voting.k, voting.max_samples, tuple(d.vote_on), voting.temperature)
    if voting.k < 1 or voting.budget < voting.k:
        raise RoleDefinitionError(
            name,
            f"votes k={voting.k} with max_samples={voting.budget}",
            fix="use k >= 1 and max_samples >= k",
        )
    policy = d.escalation or EscalationPolicy()
    if d.fallback is not None or d.unsure is not None:
        policy = dataclasses.replace(
            policy,
            fallback=d.fallback if d.fallback is not None else policy.fallback,
            unsure=d.unsure if d.unsure is not None else policy.unsure,
        )
    if policy.min_confidence is not None and not 0.0 <= policy.min_confidence <= 1.0:
        raise RoleDefinitionError(
            name,
            f"min_confidence={policy.min_confidence} is not a probability",
            fix="use a threshold between 0 and 1",
        )
    check_fields_exist(name, compiled, voting.fields, policy.unsure)
    checked_examples = tuple(
        _check_example(name, e, inputs, state_fields, fields, compiled) for e in d.examples
    )
    return RoleSpec(
        name=name,
        template=template,
        inputs=dict(inputs),
        schema=compiled,
        model=d.model,
        system=d.system,
        max_tokens=d.max_tokens,
        temperature=d.temperature,
        attempts=d.attempts,
        examples=checked_examples,
        voting=voting,
        escalation=policy,
        state_fields=state_fields,
        # What the model is told it does (its system message's first sentence), else the
        # template's first line.
        description=(
            (d.system or "").split(". ")[0].strip().rstrip(".") or template.strip()
        ).splitlines()[0][:120],
    )


def as_schema(schema: Any) -> Any:
    """What `compile_schema` takes: a pydantic model or schema as is, another type's JSON Schema."""
    if isinstance(schema, type) and issubclass(schema, pydantic.BaseModel):
        return schema
    if isinstance(schema, str | Mapping):
        return schema
    return pydantic.TypeAdapter(schema).json_schema()


def check_fields_exist(
    name: str, schema: CompiledSchema, vote_fields: Sequence[str], unsure: Unsure | None
) -> None:
    """Refuse vote fields and an ``unsure`` field that the output schema lacks.

    Raises:
        RoleDefinitionError: a named field is not a property of the schema.
    """
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
    example: ExampleLike,
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
