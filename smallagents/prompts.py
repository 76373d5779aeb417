"""Role prompt templates: one template language, few-shot rendering for chat and base models."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from smallagents.models.base import Message, Prompt


class TemplateError(ValueError):
    """A template that uses more than plain ``{name}`` fields."""


def template_fields(template: str) -> list[str]:
    """Names of the fields in ``template``, in order of first use.

    The template language is Python's ``str.format`` with plain names only:
    ``"Review this answer: {response}"``. ``{{`` and ``}}`` write literal braces.
    Attribute and index lookups (``{a.b}``, ``{a[0]}``) and format specs are refused
    when the role is defined, so a template can never reach into an object.

    Raises:
        TemplateError: a field is positional, dotted, indexed or has a format spec.
    """
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise TemplateError(
            f"unbalanced braces ({error}); write {{{{ and }}}} for braces"
        ) from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            shown = (
                "{"
                + field
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise TemplateError(
                f"field {shown} is not a plain name; use {{name}} with a parameter name"
            )
        if field not in names:
            names.append(field)
    return names


def format_value(value: Any) -> str:
    """How one input value appears in a prompt: a string as it is, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def fill(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``template`` with ``values`` (see `format_value`)."""
    return template.format_map({name: format_value(value) for name, value in values.items()})


def answer_json(value: Any) -> str:
    """The compact JSON a model is shown as an example answer."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Example:
    """A few-shot example: the role's inputs and the answer it should give."""

    inputs: Mapping[str, Any]
    output: Any


def build_prompt(
    template: str,
    values: Mapping[str, Any],
    *,
    examples: Sequence[Example] = (),
    system: str | None = None,
    chat: bool,
) -> Prompt:
    """The prompt for one request, shaped for a chat model or a base model.

    A chat model gets messages: an optional system message, one user/assistant pair per
    few-shot example, then the request. A base model gets plain text: the system text,
    then each example as the filled template followed by its JSON answer, then the
    filled template of the request, blank lines between; the model continues it.
    """
    if chat:
        messages: list[Message] = []
        if system:
            messages.append({"role": "system", "content": system})
        for example in examples:
            messages.append({"role": "user", "content": fill(template, example.inputs)})
            messages.append({"role": "assistant", "content": answer_json(example.output)})
        messages.append({"role": "user", "content": fill(template, values)})
        return messages
    blocks = [system] if system else []
    blocks += [f"{fill(template, e.inputs)} {answer_json(e.output)}" for e in examples]
    blocks.append(fill(template, values))
    return "\n\n".join(blocks)
