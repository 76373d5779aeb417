"""Shared fixtures."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from servers import ServerHandle, start_llama_server

from smallagents import registry
from smallagents.models.embedded import embedded_path
from smallagents.models.pool import ModelPool

ROOT = Path(__file__).resolve().parents[1]

# What `llama-cpp-python[server]` adds; without it there is no server to start.
_SERVER_MODULES = ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


@pytest.fixture(scope="session")
def llama_server() -> Iterator[ServerHandle]:
    """llama-cpp-python's real OpenAI-compatible server on the default embedded model.

    One per session, model alias ``smol``. Tests that use it carry ``@pytest.mark.server``.
    """
    missing = [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(
            f"llama-cpp-python[server] is not installed (missing {', '.join(missing)}); "
            "pip install -e '.[dev]'"
        )
    with start_llama_server(embedded_path("default"), model_alias="smol") as server:
        yield server


@pytest.fixture
def pool() -> Iterator[ModelPool]:
    """A private pool with one decode thread (the machine is shared), closed after the test.

    Modules that need another scope or settings define their own ``pool``.
    """
    fresh = ModelPool(threads=1)
    yield fresh
    fresh.close()


@pytest.fixture(scope="module")
def agent() -> ModuleType:
    """``graphs/tool_agent.py``, loaded by path as the runtime loads it."""
    return registry.load_module(ROOT / "graphs" / "tool_agent.py")[0]
