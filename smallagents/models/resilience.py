"""Staying well-behaved against an endpoint that fails: deadlines, backoff, a breaker.

Three pieces, each with one job, used by ``smallagents.models.openai.OpenAIModel``:

* ``Deadline``: one request's total time budget, across all of its tries and
  the waits between them. Each try gets at most what is left of it.
* ``RetryWait``: how long to wait before the next try: what the server asked
  for in ``Retry-After`` (plus a little jitter), else exponential backoff with full
  jitter (tenacity's ``wait_random_exponential``), so that many workers that failed
  together do not come back together.
* ``CircuitBreaker``: one per endpoint, shared by every model instance that
  calls it in this process (a job's worker threads each have their own instance).
  After ``threshold`` failed tries in a row it *opens*: calls fail at once with
  ``smallagents.errors.CircuitOpenError``, without a request, for
  ``cooldown`` seconds. Then it is *half-open*: one probe goes through; if it
  succeeds the circuit closes, if it fails it opens for another cool-down.

What counts as a failure: no answer at all (refused, timed out, dropped) or a 5xx.
A 429 is the server alive and asking for patience: it neither opens nor closes
the circuit. Any other answer (2xx, 4xx, a body that is not JSON) shows the server
is up and closes it.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from tenacity import RetryCallState, wait_random_exponential
from tenacity.stop import stop_base

from smallagents.errors import CircuitOpenError, EndpointError

Clock = Callable[[], float]
BreakerState = Literal["closed", "open", "half_open"]

RETRY_AFTER_JITTER = 0.1
"""A wait asked for by ``Retry-After`` is stretched by up to this share, at random."""


# --------------------------------------------------------------------------- deadline


class Deadline:
    """A total time budget that started when it was made."""

    def __init__(self, seconds: float, *, clock: Clock = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._end - self._clock())

    def elapsed(self) -> float:
        return self.seconds - (self._end - self._clock())


# --------------------------------------------------------------------------- waits


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delay-seconds or an HTTP date; None if neither.

    A date in the past gives 0. Nonsense (``"soon"``, ``"-3"``, ``"inf"``) gives None,
    and the caller falls back to its own backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


class RetryWait:
    """tenacity ``wait=``: ``Retry-After`` when the server gave one, else jittered backoff.

    Args:
        backoff: the first backoff's upper bound in seconds (it doubles per try).
        backoff_max: the largest backoff between two tries.
        rng: random source for the jitter (tests pass a seeded one).
    """

    def __init__(
        self, *, backoff: float = 0.2, backoff_max: float = 5.0, rng: random.Random | None = None
    ) -> None:
        self._backoff = wait_random_exponential(multiplier=backoff, max=backoff_max)
        self._rng = rng or random.Random()

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        asked = getattr(error, "retry_after", None)
        if asked is not None:
            return float(asked) * (1.0 + RETRY_AFTER_JITTER * self._rng.random())
        return float(self._backoff(state))


class StopAtDeadline(stop_base):
    """tenacity ``stop=``: stop when the next wait would not leave time for another try."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.hit = False
        """Whether the deadline (rather than the count of tries) ended the retries."""

    def __call__(self, state: RetryCallState) -> bool:
        if state.upcoming_sleep >= self.deadline.remaining():
            self.hit = True
        return self.hit


# --------------------------------------------------------------------------- breaker


@dataclass
class BreakerStats:
    """What one breaker saw, for reports and tests."""

    tries: int = 0
    """Tries let through to the endpoint (probes included)."""
    failures: int = 0
    """Tries that failed (no answer, or 5xx)."""
    fast_failures: int = 0
    """Calls refused without a request while the circuit was open."""
    openings: int = 0
    """Times the circuit opened (a failed half-open probe opens it again)."""


def counts_as_failure(error: EndpointError) -> bool | None:
    """True: the endpoint is down or broken; None: neither (a 429); False: it answered."""
    if error.status is None or error.status >= 500:
        return True
    if error.status == 429:
        return None
    return False


class CircuitBreaker:
    """Stops calling an endpoint that keeps failing, and probes it again later.

    Thread-safe: the workers of a job share it.

    Args:
        endpoint: what the errors name (the API root URL).
        threshold: failed tries in a row that open the circuit (at least 1).
        cooldown: seconds the circuit stays open before one probe is let through.
        clock: a monotonic clock in seconds (tests may pass their own).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        threshold: int = 5,
        cooldown: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if threshold < 1:
            raise ValueError(f"breaker threshold must be at least 1, not {threshold}")
        if cooldown < 0:
            raise ValueError(f"breaker cooldown must be >= 0 seconds, not {cooldown}")
        self.endpoint = endpoint
        self.threshold = threshold
        self.cooldown = cooldown
        self.stats = BreakerStats()
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._streak = 0
        self._opened_at = 0.0
        self._probing = False
        self._last_failure = ""

    @property
    def state(self) -> BreakerState:
        """``closed``, ``open`` or ``half_open`` (the cool-down is over; a probe may go)."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.cooldown:
                return "half_open"
            return self._state

    def admit(self) -> None:
        """Let one try through, or raise ``CircuitOpenError`` at once."""
        with self._lock:
            if self._state == "open":
                waited = self._clock() - self._opened_at
                if waited < self.cooldown:
                    self._refuse(self.cooldown - waited)
                self._state = "half_open"
            if self._state == "half_open":
                if self._probing:  # one probe at a time; the rest fail fast meanwhile
                    self._refuse(0.0)
                self._probing = True
            self.stats.tries += 1

    def record(self, error: EndpointError | None) -> None:
        """The outcome of an admitted try: None for an answer, else the error it ended in."""
        verdict = True if error is None else not counts_as_failure(error)
        neutral = error is not None and counts_as_failure(error) is None
        with self._lock:
            if self._state == "half_open":
                self._probing = False
            if neutral:
                return
            if verdict:
                self._state, self._streak = "closed", 0
                return
            assert error is not None
            self.stats.failures += 1
            self._streak += 1
            self._last_failure = error.message[:160]
            if self._state == "half_open" or self._streak >= self.threshold:
                if self._state != "open":
                    self.stats.openings += 1
                self._state, self._opened_at = "open", self._clock()

    def release(self) -> None:
        """An admitted try ended without an HTTP outcome (interrupted): free the probe slot."""
        with self._lock:
            if self._state == "half_open":
                self._probing = False

    def _refuse(self, retry_in: float) -> None:
        self.stats.fast_failures += 1
        when = (
            f"a probe is let through in {retry_in:.1f} s"
            if retry_in > 0
            else "a probe is under way now"
        )
        raise CircuitOpenError(
            f"Circuit open for {self.endpoint}: {self._streak} failed tries in a row "
            f"(last: {self._last_failure}); calls fail fast, {when}.",
            url=self.endpoint,
            retry_in=retry_in,
            fix=f"start or repair the server; the circuit retries by itself after "
            f"{self.cooldown:g} s (breaker_cooldown=), or raise breaker_threshold=.",
        )


_breakers: weakref.WeakValueDictionary[tuple[str, int, float], CircuitBreaker] = (
    weakref.WeakValueDictionary()
)
_breakers_lock = threading.Lock()


def shared_breaker(endpoint: str, *, threshold: int, cooldown: float) -> CircuitBreaker:
    """The process's breaker for ``endpoint`` and these settings, made on first use.

    Every live model instance with the same endpoint and settings gets the same one;
    it goes away with the last of them (a new job starts with a closed circuit).
    """
    key = (endpoint, threshold, cooldown)
    with _breakers_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = CircuitBreaker(endpoint, threshold=threshold, cooldown=cooldown)
            _breakers[key] = breaker
        return breaker
