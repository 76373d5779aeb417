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
does not fit is a red flag and is resampled by :meth:`Model.generate`.

The API key comes from the environment, never from a file: ``SMALLAGENTS_API_KEY``,
else ``OPENAI_API_KEY``, or the variable named by ``api_key_env``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any, Literal

import httpx
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from smallagents.errors import EndpointError
from smallagents.models.base import Completion, Model, Prompt
from smallagents.structured.schema import CompiledSchema

StructuredMode = Literal["auto", "json_schema", "json_object", "none"]

_RETRIABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class OpenAIModel(Model):
    """A chat model served over HTTP by any OpenAI-compatible server."""

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
            timeout: seconds for one HTTP request.
            retries: extra tries for refused connections, timeouts, 429 and 5xx.
            name: how records name this model (default ``openai:BASE_URL#MODEL``).
            transport: an httpx transport, for tests (e.g. ``httpx.MockTransport``).
        """
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = name or f"openai:{self.base_url}#{model}"
        self._mode: StructuredMode = structured_output
        self._retries = retries
        self._timeout = timeout
        key = api_key or _key_from_env(api_key_env)
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
        if schema is not None:
            response_format = self._response_format(schema)
            if response_format is not None:
                body["response_format"] = response_format
        started = time.perf_counter()
        payload = self._post("/chat/completions", body)
        seconds = time.perf_counter() - started
        try:
            choice = payload["choices"][0]
            text = choice["message"]["content"] or ""
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
        retrying = Retrying(
            stop=stop_after_attempt(self._retries + 1) | stop_after_delay(self._timeout * 2),
            wait=wait_random_exponential(multiplier=0.2, max=5.0),
            retry=retry_if_exception(_is_transient),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._request_once(method, url, body)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _request_once(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        try:
            response = self._client.request(method, url, json=body)
        except httpx.ConnectError as error:
            raise EndpointError(
                f"Cannot reach {url}: connection refused or host unknown ({error}).",
                url=url,
                fix="start the server, or correct BASE_URL in the spec openai:BASE_URL#MODEL.",
            ) from None
        except httpx.TimeoutException:
            raise EndpointError(
                f"{url} did not answer within {self._timeout:g} s.",
                url=url,
                fix="raise timeout=, or check that the server is not overloaded.",
            ) from None
        except httpx.HTTPError as error:
            raise EndpointError(
                f"{url} failed mid-request: {type(error).__name__}: {error}.",
                url=url,
                fix="check the server's logs; the request can be retried.",
            ) from None
        if response.status_code >= 400:
            raise EndpointError(
                f"{url} answered HTTP {response.status_code}: {response.text[:200]!r}.",
                url=url,
                status=response.status_code,
                fix="check the model name and API key (SMALLAGENTS_API_KEY or OPENAI_API_KEY)."
                if response.status_code in (401, 403, 404)
                else "check the server's logs; transient errors are retried.",
            )
        try:
            return response.json()
        except ValueError:
            raise EndpointError(
                f"{url} answered HTTP {response.status_code} with a body that is not JSON: "
                f"{response.text[:120]!r}.",
                url=url,
                status=response.status_code,
                fix="point BASE_URL at an OpenAI-compatible API root (often ending in /v1).",
            ) from None

    def close(self) -> None:
        self._client.close()


def _is_transient(error: BaseException) -> bool:
    if not isinstance(error, EndpointError):
        return False
    return error.status is None or error.status in _RETRIABLE_STATUS


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
