"""The OpenAI-compatible HTTP backend, against a real server and against fakes.

The real server is llama-cpp-python's own (``python -m llama_cpp.server``) on the
embedded SmolLM2-135M; the fakes answer what real servers answer on a bad day
(garbage, 500, 429, silence).
"""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import pytest
from servers import (
    Reply,
    Request,
    ServerHandle,
    chat_completion,
    free_port,
    model_list,
    openai_handler,
    start_fake_server,
)

import smallagents
from smallagents.errors import EndpointError, ModelSpecError, StructuredOutputError
from smallagents.models import ModelPool
from smallagents.models.openai import OpenAIModel

TICKET: dict[str, Any] = {
    "title": "Ticket",
    "type": "object",
    "properties": {
        "priority": {"enum": ["low", "medium", "high"]},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "owner": {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 12}},
            "required": ["name"],
        },
        "tags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 8},
            "minItems": 1,
            "maxItems": 2,
        },
    },
    "required": ["priority", "score", "owner", "tags"],
}
TICKET_PROMPT = (
    "Triage this support ticket and answer in JSON: 'The login page is down for all users.' "
    "priority is low, medium or high; score is an integer from 1 to 5; owner.name is who "
    "should fix it; tags are short keywords."
)
VALID_TICKET = '{"priority":"high","score":5,"owner":{"name":"ops"},"tags":["login"]}'
MAX_TOKENS = 60


def _independent_check(value: Any) -> None:
    """Validate with jsonschema directly, not through the code under test."""
    closed = {**TICKET, "additionalProperties": False}
    jsonschema.validate(value, closed)


def _allowed_red_flag(flag: str) -> bool:
    """Red flags that llama-cpp-python's grammar lets through, so only validation catches them.

    Its GBNF converter ignores ``minimum``/``maximum`` and lets raw control
    characters into strings. Anything else (a wrong enum value, a missing key,
    a broken structure) would mean the schema was not sent or not enforced.
    """
    return flag.startswith("schema: at score:") or "control character" in flag


# --------------------------------------------------------------------------- real server


@pytest.mark.server
def test_schema_generate_against_real_server(llama_server: ServerHandle, pool: ModelPool) -> None:
    model = smallagents.load_model(llama_server.spec, pool=pool)
    assert isinstance(model, OpenAIModel)
    # llama-cpp-python's server says owned_by "me" and ignores json_schema.
    assert model.structured_mode == "json_object"

    # Greedy: deterministic, and a resample would repeat the answer, so one attempt.
    # The enum, the nested object and the array are enforced by the server's grammar;
    # the score's range is not (see below), but greedy decoding keeps to the prompt's 1 to 5.
    generation = model.generate(
        TICKET_PROMPT, schema=TICKET, max_tokens=MAX_TOKENS, temperature=0.0, seed=1, attempts=1
    )

    _independent_check(generation.value)
    assert generation.value == json.loads(generation.text)
    assert generation.value["priority"] in ("low", "medium", "high")
    assert 1 <= generation.value["score"] <= 5
    assert generation.model == llama_server.spec == f"openai:{llama_server.base_url}#smol"
    assert generation.prompt_tokens > 0
    assert 0 < generation.completion_tokens <= MAX_TOKENS * generation.attempts
    assert generation.finish_reason == "stop"
    assert generation.seconds > 0
    assert (generation.attempts, generation.red_flags) == (1, ())


@pytest.mark.server
def test_samples_at_temperature_one_all_validate(
    llama_server: ServerHandle, pool: ModelPool
) -> None:
    """Sampled answers all validate; what the server's grammar misses is resampled.

    Seeds are fixed and the server honours them, so the outcome is reproducible on
    one build. The server cannot enforce ``score``'s range (nor keep control
    characters out of strings): such samples are red-flagged and resampled, which
    is what ``attempts`` is for.
    """
    model = smallagents.load_model(llama_server.spec, pool=pool)
    texts = []
    for seed in (1, 2, 3, 4):
        generation = model.generate(
            TICKET_PROMPT,
            schema=TICKET,
            max_tokens=MAX_TOKENS,
            temperature=1.0,
            seed=seed,
            attempts=5,
        )
        _independent_check(generation.value)
        assert generation.attempts <= 5
        assert len(generation.red_flags) == generation.attempts - 1
        assert all(_allowed_red_flag(flag) for flag in generation.red_flags), generation.red_flags
        assert generation.seed == seed + generation.attempts - 1
        texts.append(generation.text)
    # Temperature and seed reach the server: four seeds do not all give one answer.
    assert len(set(texts)) > 1, texts


@pytest.mark.server
def test_plain_generate_against_real_server(llama_server: ServerHandle, pool: ModelPool) -> None:
    model = smallagents.load_model(llama_server.spec, pool=pool)
    generation = model.generate("Say hello in one short sentence.", max_tokens=MAX_TOKENS)
    assert generation.text.strip()
    assert generation.value is None
    assert generation.attempts == 1
    assert generation.prompt_tokens > 0
    assert 0 < generation.completion_tokens <= MAX_TOKENS


# --------------------------------------------------------------------------- unreachable


@pytest.mark.parametrize("schema", [None, TICKET], ids=["plain", "schema"])
def test_server_down_raises_endpoint_error_quickly(pool: ModelPool, schema: Any) -> None:
    port = free_port()  # nobody listens there
    model = smallagents.load_model(f"openai:http://127.0.0.1:{port}/v1#m", pool=pool, retries=0)
    started = time.monotonic()
    with pytest.raises(EndpointError) as caught:
        model.generate("hello", schema=schema, max_tokens=5)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert "\n" not in message
    assert "Fix:" in message
    assert f"127.0.0.1:{port}" in message
    assert caught.value.status is None
    assert caught.value.escalatable  # a larger model elsewhere may still answer


def test_server_down_is_retried_then_fails(pool: ModelPool) -> None:
    port = free_port()
    model = smallagents.load_model(f"openai:http://127.0.0.1:{port}/v1#m", pool=pool, retries=2)
    started = time.monotonic()
    with pytest.raises(EndpointError, match="Cannot reach"):
        model.generate("hello", max_tokens=5)
    # Two short backoffs (at most 0.2 s and 0.4 s), not the 5 s cap.
    assert time.monotonic() - started < 5


def test_mode_detected_once_the_server_is_up(pool: ModelPool) -> None:
    """A server that is down at the first call must not fix the structured mode for good."""
    port = free_port()
    model = smallagents.load_model(f"openai:http://127.0.0.1:{port}/v1#m", pool=pool, retries=0)
    with pytest.raises(EndpointError):
        model.generate("hello", schema=TICKET, max_tokens=60)
    with start_fake_server(openai_handler(VALID_TICKET, owned_by="me"), port=port) as server:
        generation = model.generate("hello", schema=TICKET, max_tokens=60)
        assert generation.value["owner"] == {"name": "ops"}
        assert model.structured_mode == "json_object"
        assert server.posts()[-1].json()["response_format"]["type"] == "json_object"


@pytest.mark.parametrize(
    ("models_reply", "asks"),
    [
        (Reply(404, {"error": "no /models here"}), 1),  # a definite answer: asked once
        (Reply(200, "not json"), 1),
        (Reply(200, ["no", "data"]), 1),
        (Reply(503, {"error": "warming up"}), 2),  # transient: asked again next call
    ],
    ids=["404", "not-json", "not-object", "503"],
)
def test_mode_detection_falls_back_to_json_schema(
    pool: ModelPool, models_reply: Reply, asks: int
) -> None:
    def handle(request: Request) -> Reply:
        if request.method == "GET":
            return models_reply
        return Reply(body=chat_completion(VALID_TICKET))

    with start_fake_server(handle) as server:
        model = smallagents.load_model(server.spec(), pool=pool, retries=0)
        for _ in range(2):
            generation = model.generate("hello", schema=TICKET, max_tokens=60)
            assert generation.value["score"] == 5
    assert [r.json()["response_format"]["type"] for r in server.posts()] == ["json_schema"] * 2
    assert len([r for r in server.requests if r.method == "GET"]) == asks


# --------------------------------------------------------------------------- garbage


def test_non_json_body_is_an_endpoint_error(pool: ModelPool) -> None:
    with start_fake_server(lambda _: Reply(200, "<html>hello</html>")) as server:
        model = smallagents.load_model(server.spec(), pool=pool, retries=2)
        with pytest.raises(EndpointError, match="not JSON") as caught:
            model.generate("hello", max_tokens=5)
    assert caught.value.status == 200
    assert "<html>" in str(caught.value)
    assert "Fix:" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(server.posts()) == 1  # garbage is not transient: no retry


@pytest.mark.parametrize(
    "body",
    [
        {"object": "chat.completion"},
        {"choices": []},
        {"choices": [{"index": 0}]},
        {"choices": [{"message": "hi"}]},
        ["not", "an", "object"],
        "just a string",
    ],
    ids=["no-choices", "empty-choices", "no-message", "message-not-object", "list", "string"],
)
def test_json_without_choices_is_an_endpoint_error(pool: ModelPool, body: Any) -> None:
    with start_fake_server(lambda _: Reply(200, json.dumps(body).encode())) as server:
        model = smallagents.load_model(server.spec(), pool=pool, retries=2)
        with pytest.raises(EndpointError, match=r"choices\[0\]\.message\.content") as caught:
            model.generate("hello", max_tokens=5)
    assert "Fix:" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(server.posts()) == 1


@pytest.mark.parametrize(
    "usage",
    [
        None,
        {},
        {"prompt_tokens": None, "completion_tokens": None},
        {"prompt_tokens": "many", "completion_tokens": [1]},
        ["not", "a", "dict"],
    ],
    ids=["null", "empty", "null-counts", "nonsense-counts", "list"],
)
def test_missing_usage_counts_zero_tokens(pool: ModelPool, usage: Any) -> None:
    answer = chat_completion("hi there")
    answer["usage"] = usage
    with start_fake_server(lambda _: Reply(200, answer)) as server:
        model = smallagents.load_model(server.spec(), pool=pool)
        generation = model.generate("hello", max_tokens=5)
    assert generation.text == "hi there"
    assert (generation.prompt_tokens, generation.completion_tokens) == (0, 0)


def _fail_first(status: int, failures: int, content: str = "fine") -> Any:
    """A handler that answers ``status`` to the first ``failures`` POSTs, then ``content``."""
    good = openai_handler(content)
    seen = {"posts": 0}

    def handle(request: Request) -> Reply:
        if request.method == "POST":
            seen["posts"] += 1
            if seen["posts"] <= failures:
                return Reply(status, {"error": {"message": f"status {status}"}})
        return good(request)

    return handle


def test_500_is_retried_then_succeeds(pool: ModelPool) -> None:
    with start_fake_server(_fail_first(500, 1)) as server:
        model = smallagents.load_model(server.spec(), pool=pool, retries=2)
        generation = model.generate("hello", max_tokens=5)
    assert generation.text == "fine"
    assert len(server.posts()) == 2


def test_429_is_retried_then_succeeds(pool: ModelPool) -> None:
    with start_fake_server(_fail_first(429, 2)) as server:
        model = smallagents.load_model(server.spec(), pool=pool, retries=2)
        generation = model.generate("hello", max_tokens=5)
    assert generation.text == "fine"
    assert len(server.posts()) == 3


def test_429_past_the_retries_is_an_endpoint_error(pool: ModelPool) -> None:
    with start_fake_server(_fail_first(429, 100)) as server:
        model = smallagents.load_model(server.spec(), pool=pool, retries=1)
        with pytest.raises(EndpointError, match="HTTP 429") as caught:
            model.generate("hello", max_tokens=5)
    assert caught.value.status == 429
    assert "Fix:" in str(caught.value)
    assert len(server.posts()) == 2


def test_401_is_not_retried_and_points_at_the_key(pool: ModelPool) -> None:
    with start_fake_server(_fail_first(401, 100)) as server:
        model = smallagents.load_model(server.spec(), pool=pool, retries=2)
        with pytest.raises(EndpointError, match="HTTP 401") as caught:
            model.generate("hello", max_tokens=5)
    assert "SMALLAGENTS_API_KEY" in str(caught.value)
    assert len(server.posts()) == 1


def test_schema_violation_is_resampled_then_structured_output_error(pool: ModelPool) -> None:
    with start_fake_server(openai_handler('{"wrong":1}')) as server:
        model = smallagents.load_model(server.spec(), pool=pool)
        with pytest.raises(StructuredOutputError) as caught:
            model.generate("hello", schema=TICKET, max_tokens=60, seed=40, attempts=3)
    error = caught.value
    assert error.attempts == 3
    assert error.last_output == '{"wrong":1}'
    assert len(error.red_flags) == 3
    assert all(flag.startswith("schema:") for flag in error.red_flags)
    assert error.schema_name == "Ticket"
    assert error.model == server.spec()
    assert "\n" not in str(error)
    posts = [request.json() for request in server.posts()]
    assert len(posts) == 3  # each red flag is a fresh sample, never a repair
    assert [body["seed"] for body in posts] == [40, 41, 42]
    for body in posts:
        assert body["response_format"]["type"] == "json_object"
        assert body["response_format"]["schema"]["properties"]["priority"] == {
            "enum": ["low", "medium", "high"]
        }
        assert body["max_tokens"] == 60


def test_what_the_server_grammar_misses_is_resampled(pool: ModelPool) -> None:
    """llama-cpp-python's grammar ignores minimum/maximum; validation here does not."""
    answers = iter(['{"priority":"low","score":0,"owner":{"name":"a"},"tags":["x"]}', VALID_TICKET])
    with start_fake_server(openai_handler(lambda _: next(answers))) as server:
        model = smallagents.load_model(server.spec(), pool=pool)
        generation = model.generate("hello", schema=TICKET, max_tokens=60, seed=7, attempts=3)
    assert generation.value["score"] == 5
    assert generation.attempts == 2
    assert generation.red_flags == ("schema: at score: 0 is less than the minimum of 1",)
    assert generation.seed == 8
    assert len(server.posts()) == 2


def test_truncated_answer_is_resampled(pool: ModelPool) -> None:
    replies = iter(
        [
            chat_completion('{"priority":"hi', finish_reason="length"),
            chat_completion(VALID_TICKET),
        ]
    )

    def handle(request: Request) -> Reply:
        if request.method == "GET":
            return Reply(body=model_list())
        return Reply(body=next(replies))

    with start_fake_server(handle) as server:
        model = smallagents.load_model(server.spec(), pool=pool)
        generation = model.generate("hello", schema=TICKET, max_tokens=60, attempts=3)
    assert generation.attempts == 2
    assert generation.red_flags[0].startswith("truncated")
    assert generation.value["tags"] == ["login"]
    assert generation.completion_tokens == 10  # both attempts are paid for
    assert len(server.posts()) == 2


def test_hanging_server_times_out(pool: ModelPool) -> None:
    with start_fake_server(lambda _: Reply(200, chat_completion("late"), delay=10)) as server:
        model = smallagents.load_model(server.spec(), pool=pool, timeout=0.5, retries=0)
        started = time.monotonic()
        with pytest.raises(EndpointError, match=r"did not answer within 0\.5 s") as caught:
            model.generate("hello", max_tokens=5)
        assert time.monotonic() - started < 3
    assert caught.value.status is None
    assert "Fix:" in str(caught.value)


# --------------------------------------------------------------------------- request shape


@pytest.mark.parametrize(
    ("owned_by", "option", "expected"),
    [
        ("me", "auto", "json_object"),
        ("vllm", "auto", "json_schema"),
        ("openai", "auto", "json_schema"),
        ("me", "json_schema", "json_schema"),
        ("vllm", "none", "none"),
    ],
)
def test_structured_mode_shapes_the_request(
    pool: ModelPool, owned_by: str, option: str, expected: str
) -> None:
    with start_fake_server(openai_handler(VALID_TICKET, owned_by=owned_by)) as server:
        model = smallagents.load_model(server.spec(), pool=pool, structured_output=option)
        generation = model.generate("hello", schema=TICKET, max_tokens=60)
        assert model.structured_mode == expected
    assert generation.value["priority"] == "high"
    body = server.posts()[0].json()
    assert body["model"] == "fake"
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    if expected == "json_object":
        assert body["response_format"]["type"] == "json_object"
        assert body["response_format"]["schema"]["required"] == TICKET["required"]
    elif expected == "json_schema":
        assert body["response_format"]["type"] == "json_schema"
        inner = body["response_format"]["json_schema"]
        assert inner["name"] == "Ticket"
        assert inner["strict"] is True
        assert inner["schema"]["additionalProperties"] is False
    else:
        assert "response_format" not in body
    asked_models = [r for r in server.requests if r.method == "GET"]
    assert len(asked_models) == (1 if option == "auto" else 0)


def test_plain_generate_sends_stop_and_chat_messages(pool: ModelPool) -> None:
    with start_fake_server(openai_handler("plain answer")) as server:
        model = smallagents.load_model(server.spec(), pool=pool)
        messages = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello"},
        ]
        generation = model.generate(messages, max_tokens=9, stop=["\n\n"], temperature=0.3)
    assert generation.text == "plain answer"
    assert (generation.prompt_tokens, generation.completion_tokens) == (7, 5)
    body = server.posts()[0].json()
    assert body["messages"] == messages
    assert body["stop"] == ["\n\n"]
    assert body["max_tokens"] == 9
    assert body["temperature"] == 0.3
    assert "response_format" not in body
    assert not [r for r in server.requests if r.method == "GET"]  # no schema: no detection


# --------------------------------------------------------------------------- API key


def test_api_key_from_environment(pool: ModelPool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("SMALLAGENTS_API_KEY", "sk-test-123")
    with start_fake_server(openai_handler("ok")) as server:
        smallagents.load_model(server.spec(), pool=pool).generate("hello", max_tokens=5)
    assert server.posts()[0].headers.get("authorization") == "Bearer sk-test-123"


def test_api_key_from_named_variable(pool: ModelPool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMALLAGENTS_API_KEY", "sk-not-this-one")
    monkeypatch.setenv("MY_ENDPOINT_KEY", "sk-named")
    with start_fake_server(openai_handler("ok")) as server:
        model = smallagents.load_model(server.spec(), pool=pool, api_key_env="MY_ENDPOINT_KEY")
        model.generate("hello", max_tokens=5)
    assert server.posts()[0].headers.get("authorization") == "Bearer sk-named"


def test_no_api_key_sends_no_authorization(
    pool: ModelPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMALLAGENTS_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with start_fake_server(openai_handler("ok")) as server:
        smallagents.load_model(server.spec(), pool=pool).generate("hello", max_tokens=5)
    assert "authorization" not in server.posts()[0].headers


# --------------------------------------------------------------------------- specs


@pytest.mark.parametrize(
    "spec",
    [
        "ftp:example.com/model",
        "ollama:http://127.0.0.1:11434#llama3",
        "openai:http://127.0.0.1:8000/v1",  # no #MODEL
        "openai:http://127.0.0.1:8000/v1#",  # empty model
        "openai:127.0.0.1:8000/v1#m",  # no http(s)://
        "openai:#m",
    ],
)
def test_bad_spec_is_a_model_spec_error(pool: ModelPool, spec: str) -> None:
    with pytest.raises(ModelSpecError) as caught:
        smallagents.load_model(spec, pool=pool)
    assert caught.value.spec == spec
    assert "Fix:" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(pool) == 0


def test_spec_names_url_and_model(pool: ModelPool) -> None:
    model = smallagents.load_model("openai:http://127.0.0.1:9/v1/#my-model", pool=pool)
    assert isinstance(model, OpenAIModel)
    assert model.base_url == "http://127.0.0.1:9/v1"
    assert model.model == "my-model"
    assert model.name == "openai:http://127.0.0.1:9/v1#my-model"
