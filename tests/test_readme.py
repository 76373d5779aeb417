"""The README's Python examples: each parses, names only what the package has, and the
ones that need no model or server run as shown."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import smallagents

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)


def test_the_readme_has_its_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_python_example_parses_and_names_real_api(index: int) -> None:
    tree = ast.parse(BLOCKS[index])
    missing = []
    for node in ast.walk(tree):
        # smallagents.X (.Y): each step must exist, as a user typing it would find it
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id == "smallagents" and chain:
            obj: object = smallagents
            for name in reversed(chain):
                if not hasattr(obj, name):
                    missing.append(f"smallagents.{'.'.join(reversed(chain))}")
                    break
                obj = getattr(obj, name)
    assert missing == []


def test_the_tools_example_runs() -> None:
    (block,) = [b for b in BLOCKS if "def get_weather" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # our own README
    result = namespace["get_weather"].run({"city": "Oslo"})  # type: ignore[attr-defined]
    assert result.status == "ok" and '"city":"Oslo"' in result.observation.replace(" ", "")
    schema = namespace["schema"]
    names = {branch["properties"]["name"]["const"] for branch in _branches(schema)}
    assert names == {"get_weather", "web_search"}


def _branches(schema: object) -> list[dict]:
    text = repr(schema)
    assert "get_weather" in text
    compiled = getattr(schema, "schema", schema)
    items = compiled["properties"]["calls"]["items"]
    return [
        compiled["$defs"][ref["$ref"].rsplit("/", 1)[1]] if "$ref" in ref else ref
        for ref in items.get("anyOf", [items])
    ]
