"""The error tree: drawn once in smallagents.errors' docstring, exported whole, one line each."""

from __future__ import annotations

import inspect
import re

import pytest

import smallagents
from smallagents import errors


def error_classes() -> dict[str, type[BaseException]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.SmallAgentsError)
    }


def drawn_tree() -> dict[str, str | None]:
    """Each class named in the docstring's tree, with the parent its indentation shows."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^(\s*(?:[│├└─ ]*\s)?)([A-Z]\w+Error)\b", line)
        if match is None:
            continue
        depth = len(match.group(1))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group(2)] = stack[-1][1] if stack else None
        stack.append((depth, match.group(2)))
    return parents


def test_every_error_is_exported_from_smallagents_errors() -> None:
    assert set(error_classes()) <= set(errors.__all__)
    assert [n for n in errors.__all__ if not hasattr(errors, n)] == []


def test_the_drawn_tree_is_the_class_tree() -> None:
    drawn = drawn_tree()
    assert set(drawn) == set(error_classes())
    for name, parent in drawn.items():
        base = error_classes()[name].__bases__[0].__name__
        assert (parent or "Exception") == base, f"{name}: drawn under {parent}, subclasses {base}"


def test_the_root_exports_the_base_and_the_package_keeps_the_tree() -> None:
    assert smallagents.SmallAgentsError is errors.SmallAgentsError
    assert "errors" in dir(smallagents)


@pytest.mark.parametrize(
    "error",
    [
        errors.UsageError("the value is wrong.\nsecond line", fix="pass another"),
        errors.RoleInputError("caller", "is missing 'query'", fix="pass query=..."),
        errors.ToolArgumentError("get_weather", "city must be a string", fix="pass a string"),
    ],
)
def test_messages_are_one_line_and_name_the_fix(error: errors.SmallAgentsError) -> None:
    message = str(error)
    assert "\n" not in message
    assert "Fix:" in message or "fix" in message.lower()
