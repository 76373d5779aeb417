"""Every error smallagents raises, in one tree.

::

    SmallAgentsError                 base; .code, .fix, .escalatable
    ├── UsageError                   the caller can fix it (exit code 2 in the CLI)
    │   ├── ModelSpecError           unknown scheme or malformed model spec
    │   ├── ModelFileError           missing model file, or a file that is not GGUF
    │   ├── SchemaError              invalid JSON Schema, unknown schema name, or a
    │   │                            schema the grammar engine cannot express
    │   ├── RoleDefinitionError      a role defined wrong (caught when it is defined)
    │   ├── RoleInputError           a role called with missing or ill-typed inputs
    │   ├── ContentError             a roles/graphs source that cannot be loaded
    │   ├── GraphDefinitionError     a graph built wrong (caught when it is built)
    │   ├── GraphInputError          a graph invoked with wrong inputs or a thread
    │   │                            that holds another run
    │   ├── ToolDefinitionError      a tool defined wrong (caught when it is defined)
    │   ├── ToolArgumentError        a tool called with arguments its schema refuses
    │   ├── ExportError              a run that cannot be exported as a dataset (missing,
    │   │                            unfinished, inconsistent) or a target in the way
    │   ├── ConfigError              a smallagents.toml that cannot be used
    │   ├── InputError               an input file or record that cannot be read
    │   └── StateError               a job state of another job, or one that cannot
    │                                be written (disk full)
    ├── ModelUnavailableError        the model cannot be reached right now (exit code 3)
    │   ├── DownloadError            an ``hf:`` download failed (offline, no such file)
    │   └── EndpointError            an HTTP endpoint refused, failed or answered garbage
    │       └── CircuitOpenError     calls to an endpoint that kept failing, refused fast
    ├── GenerationError              a model ran but gave no usable answer (exit code 4)
    │   ├── ContextOverflowError     the prompt does not fit the model's context
    │   ├── StructuredOutputError    every attempt was red-flagged (invalid, truncated)
    │   └── RoleUnresolvedError      neither the small models nor the fallback settled it
    ├── RecursionLimitError          a graph ran more steps than its recursion_limit
    └── ToolServerError              an MCP server that would not start or died mid-run
                                     (exit code 3; in a job, its units are rejected)

Every message is one line: what was expected, what came, and how to fix it. The
structured fields (``role``, ``attempts``, ``last_output`` ...) are kept on the
instance for code that handles the error. ``escalatable`` says whether sending the
same request to a larger model (the escalation edge) may help.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "CircuitOpenError",
    "ConfigError",
    "ContentError",
    "ContextOverflowError",
    "DownloadError",
    "EndpointError",
    "ExportError",
    "GenerationError",
    "GraphDefinitionError",
    "GraphInputError",
    "InputError",
    "ModelFileError",
    "ModelSpecError",
    "ModelUnavailableError",
    "RecursionLimitError",
    "RoleDefinitionError",
    "RoleInputError",
    "RoleUnresolvedError",
    "SchemaError",
    "SmallAgentsError",
    "StateError",
    "StructuredOutputError",
    "ToolArgumentError",
    "ToolDefinitionError",
    "ToolServerError",
    "UsageError",
    # helpers every layer uses to keep secrets out of messages and files
    "redact",
    "redact_log_records",
    "register_secret",
]

# Secrets never written anywhere: keys an endpoint client was given, and the values
# of environment variables whose names say they hold one (not their paths or modes).
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_NOT_SECRET_NAME = re.compile(r"(_PATH|_FILE|_DIR|_MODE|_ENV)$", re.IGNORECASE)
_SHORTEST_SECRET = 8
_registered_secrets: set[str] = set()
# user:password@ in a URL; neither part may hold a quote or a backslash, so a match
# never reaches across a JSON string's end or into one of its escapes.
_URL_CREDENTIALS = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/@:\"'\\]+:[^\s/@\"'\\]*@")
# A credential after Bearer/Basic: 12 or more token characters, one a digit at least
# (so that prose such as "basic understanding" is left alone).
_AUTHORIZATION = re.compile(
    r"(?i)\b(bearer|basic)(\s+)(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}"
)
REDACTED = "***"
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def register_secret(value: str | None) -> None:
    """Never write ``value`` (an API key, a token) anywhere: ``redact`` removes it."""
    if value and len(value) >= _SHORTEST_SECRET:
        _registered_secrets.add(value)


def redact(text: str) -> str:
    """``text`` without secrets: registered keys, the values of ``*KEY*``, ``*TOKEN*``,
    ``*SECRET*``, ``*PASSWORD*`` environment variables, ``user:password@`` in URLs and
    ``Bearer``/``Basic`` credentials, each replaced by ``***``.

    Every error message goes through it, and so does every line a job writes
    (output, rejects, job state, report), so a server that echoes the request's
    ``Authorization`` header into its error body does not put the key in a file.
    """
    pattern = _secrets_pattern()
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    if "@" in text:
        text = _URL_CREDENTIALS.sub(rf"\1{REDACTED}@", text)
    return _AUTHORIZATION.sub(rf"\1\2{REDACTED}", text)


_pattern_cache: dict[str, Any] = {"key": None, "pattern": None}


def _secrets_pattern() -> re.Pattern[str] | None:
    """One pattern for every secret known now, rebuilt only when the environment or the
    registered keys change (a job calls ``redact`` for every line it writes)."""
    # os.environ's raw mapping compares in C; decoding every variable on each call
    # would cost more than the rest of the job's bookkeeping for a line.
    environment = getattr(os.environ, "_data", None)
    if environment is None:
        environment = dict(os.environ)
    key = _pattern_cache["key"]
    if key is None or key[0] != environment or key[1] != len(_registered_secrets):
        key = (dict(environment), len(_registered_secrets))
        secrets = set(_registered_secrets)
        for name, value in os.environ.items():
            if (
                len(value) >= _SHORTEST_SECRET
                and _SECRET_NAME.search(name)
                and not _NOT_SECRET_NAME.search(name)
            ):
                secrets.add(value)
        ordered = sorted(secrets, key=len, reverse=True)  # a longer secret wins an overlap
        _pattern_cache["pattern"] = (
            re.compile("|".join(map(re.escape, ordered))) if ordered else None
        )
        _pattern_cache["key"] = key
    pattern: re.Pattern[str] | None = _pattern_cache["pattern"]
    return pattern


def redact_log_records() -> None:
    """Make every log record of this process ``redact`` its message (HTTP clients log
    URLs, which may carry ``user:password@``). The ``smallagents`` command calls it; a
    program that embeds smallagents may call it too. Calling it again does nothing."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record stays as it is, for logging to report
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class SmallAgentsError(Exception):
    """Base class of every smallagents error.

    Its message and fix are `redact`-ed: no key or password reaches a terminal, a log
    or a reject through an error; and they are one line (a message built from a
    library's multi-line text is joined), so a terminal, a reject and a log show all of it.
    """

    code: str = "smallagents_error"
    exit_code: int = 1
    escalatable: bool = False

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        message = _LINE_BREAKS.sub(" ", redact(message)).strip()
        fix = _LINE_BREAKS.sub(" ", redact(fix)).strip() if fix else fix
        self.message = message
        self.fix = fix
        super().__init__(f"{message} Fix: {fix}" if fix else message)


class UsageError(SmallAgentsError):
    """Bad input from the caller: a spec, a path, a schema."""

    code = "usage_error"
    exit_code = 2


class ModelSpecError(UsageError):
    """A model spec that names no known scheme or is malformed."""

    code = "model_spec"

    def __init__(self, message: str, *, spec: str, fix: str | None = None) -> None:
        self.spec = spec
        super().__init__(message, fix=fix)


class ModelFileError(UsageError):
    """A model path that does not exist or does not hold a GGUF file."""

    code = "model_file"

    def __init__(self, message: str, *, path: str, fix: str | None = None) -> None:
        self.path = path
        super().__init__(message, fix=fix)


class SchemaError(UsageError):
    """A schema that is invalid, unknown, or cannot be turned into a grammar."""

    code = "schema"


def key_mismatch(missing: Sequence[str], unexpected: Sequence[str]) -> str:
    """``"missing a, b; unexpected c"``: the problem part of an input-keys error."""
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected {', '.join(unexpected)}")
    return "; ".join(parts)


class RoleDefinitionError(UsageError):
    """A role whose definition is wrong: found when it is defined, not when it runs."""

    code = "role_definition"

    def __init__(self, role: str, problem: str, *, fix: str) -> None:
        self.role = role
        super().__init__(f"Role {role!r}: {problem}.", fix=fix)


class RoleInputError(UsageError):
    """A role called with inputs that do not match its parameters."""

    code = "role_input"

    def __init__(self, role: str, problem: str, *, fix: str) -> None:
        self.role = role
        super().__init__(f"Role {role!r} input: {problem}.", fix=fix)


class ContentError(UsageError):
    """A module, file or folder of roles or graphs that cannot be loaded."""

    code = "content"


class GraphDefinitionError(UsageError):
    """A graph built wrong: an unknown node, a name used twice, a key not in the state."""

    code = "graph_definition"

    def __init__(self, graph: str, problem: str, *, fix: str) -> None:
        self.graph = graph
        super().__init__(f"Graph {graph!r}: {problem}.", fix=fix)


class GraphInputError(UsageError):
    """A graph invoked with inputs its input schema refuses, or on a thread of another run."""

    code = "graph_input"

    def __init__(self, graph: str, problem: str, *, fix: str) -> None:
        self.graph = graph
        super().__init__(f"Graph {graph!r} input: {problem}.", fix=fix)


class ToolDefinitionError(UsageError):
    """A tool whose definition is wrong: found when it is defined, not when it runs."""

    code = "tool_definition"

    def __init__(self, tool: str, problem: str, *, fix: str) -> None:
        self.tool = tool
        super().__init__(f"Tool {tool!r}: {problem}.", fix=fix)


class ToolArgumentError(UsageError):
    """A tool called with arguments that its parameter schema refuses."""

    code = "tool_argument"

    def __init__(self, tool: str, problem: str, *, fix: str) -> None:
        self.tool = tool
        super().__init__(f"Tool {tool!r} arguments: {problem}.", fix=fix)


class ExportError(UsageError):
    """A job output that cannot be exported as a dataset, or an export target in the way."""

    code = "export"


class ConfigError(UsageError):
    """A configuration file that cannot be used."""

    code = "config"


class InputError(UsageError):
    """An input file or record that cannot be read."""

    code = "input"


class StateError(UsageError):
    """A job state that does not belong to this job, or cannot be written."""

    code = "state"


class RecursionLimitError(SmallAgentsError):
    """A graph ran ``limit`` steps without reaching its end (a loop that never exits)."""

    code = "recursion_limit"

    def __init__(self, graph: str, limit: int) -> None:
        self.graph = graph
        self.limit = limit
        super().__init__(
            f"Graph {graph!r} ran {limit} steps without reaching END (recursion_limit={limit}).",
            fix="make the loop's exit condition reachable, or compile with a higher "
            "recursion_limit=.",
        )


class ToolServerError(SmallAgentsError):
    """An MCP server (see ``smallagents.tools``) that failed to start or stopped answering."""

    code = "tool_server"
    exit_code = 3

    def __init__(self, server: str, problem: str, *, fix: str) -> None:
        self.server = server
        super().__init__(f"MCP server {server!r}: {problem}.", fix=fix)


class ModelUnavailableError(SmallAgentsError):
    """The model exists in principle but cannot be reached now."""

    code = "model_unavailable"
    exit_code = 3
    escalatable = True


class DownloadError(ModelUnavailableError):
    """An ``hf:`` model could not be downloaded."""

    code = "download"
    escalatable = False


class EndpointError(ModelUnavailableError):
    """An OpenAI-compatible endpoint refused, failed or answered garbage."""

    code = "endpoint"

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        retry_after: float | None = None,
        fix: str | None = None,
    ) -> None:
        self.url = url
        self.status = status
        self.retry_after = retry_after
        """Seconds the server asked to wait (its ``Retry-After``), if it said."""
        super().__init__(message, fix=fix)


class CircuitOpenError(EndpointError):
    """An endpoint that failed too often in a row: refused here, without a request.

    ``retry_in`` is how many seconds remain before the circuit lets one probe through.
    """

    code = "circuit_open"

    def __init__(self, message: str, *, url: str, retry_in: float, fix: str) -> None:
        self.retry_in = retry_in
        super().__init__(message, url=url, fix=fix)


def is_unreachable(error: BaseException) -> bool:
    """Whether ``error`` says a model could not be reached right now (refused, timed out,
    circuit open): trying again later may work. A failed ``hf:`` download is not
    counted (offline stays offline until someone acts)."""
    return isinstance(error, ModelUnavailableError) and not isinstance(error, DownloadError)


class GenerationError(SmallAgentsError):
    """A model ran but did not give a usable answer."""

    code = "generation"
    exit_code = 4
    escalatable = True


class ContextOverflowError(GenerationError):
    """The prompt (plus room to answer) does not fit in the model's context."""

    code = "context_overflow"

    def __init__(self, *, model: str, prompt_tokens: int, n_ctx: int, max_tokens: int) -> None:
        self.model = model
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        super().__init__(
            f"Prompt of {prompt_tokens} tokens plus max_tokens={max_tokens} does not fit "
            f"the {n_ctx}-token context of {model}.",
            fix="shorten the prompt, lower max_tokens, or load the model with a larger n_ctx.",
        )


class StructuredOutputError(GenerationError):
    """Every attempt at a schema-constrained answer was red-flagged."""

    code = "structured_output"

    def __init__(
        self,
        *,
        model: str,
        schema_name: str,
        attempts: int,
        red_flags: Sequence[str],
        last_output: str,
        role: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        seconds: float = 0.0,
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.seconds = seconds
        self.model = model
        self.schema_name = schema_name
        self.attempts = attempts
        self.red_flags = tuple(red_flags)
        self.last_output = last_output
        self.role = role
        who = f"role {role!r} on {model}" if role else model
        last = red_flags[-1] if red_flags else "unknown"
        super().__init__(
            f"{who} gave no valid {schema_name} in {attempts} attempt(s); "
            f"last red flag: {last}; last output: {last_output[:120]!r}.",
            fix="raise attempts or max_tokens, simplify the schema, or set a fallback model.",
        )


class RoleUnresolvedError(GenerationError):
    """A role call that neither the small models nor a fallback could settle.

    ``record`` is the full ``smallagents.run.RoleRecord``, with the vote
    leader (if any) as its ``value``.
    """

    code = "role_unresolved"
    escalatable = False

    def __init__(self, record: object, *, role: str, reason: str, detail: str) -> None:
        self.record = record
        self.role = role
        self.reason = reason
        super().__init__(
            f"Role {role!r} unresolved ({reason}): {detail}.",
            fix="set fallback= to a larger model, raise the escalation budget, or use "
            "role.invoke() to keep the unresolved record.",
        )
