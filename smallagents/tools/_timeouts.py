"""Running a tool's function on a daemon thread with a timeout."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Raised:
    error: BaseException


TIMED_OUT = object()


def call_with_timeout(
    function: Callable[..., Any], arguments: Mapping[str, Any], timeout: float
) -> Any:
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(function(**arguments))
        except BaseException as error:  # a tool's SystemExit must become an observation too
            outcome.append(Raised(error))

    # A daemon thread, not an executor: an executor's shutdown would wait for a tool
    # that never returns, and a daemon thread does not keep the process alive.
    worker = threading.Thread(target=target, name="smallagents-tool", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive() or not outcome:
        return TIMED_OUT if worker.is_alive() else Raised(RuntimeError("no result"))
    return outcome[0]
