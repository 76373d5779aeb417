"""The tool agent on the embedded default model: plan, call a validated tool, answer.

Run: ``python examples/tool_agent.py ["How many meters are 3 miles?"]``. The graph
is the bundled ``graphs/tool_agent.py`` with its two Python tools (``calculate``,
``convert_length``); the Caller can only emit calls to those tools with arguments
their schemas accept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import smallagents

GRAPHS = Path(__file__).resolve().parent.parent / "graphs" / "tool_agent.py"


def main(query: str = "What is 12 times 7?") -> dict[str, Any]:
    graph = smallagents.load_graphs(GRAPHS)["tool_agent"]
    app = graph.compile()
    run = smallagents.Run()
    output = app.invoke({"query": query}, run=run)
    print(json.dumps(output, indent=2, ensure_ascii=False))
    print(json.dumps(run.summary()["run"], default=str))
    return output


if __name__ == "__main__":
    main(*sys.argv[1:2])
