"""Models behind an OpenAI-compatible chat completions endpoint.

Server families take structured output differently, and some ignore what they do
not understand without saying so. The family is read from ``GET /models`` once
(``owned_by``) and the request is shaped for it:

==========================  =====================================================
family                      what is sent
==========================  =====================================================
llama-cpp-python server     ``response_format: {"type": "json_object", "schema"}``
                            (it ignores ``json_schema`` outright)
llama.cpp, vLLM, OpenAI,    ``response_format: {"type": "json_schema",
Ollama and the rest          "json_schema": {"name", "schema", "strict": true}}``
==========================  =====================================================

Whatever the server does with it, every answer is validated here; an answer that
does not fit is a red flag and is resampled by ``Model.generate``.

The API key comes from the environment, never from a file: ``SMALLAGENTS_API_KEY``,
else ``OPENAI_API_KEY``, or the variable named by ``api_key_env``.

Failures (see ``smallagents.models.resilience``): refused connections, timeouts,
dropped connections, 429 and 5xx are retried with jittered exponential backoff, or
after the server's ``Retry-After``, all within one per-request ``deadline``; an
endpoint that keeps failing trips a circuit breaker shared by every instance that
calls it, so that a dead fallback is not called again until its cool-down is over.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from typing import Any, Literal

import httpx
from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt

from smallagents.errors import CircuitOpenError, EndpointError, redact, register_secret
from smallagents.models.base import Completion, Model, Prompt
from smallagents.models.resilience import (
    CircuitBreaker,
    Deadline,
    RetryWait,
    StopAtDeadline,
    parse_retry_after,
    shared_breaker,
)
from smallagents.structured.schema import CompiledSchema

StructuredMode = Literal["auto", "json_schema", "json_object", "none"]

_RETRIABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


DEFAULT_MAX_CONCURRENCY = 32
_limits: dict[str, threading.BoundedSemaphore] = {}
_limits_lock = threading.Lock()


def _shared_limit(base_url: str, size: int) -> threading.BoundedSemaphore:
    """The one semaphore of ``base_url`` in this process: requests in flight to it."""
    if size < 1:
        raise ValueError(f"max_concurrency must be at least 1, not {size}")
    with _limits_lock:
        limit = _limits.get(base_url)
        if limit is None:
            limit = _limits[base_url] = threading.BoundedSemaphore(size)
        return limit


class OpenAIModel(Model):
    """A chat model served over HTTP by any OpenAI-compatible server."""

    sends_tools = True
    """A prompt's ``tools`` (a Caller's ``smallagents.tools.ToolPrompt``) go in the
    request's ``tools``; their names must then fit the API's rule (the Caller aliases them)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        structured_output: StructuredMode = "auto",
        timeout: float = 60.0,
        retries: int = 2,
        deadline: float | None = None,
        backoff: float = 0.2,
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        name: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Connect lazily to ``base_url`` (which ends in ``/v1`` for most servers).

        Args:
            base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``.
            model: the model name the server expects.
            api_key: a key given in code; otherwise read from the environment.
            api_key_env: the environment variable that holds the key.
            structured_output: how to ask for JSON (see the module docstring);
                ``auto`` asks the server what it is.
            timeout: seconds for one HTTP try (cut to what is left of the deadline).
            retries: extra tries for refused connections, timeouts, dropped
                connections, 429 and 5xx.
            deadline: seconds for one request in all, every try and wait included
                (default ``2 * timeout``); past it the request fails with an
                EndpointError that names it. A ``Retry-After`` longer than what is
                left ends the request at once, rather than waiting in vain.
            backoff: the first wait's upper bound in seconds; it doubles per try
                (full jitter, at most 5 s) unless the server sent ``Retry-After``.
            breaker_threshold: failed tries in a row (no answer, or 5xx) after which
                the endpoint's circuit opens and calls fail fast.
            breaker_cooldown: seconds the circuit stays open before one probe
                request is let through; its success closes the circuit.
            max_concurrency: requests this process keeps in flight to this base URL
                at most, across every instance and thread (the first instance's value
                counts): a server's capacity, not this machine's cores.
            name: how records name this model (default ``openai:BASE_URL#MODEL``).
            transport: an httpx transport, for tests (e.g. ``httpx.MockTransport``).
        """
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = name or f"openai:{self.base_url}#{model}"
        self._mode: StructuredMode = structured_output
        if deadline is not None and deadline <= 0:
            raise ValueError(f"deadline must be positive seconds, not {deadline}")
        self._retries = retries
        self._timeout = timeout
        self._deadline = deadline if deadline is not None else 2 * timeout
        self._wait = RetryWait(backoff=backoff)
        self.breaker: CircuitBreaker = shared_breaker(
            self.base_url, threshold=breaker_threshold, cooldown=breaker_cooldown
        )
        """This endpoint's circuit breaker, shared with every instance that calls it."""
        self._in_flight = _shared_limit(self.base_url, max_concurrency)
        key = api_key or _key_from_env(api_key_env)
        register_secret(key)  # an error body that echoes the header must not leak it
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def _complete(
        self,
        prompt: Prompt,
        *,
        schema: CompiledSchema | None,
        max_tokens: int,
        temperature: float,
        seed: int,
        stop: Sequence[str] | None,
    ) -> Completion:
        messages = (
            [{"role": "user", "content": prompt}]
            if isinstance(prompt, str)
            else [dict(m) for m in prompt]
        )
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
        }
        if stop:
            body["stop"] = list(stop)
        tools = getattr(prompt, "tools", None)
        if tools:
            body["tools"] = list(tools)
        if schema is not None:
            response_format = self._response_format(schema)
            if response_format is not None:
                body["response_format"] = response_format
        started = time.perf_counter()
        with self._in_flight:
            payload = self._post("/chat/completions", body)
        seconds = time.perf_counter() - started
        try:
            choice = payload["choices"][0]
            text = choice["message"]["content"] or _tool_calls_text(choice["message"])
            usage = payload.get("usage") or {}
            finish = choice.get("finish_reason")
        except (KeyError, IndexError, TypeError):
            raise EndpointError(
                f"{self.base_url} answered without choices[0].message.content: "
                f"{json.dumps(payload)[:200]}",
                url=self.base_url,
                fix="check that the URL is an OpenAI-compatible /v1 API root.",
            ) from None
        return Completion(
            text=text,
            prompt_tokens=_token_count(usage, "prompt_tokens"),
            completion_tokens=_token_count(usage, "completion_tokens"),
            finish_reason="length" if finish == "length" else "stop",
            seconds=seconds,
        )

    @property
    def structured_mode(self) -> StructuredMode:
        """How this endpoint is asked for JSON, after detection."""
        if self._mode == "auto":
            detected = self._detect_mode()
            if detected is None:  # not reachable now: guess for this call, ask again next time
                return "json_schema"
            self._mode = detected
        return self._mode

    def _response_format(self, schema: CompiledSchema) -> dict[str, Any] | None:
        mode = self.structured_mode
        if mode == "json_object":
            return {"type": "json_object", "schema": schema.json_schema}
        if mode == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {
                    "name": _schema_name(schema),
                    "schema": schema.json_schema,
                    "strict": True,
                },
            }
        return None

    def _detect_mode(self) -> StructuredMode | None:
        try:
            listing = self._get("/models")
            owners = {str(item.get("owned_by", "")) for item in listing.get("data", [])}
        except EndpointError as error:
            # A server that cannot be reached now says nothing about what it is.
            return None if _is_transient(error) else "json_schema"
        except (AttributeError, TypeError):
            return "json_schema"
        # llama-cpp-python's server reports owned_by "me" and honours only json_object.
        return "json_object" if "me" in owners else "json_schema"

    def _get(self, path: str) -> Any:
        return self._request("GET", path, None)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, body)

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        url = self.base_url + path
        deadline = Deadline(self._deadline)
        at_deadline = StopAtDeadline(deadline)
        retrying = Retrying(
            stop=stop_after_attempt(self._retries + 1) | at_deadline,
            wait=self._wait,
            retry=retry_if_exception(_is_retriable),
            reraise=False,
        )
        failures: list[EndpointError] = []
        try:
            for attempt in retrying:
                with attempt:
                    return self._guarded_try(method, url, body, deadline, failures)
        except CircuitOpenError:
            # Opened by this request's own failed tries: their error says more than
            # "circuit open" (the next request gets that one, without a try).
            if failures:
                raise failures[-1] from None
            raise
        except RetryError as stopped:
            last = stopped.last_attempt.exception()
            assert isinstance(last, EndpointError)
            if not at_deadline.hit:
                raise last from None
            tries = stopped.last_attempt.attempt_number
            raise _deadline_error(url, deadline, tries, last) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _guarded_try(
        self,
        method: str,
        url: str,
        body: dict[str, Any] | None,
        deadline: Deadline,
        failures: list[EndpointError],
    ) -> Any:
        """One try through the endpoint's circuit breaker, within what is left of the deadline."""
        self.breaker.admit()
        try:
            result = self._request_once(method, url, body, min(self._timeout, deadline.remaining()))
        except EndpointError as error:
            self.breaker.record(error)
            failures.append(error)
            raise
        except BaseException:
            self.breaker.release()
            raise
        self.breaker.record(None)
        return result

    def _request_once(
        self, method: str, url: str, body: dict[str, Any] | None, timeout: float
    ) -> Any:
        try:
            response = self._client.request(method, url, json=body, timeout=timeout)
        except httpx.ConnectError as error:
            raise EndpointError(
                f"Cannot reach {url}: connection refused or host unknown ({error}).",
                url=url,
                fix="start the server, or correct BASE_URL in the spec openai:BASE_URL#MODEL.",
            ) from None
        except httpx.TimeoutException:
            raise EndpointError(
                f"{url} did not answer within {timeout:.3g} s.",
                url=url,
                fix="raise timeout=, or check that the server is not overloaded.",
            ) from None
        except httpx.HTTPError as error:
            raise EndpointError(
                f"{url} failed mid-request: {type(error).__name__}: {str(error).rstrip('.')}.",
                url=url,
                fix="check the server's logs; the request can be retried.",
            ) from None
        if response.status_code >= 400:
            raise EndpointError(
                f"{url} answered HTTP {response.status_code}: {redact(response.text)[:200]!r}.",
                url=url,
                status=response.status_code,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                fix="check the model name and API key (SMALLAGENTS_API_KEY or OPENAI_API_KEY)."
                if response.status_code in (401, 403, 404)
                else "check the server's logs; transient errors are retried.",
            )
        try:
            return response.json()
        except ValueError:
            raise EndpointError(
                f"{url} answered HTTP {response.status_code} with a body that is not JSON: "
                f"{redact(response.text)[:120]!r}.",
                url=url,
                status=response.status_code,
                fix="point BASE_URL at an OpenAI-compatible API root (often ending in /v1).",
            ) from None

    def close(self) -> None:
        self._client.close()


def _tool_calls_text(message: Any) -> str:
    """An answer given as ``tool_calls`` (no content) as the ``{"calls": [...]}`` JSON."""
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            arguments = function.get("arguments")
        calls.append({"name": function.get("name"), "arguments": arguments})
    return json.dumps({"calls": calls}) if calls else ""


def _is_transient(error: BaseException) -> bool:
    """An error that may not happen again: no answer, an open circuit, 429 or a 5xx."""
    if not isinstance(error, EndpointError):
        return False
    return error.status is None or error.status in _RETRIABLE_STATUS


def _is_retriable(error: BaseException) -> bool:
    # An open circuit is transient, but retrying within one request cannot help:
    # the cool-down is what it waits for.
    return _is_transient(error) and not isinstance(error, CircuitOpenError)


def _deadline_error(url: str, deadline: Deadline, tries: int, last: EndpointError) -> EndpointError:
    asked = (
        f"; the server asked to retry after {last.retry_after:g} s"
        if last.retry_after is not None
        else ""
    )
    return EndpointError(
        f"{url} gave no answer within the {deadline.seconds:g} s deadline "
        f"({tries} tr{'y' if tries == 1 else 'ies'}{asked}); last: {last.message}",
        url=url,
        status=last.status,
        retry_after=last.retry_after,
        fix="raise deadline= (seconds per request, every retry included), "
        "or check that the server is up and not overloaded.",
    )


def _token_count(usage: Any, key: str) -> int:
    """A count from ``usage``; 0 where the server gives none (null, missing, nonsense)."""
    value = usage.get(key) if isinstance(usage, dict) else None
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _schema_name(schema: CompiledSchema) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in schema.name)
    return cleaned[:64] or "schema"


def _key_from_env(variable: str | None) -> str | None:
    names = [variable] if variable else ["SMALLAGENTS_API_KEY", "OPENAI_API_KEY"]
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None
