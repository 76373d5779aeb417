"""The two doors to one role spec: the ``@role`` decorator and the `Role` class."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

from smallagents.errors import RoleDefinitionError, RoleUnresolvedError
from smallagents.models.base import Model, Prompt
from smallagents.prompts import build_prompt
from smallagents.role._execute import execute
from smallagents.role._policies import EscalationPolicy, Unsure, VotingPolicy
from smallagents.role._spec import SETTINGS, ExampleLike, RoleDefinition, RoleSpec, make_spec
from smallagents.run import RoleRecord, Run
from smallagents.structured.schema import CompiledSchema

# Settings renamed so that the decorator, the class and the spec say the same thing; an old
# class attribute would otherwise be ignored without a word.
RENAMED = {"prompt": "template", "output": "schema", "votes": "voting"}


def _refuse_old_names(name: str, attributes: Mapping[str, Any]) -> None:
    old = [key for key in RENAMED if key in attributes]
    if old:
        raise RoleDefinitionError(
            name,
            f"class attribute(s) {', '.join(old)} were renamed",
            fix="write " + ", ".join(f"{RENAMED[key]} = ..." for key in old),
        )


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(camel))


class Role:
    """A role. Subclass it for stateful roles, or use ``@role`` on a function.

    Subclass attributes (all optional but ``template`` and ``schema``; the settings
    and defaults of `RoleDefinition`)::

        class Reviewer(Role):
            template = "Rate this answer from 1 to 10: {answer}"
            schema = Review                  # pydantic model, schema dict or name
            inputs = {"answer": str}         # default: every template field, as str
            model = "default"
            voting = 3                       # or a VotingPolicy
            fallback = "openai:http://127.0.0.1:8000/v1#big"

    ``values(inputs)`` may return extra template values from the instance's state;
    name them in ``state_fields`` so the template can be checked at definition.
    """

    spec: RoleSpec

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name") or _snake(cls.__name__)
        _refuse_old_names(name, cls.__dict__)
        if cls.__dict__.get("template") is None and cls.__dict__.get("schema") is None:
            return  # an intermediate base class: nothing to check yet
        inputs = getattr(cls, "inputs", None)
        cls.spec = make_spec(
            RoleDefinition(
                name=name,
                template=getattr(cls, "template", None)
                or (inspect.cleandoc(cls.__doc__) if cls.__doc__ else None),
                schema=getattr(cls, "schema", None),
                inputs=dict(inputs) if inputs is not None else None,
                state_fields=tuple(getattr(cls, "state_fields", ())),
                **{key: getattr(cls, key) for key in SETTINGS if hasattr(cls, key)},
            )
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

        The default is the role's own schema (``spec.schema``). An override gets the
        call's template values (after `values`) and returns anything ``schema``
        accepts (a pydantic model, a JSON Schema dict, a bundled schema name) or a
        compiled schema; it is compiled through `compile_schema`'s cache, so a
        schema seen before costs nothing. It must keep the fields that ``vote_on`` and
        ``unsure`` name. Few-shot examples are still checked against the role's own
        schema, when the role is defined. A Caller uses it to constrain its answer to
        the tools of each request.
        """
        return self.spec.schema

    def prompt_for(
        self, model: Model, spec: RoleSpec, values: Mapping[str, Any]
    ) -> tuple[Prompt, CompiledSchema]:
        """The prompt and output schema of one call to ``model``; override to speak its format.

        The default fills the role's template (chat messages for a chat model, plain
        text for a base model) and keeps ``spec.schema``. A Caller overrides it to
        hand a model with a tool-aware chat template its tools the way it was trained
        to read them; the schema it returns must parse answers into the role's value.
        """
        prompt = build_prompt(
            spec.template, values, examples=spec.examples, system=spec.system, chat=model.chat
        )
        return prompt, spec.schema

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
        return execute(self, inputs, run or Run(), seed)

    def __repr__(self) -> str:
        return f"<role {self.name!r} -> {self.spec.schema.name} on {self.spec.model}>"


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
    template: str | None = None,
    schema: Any = None,
    model: str = "default",
    system: str | None = None,
    max_tokens: int = 256,
    temperature: float = 0.0,
    attempts: int = 3,
    examples: Sequence[ExampleLike] = (),
    voting: int | VotingPolicy = 1,
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
    template: str | None = None,
    schema: Any = None,
    **settings: Any,
) -> FunctionRole | Callable[[Callable[..., Any]], FunctionRole]:
    """Define a role from a function: parameters are inputs, the docstring the template.

    Works bare (``@role``) and with arguments (``@role(model="gemma-270m", voting=3)``).
    The settings and their defaults are those of `RoleDefinition`.

    Args:
        function: the function, when the decorator is used bare.
        name: the role's name (default: the function's).
        template: the prompt template (default: the docstring); see `smallagents.prompts`.
        schema: the output schema, overriding the return annotation: a pydantic
            model, a JSON Schema dict, or the name of a file in ``schemas/``.
        **settings: ``model`` (the model spec that plays the role), ``system`` (a
            system message for chat models, a first paragraph for base models),
            ``max_tokens``, ``temperature``, ``attempts`` (decoding settings of one
            answer), ``examples`` (few-shot ``(inputs, output)`` pairs or `Example`),
            ``voting`` (k of first-to-ahead-by-k voting, or a full `VotingPolicy`),
            ``vote_on`` (output fields to vote on; default: the whole answer),
            ``fallback`` (a model spec to escalate to, shorthand for ``escalation``),
            ``escalation`` (an `EscalationPolicy`), ``unsure`` (an output field or
            predicate saying the role is unsure or gives up).

    Raises:
        TypeError: a keyword argument that is no setting.
        RoleDefinitionError: the definition does not hold together.
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        renamed = f" (renamed {RENAMED[unknown[0]]}=)" if unknown[0] in RENAMED else ""
        raise TypeError(f"role() got an unexpected keyword argument {unknown[0]!r}{renamed}")

    def decorate(fn: Callable[..., Any]) -> FunctionRole:
        role_name = name or fn.__name__
        inputs, output = _signature(role_name, fn, schema)
        definition = RoleDefinition(
            name=role_name,
            template=template if template is not None else inspect.getdoc(fn),
            schema=output,
            inputs=inputs,
            **settings,
        )
        return FunctionRole(make_spec(definition), fn)

    return decorate(function) if function is not None else decorate


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
