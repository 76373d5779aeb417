"""The roles gra plays, loaded by path from the bundled ``roles/`` on first use, not at import."""

import copy
import dataclasses
import functools
from pathlib import Path

import smallagents

_ROLES_DIR = Path(__file__).resolve().parent.parent.parent / "roles"


@functools.cache
def roles() -> dict[str, smallagents.Role]:
    """The roles of ``roles/gra.py`` by name (Generator, Reviewer, Adjudicator, Refiner)."""
    return smallagents.load_roles(_ROLES_DIR / "gra.py")


@functools.cache
def judges() -> dict[str, smallagents.Role]:
    """The roles of ``roles/judges.py`` by name (the solving review's solver and checker)."""
    return smallagents.load_roles(_ROLES_DIR / "judges.py")


def response_limit() -> int | None:
    """The longest response the Generator's schema lets it write (a draft there was cut off)."""
    schema = roles()["gra_generator"].spec.schema.json_schema
    limit: int | None = schema["properties"]["response"].get("maxLength")
    return limit


def variant(role: smallagents.Role, name: str, model: str | None = None) -> smallagents.Role:
    """``role`` under another name (and, given ``model``, on another model)."""
    twin = copy.copy(role)
    twin.spec = dataclasses.replace(role.spec, name=name, model=model or role.spec.model)
    return twin


def generator(*, steered: bool) -> smallagents.Role:
    """The Generator: ``gra_generator``, or with ``steered`` (pairs to avoid) its twin
    that is shown earlier instructions, played under the name ``gra_generator`` so that
    ``--model gra_generator=SPEC`` and the records treat both as one role."""
    if not steered:
        return roles()["gra_generator"]
    return variant(roles()["gra_generator_steered"], "gra_generator")
