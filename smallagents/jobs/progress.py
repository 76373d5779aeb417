"""Progress of a running job: a rich display on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@dataclass
class Counters:
    """Running totals shown while a job runs."""

    done: int = 0
    total: int = 0
    kept: int = 0
    rejected: int = 0
    escalated: int = 0
    completion_tokens: int = 0
    started: float = 0.0
    resumed_at: int = 0
    """Units already done when this process started (a resumed job)."""

    def line(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        judged = self.kept + self.rejected
        accept = f"{self.kept / judged:.0%}" if judged else "-"
        rate = (self.done - self.resumed_at) / elapsed
        eta = (self.total - self.done) / rate if rate else float("inf")
        return (
            f"{self.done}/{self.total} units, {rate * 60:.1f}/min, ETA {eta:.0f}s, "
            f"accepted {accept}, escalations {self.escalated}, "
            f"{self.completion_tokens / elapsed:.0f} tok/s"
        )


class ProgressView(Protocol):
    def start(self, counters: Counters) -> None: ...
    def update(self, counters: Counters) -> None: ...
    def stop(self, counters: Counters) -> None: ...


class QuietView:
    """Shows nothing."""

    def start(self, counters: Counters) -> None:
        pass

    def update(self, counters: Counters) -> None:
        pass

    def stop(self, counters: Counters) -> None:
        pass


class PlainView:
    """A line on stderr at most every ``every`` seconds, and at the end: for logs and pipes."""

    def __init__(self, every: float = 5.0) -> None:
        self._every = every
        self._last = 0.0

    def start(self, counters: Counters) -> None:
        print(
            f"starting: {counters.total - counters.done} of {counters.total} units to do",
            file=sys.stderr,
            flush=True,
        )

    def update(self, counters: Counters) -> None:
        now = time.perf_counter()
        if now - self._last >= self._every:
            self._last = now
            print(counters.line(), file=sys.stderr, flush=True)

    def stop(self, counters: Counters) -> None:
        print(counters.line(), file=sys.stderr, flush=True)


class RichView:
    """A live progress bar with the job's rates."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = TaskID(0)

    def start(self, counters: Counters) -> None:
        self._progress.start()
        self._task = self._progress.add_task(
            "units", total=counters.total, completed=counters.done, info=""
        )

    def update(self, counters: Counters) -> None:
        elapsed = max(time.perf_counter() - counters.started, 1e-9)
        judged = counters.kept + counters.rejected
        info = (
            f"accept {counters.kept / judged:.0%} " if judged else ""
        ) + f"esc {counters.escalated}  {counters.completion_tokens / elapsed:.0f} tok/s"
        self._progress.update(self._task, completed=counters.done, info=info)

    def stop(self, counters: Counters) -> None:
        self.update(counters)
        self._progress.stop()


def choose_view(quiet: bool) -> ProgressView:
    """Rich on a terminal, plain lines otherwise, nothing with ``quiet``."""
    if quiet:
        return QuietView()
    return RichView() if sys.stderr.isatty() else PlainView()
