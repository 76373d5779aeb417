"""Shared fixtures."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from servers import ServerHandle, start_llama_server

from smallagents.models.embedded import embedded_path

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
