"""Endpoint faults against a real local server that injects them (``tests/faults.py``).

Each fault kind meets the behaviour it should: retried and answered, ``Retry-After``
waited (measured), the per-request deadline kept (elapsed time bounded), the circuit
breaker opened after N failures (the server stops receiving requests) and probing
again after its cool-down. Then a job: records whose prompt overflows the embedded
SmolLM2's context escalate to the faulting server while the others stay on SmolLM2;
every record ends exactly once, answered or unresolved with the reason.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fault_job import WORD, failure_kind, good, run_fault_job
from faults import Fault, FaultServer, cycle, first, start_fault_server

from smallagents.errors import (
    CircuitOpenError,
    EndpointError,
    ModelUnavailableError,
    StructuredOutputError,
)
from smallagents.models.openai import OpenAIModel
from smallagents.models.resilience import (
    RETRY_AFTER_JITTER,
    CircuitBreaker,
    parse_retry_after,
    shared_breaker,
)


@pytest.fixture
def models() -> Iterator[list[OpenAIModel]]:
    """Models made by a test, closed after it."""
    made: list[OpenAIModel] = []
    yield made
    for model in made:
        model.close()


def endpoint(server: FaultServer, made: list[OpenAIModel], **options: Any) -> OpenAIModel:
    """A client of ``server`` with short waits; ``json_schema`` so it never GETs /models."""
    settings: dict[str, Any] = {
        "timeout": 1.0,
        "retries": 2,
        "backoff": 0.05,
        "structured_output": "json_schema",
    }
    model = OpenAIModel(server.base_url, server.model, **(settings | options))
    made.append(model)
    return model


def ask(model: OpenAIModel, attempts: int = 3) -> Any:
    return model.generate("one word", schema=WORD, max_tokens=16, seed=5, attempts=attempts)


# --------------------------------------------------------------------------- each fault kind


@pytest.mark.parametrize("kind", ["500", "drop", "hang"])
def test_transient_fault_is_retried_then_answered(kind: str, models: list[OpenAIModel]) -> None:
    with start_fault_server(first([Fault(kind, 3.0)]), good) as server:  # type: ignore[arg-type]
        model = endpoint(server, models, timeout=0.4)
        generation = ask(model)
        assert generation.value == {"word": "fallback"}
        assert generation.attempts == 1  # retried below the red-flag loop: one sample
        assert server.posts == 2
        assert server.injected == Counter({kind: 1})
        assert (model.breaker.stats.tries, model.breaker.stats.failures) == (2, 1)
        assert model.breaker.state == "closed"


def test_slow_answer_within_the_timeout_is_not_retried(models: list[OpenAIModel]) -> None:
    with start_fault_server(first([Fault("slow", 0.3)]), good) as server:
        model = endpoint(server, models, timeout=2.0)
        started = time.monotonic()
        assert ask(model).value == {"word": "fallback"}
        assert time.monotonic() - started >= 0.3
        assert server.posts == 1
        assert model.breaker.stats.failures == 0


@pytest.mark.parametrize(
    ("kind", "flag"), [("malformed", "invalid JSON"), ("schema", "schema:")], ids=str
)
def test_bad_content_is_a_red_flag_and_resampled(
    kind: str, flag: str, models: list[OpenAIModel]
) -> None:
    with start_fault_server(first([Fault(kind)]), good) as server:  # type: ignore[arg-type]
        model = endpoint(server, models)
        generation = ask(model)
    assert generation.value == {"word": "fallback"}
    assert generation.attempts == 2
    assert len(generation.red_flags) == 1 and flag in generation.red_flags[0], generation.red_flags
    # A fresh sample with the next seed, never a repair; the endpoint itself was fine.
    assert [a.body["seed"] for a in server.arrivals] == [5, 6]
    assert model.breaker.stats.failures == 0


def test_bad_content_every_time_is_a_structured_output_error(models: list[OpenAIModel]) -> None:
    with start_fault_server(cycle([Fault("malformed"), Fault("schema")]), good) as server:
        model = endpoint(server, models)
        with pytest.raises(StructuredOutputError) as caught:
            ask(model, attempts=3)
    assert caught.value.attempts == 3
    assert server.posts == 3
    assert "\n" not in str(caught.value)


def test_retry_after_seconds_is_waited(models: list[OpenAIModel]) -> None:
    with start_fault_server(first([Fault("429", 0.6)]), good) as server:
        model = endpoint(server, models, backoff=5.0)  # a backoff this long would show
        assert ask(model).value == {"word": "fallback"}
        gap = server.arrivals[1].at - server.arrivals[0].at
    assert 0.6 <= gap < 0.6 * (1 + RETRY_AFTER_JITTER) + 0.4, gap
    assert model.breaker.stats.failures == 0  # a 429 is the server alive: not a failure


def test_retry_after_http_date_is_waited(models: list[OpenAIModel]) -> None:
    # An HTTP date has whole seconds: 1.6 s ahead is 0.6 to 1.6 s of waiting.
    with start_fault_server(first([Fault("503", 1.6)]), good) as server:
        model = endpoint(server, models, backoff=0.01, deadline=5.0)
        assert ask(model).value == {"word": "fallback"}
        gap = server.arrivals[1].at - server.arrivals[0].at
    assert 0.5 <= gap < 1.6 * (1 + RETRY_AFTER_JITTER) + 0.4, gap


def test_retry_after_past_the_deadline_fails_at_once(models: list[OpenAIModel]) -> None:
    with start_fault_server(first([Fault("429", 30)]), good) as server:
        model = endpoint(server, models, deadline=2.0)
        started = time.monotonic()
        with pytest.raises(EndpointError) as caught:
            ask(model)
        elapsed = time.monotonic() - started
    assert elapsed < 1.0  # no sleeping in vain for 30 s, nor for the 2 s left
    message = str(caught.value)
    assert "2 s deadline" in message and "retry after 30 s" in message, message
    assert "HTTP 429" in message and "Fix:" in message and "\n" not in message
    assert caught.value.status == 429
    assert server.posts == 1


def test_parse_retry_after() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    in_90 = email.utils.format_datetime(datetime(2026, 1, 2, 3, 5, 35, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(in_90, now=now) == 90.0
    assert parse_retry_after("Fri, 02 Jan 2026 03:00:00 GMT", now=now) == 0.0  # past
    assert parse_retry_after(" 7 ", now=now) == 7.0
    assert parse_retry_after("1.5", now=now) == 1.5
    for nonsense in (None, "", "soon", "-3", "inf", "nan"):
        assert parse_retry_after(nonsense, now=now) is None, nonsense


def test_hang_is_cut_by_the_deadline(models: list[OpenAIModel]) -> None:
    with start_fault_server(cycle([Fault("hang", 10)]), good) as server:
        model = endpoint(server, models, timeout=0.4, deadline=1.0, retries=10)
        started = time.monotonic()
        with pytest.raises(EndpointError) as caught:
            ask(model)
        elapsed = time.monotonic() - started
    # Ten retries of 0.4 s would take 4.4 s; the deadline holds the request to 1 s.
    assert 0.9 <= elapsed < 1.5, elapsed
    assert 2 <= server.posts <= 3
    message = str(caught.value)
    assert "1 s deadline" in message and "did not answer within" in message, message
    assert "deadline=" in message and "\n" not in message


def test_refused_connection_then_the_server_comes_back(models: list[OpenAIModel]) -> None:
    with start_fault_server(first([Fault("refuse", 0.8)]), good) as server:
        model = endpoint(server, models, retries=1, backoff=0.01)
        with pytest.raises(EndpointError, match="Cannot reach") as caught:
            ask(model)  # dropped, then refused: the port is closed
        assert not isinstance(caught.value, CircuitOpenError)
        assert server.posts == 1  # the refused try never reached the server
        assert model.breaker.stats.tries == 2
        time.sleep(1.0)
        assert ask(model).value == {"word": "fallback"}
        assert server.posts == 2


# --------------------------------------------------------------------------- circuit breaker


def test_breaker_opens_stops_calling_and_probes_after_cooldown(
    models: list[OpenAIModel],
) -> None:
    healthy = threading.Event()

    def schedule(index: int) -> Fault | None:
        return None if healthy.is_set() else Fault("500")

    with start_fault_server(schedule, good) as server:
        model = endpoint(server, models, retries=1, breaker_threshold=3, breaker_cooldown=0.8)
        with pytest.raises(EndpointError, match="HTTP 500"):
            ask(model)  # tries 1 and 2 fail
        with pytest.raises(EndpointError, match="HTTP 500") as own:
            ask(model)  # try 3 fails and opens the circuit; the retry is refused here
        # Its own failure says more than "circuit open": that is for the calls after it.
        assert not isinstance(own.value, CircuitOpenError)
        assert server.posts == 3
        assert model.breaker.state == "open"

        started = time.monotonic()
        for _ in range(5):
            with pytest.raises(CircuitOpenError) as caught:
                ask(model)
        assert time.monotonic() - started < 0.2  # fail fast: no request, no wait
        assert server.posts == 3  # the dead endpoint is not called any more
        message = str(caught.value)
        assert caught.value.code == "circuit_open" and caught.value.retry_in > 0
        assert "Circuit open" in message and "HTTP 500" in message, message
        assert "0.8 s" in message and "\n" not in message

        time.sleep(0.85)
        assert model.breaker.state == "half_open"
        with pytest.raises(EndpointError, match="HTTP 500"):
            ask(model)  # the one probe fails (still 500): open again at once
        assert model.breaker.state == "open"
        assert server.posts == 4
        time.sleep(0.85)
        healthy.set()
        assert ask(model).value == {"word": "fallback"}  # this probe succeeds
        assert model.breaker.state == "closed"
        assert server.posts == 5
        stats = model.breaker.stats
        assert (stats.tries, stats.failures, stats.openings) == (5, 4, 2)
        assert stats.fast_failures == 7  # the refused retry, five calls, the second probe's retry


def test_breaker_is_shared_by_instances_of_one_endpoint(models: list[OpenAIModel]) -> None:
    with start_fault_server(cycle([Fault("500")]), good) as server:
        settings = {"retries": 0, "breaker_threshold": 2, "breaker_cooldown": 60.0}
        made: list[OpenAIModel] = []
        errors: list[BaseException] = []

        def worker() -> None:  # each job worker has its own instance
            own = endpoint(server, models, **settings)
            made.append(own)
            try:
                ask(own)
            except EndpointError as error:
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert made[0].breaker is made[1].breaker
        assert made[0].breaker.state == "open"
        third = endpoint(server, models, **settings)
        with pytest.raises(CircuitOpenError):
            ask(third)
        assert server.posts == 2
        assert len(errors) == 2
        # Other settings are another breaker (an explicit choice, not a surprise).
        other = endpoint(server, models, retries=0, breaker_threshold=9)
        assert other.breaker is not made[0].breaker


def test_half_open_lets_one_probe_through_at_a_time(models: list[OpenAIModel]) -> None:
    schedule = first([Fault("500"), Fault("slow", 0.6)])
    with start_fault_server(schedule, good) as server:
        model = endpoint(server, models, retries=0, breaker_threshold=1, breaker_cooldown=0.2)
        with pytest.raises(EndpointError, match="HTTP 500"):
            ask(model)
        time.sleep(0.25)
        probe: list[Any] = []
        thread = threading.Thread(target=lambda: probe.append(ask(model)))
        thread.start()
        time.sleep(0.2)  # the probe is waiting on the slow answer
        with pytest.raises(CircuitOpenError, match="probe is under way"):
            ask(model)
        thread.join(timeout=5)
        assert probe and probe[0].value == {"word": "fallback"}
        assert model.breaker.state == "closed"
        assert server.posts == 2


def test_breaker_state_machine() -> None:
    now = [0.0]
    breaker = CircuitBreaker("http://x/v1", threshold=2, cooldown=10.0, clock=lambda: now[0])
    down = EndpointError("down", url="u")
    throttled = EndpointError("slow down", url="u", status=429)
    not_found = EndpointError("no model", url="u", status=404)

    breaker.admit()
    breaker.record(down)
    breaker.admit()
    breaker.record(throttled)  # neutral: the streak of failures goes on
    breaker.admit()
    breaker.record(down)
    assert breaker.state == "open"
    now[0] = 9.9
    with pytest.raises(CircuitOpenError) as caught:
        breaker.admit()
    assert caught.value.retry_in == pytest.approx(0.1)
    now[0] = 10.0
    breaker.admit()  # the probe
    breaker.record(not_found)  # an answer, if not a useful one: the server is up
    assert breaker.state == "closed"
    breaker.admit()
    breaker.record(down)
    assert breaker.state == "closed"  # the streak started again from 0
    with pytest.raises(ValueError):
        CircuitBreaker("u", threshold=0)
    assert shared_breaker("u", threshold=2, cooldown=1.0) is shared_breaker(
        "u", threshold=2, cooldown=1.0
    )


def test_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="deadline"):
        OpenAIModel("http://127.0.0.1:9/v1", "m", deadline=0)


# --------------------------------------------------------------------------- a job


def test_job_against_a_faulting_fallback_loses_nothing(tmp_path: Path) -> None:
    result = run_fault_job(tmp_path, records=20, every=2, workers=2)
    kept, rejected, escalating = result.kept, result.rejected, result.escalating

    # Nothing lost, nothing duplicated, nothing invented.
    assert (result.lost, result.duplicated, result.unknown) == ([], [], [])
    assert len(kept) + len(rejected) == 20
    assert len(escalating) == 10

    # Records that do not need the fallback are untouched by its faults.
    easy = [r for r in kept if r["id"] not in escalating]
    assert len(easy) == 10
    assert all(r["status"] == "ok" and not r["escalated"] for r in easy)
    assert not any(r["models"]["topic_word"].startswith("openai:") for r in easy)
    assert not any(r["id"] not in escalating for r in rejected)

    # Every escalated record is answered by the endpoint, or unresolved with the reason.
    for record in result.answered:
        assert record["status"] == "escalated" and record["word"] == "fallback"
        assert record["models"]["topic_word"].startswith("openai:http://127.0.0.1:")
    for record in rejected:
        reason = record["reason"]
        assert reason.startswith("unresolved (model_error)"), reason
        assert "context" in reason and "the fallback failed" in reason, reason
        assert failure_kind(reason) != "other", reason
    assert result.answered, "the first escalation survives a 500 and is answered"
    assert rejected, "the refused window ends at least one escalation unresolved"

    # The figures add up: every try reached the server or was refused while it was down.
    assert result.tries >= result.server["received"] > 0
    assert result.refused >= 1
    # Up to the refusal, each escalation takes its turn through the mix: all were met.
    before_refusal = {"500", "429", "malformed", "drop", "schema", "slow", "refuse"}
    assert before_refusal <= set(result.server["injected"]), result.server["injected"]
    assert result.openings >= 1
    figures = result.figures()
    assert figures["lost"] == 0
    assert figures["answered by the fallback"] + figures["unresolved, with the reason"] == 10


def test_endpoint_errors_are_model_unavailable() -> None:
    # The job's guard and the escalation edge rely on it: an endpoint fault is never a
    # usage error (which would stop the job) and may be escalated past.
    assert issubclass(CircuitOpenError, EndpointError)
    assert issubclass(EndpointError, ModelUnavailableError)
    assert CircuitOpenError("x", url="u", retry_in=1.0, fix="y").escalatable
