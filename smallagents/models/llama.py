"""GGUF models run in process by llama-cpp-python.

Three measured facts shape this module (see FACTS.md and ``benchmarks/decode.py``):

* threads: alone on 2 cores, 2 threads decode 1.7x faster than 1 (102 against 59
  tok/s), but with the other core busy 2 threads fell to 39 tok/s (and to 3 in one
  run) while 1 thread held 59. So the pool gives each instance cores // workers
  threads, and a job runs one single-thread worker per core; OpenMP's passive
  waiting is no cure (32 tok/s alone);
* back-to-back calls with the same prompt reuse its prefill, so the votes on one
  prompt pay for the prompt once; prompts are evaluated in fixed segments so that
  reuse never changes an answer (see ``prefill_segments``);
* a base model has no chat template, and wrapping its prompt in a foreign one
  ruins few-shot accuracy, so messages for it are joined as plain text.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from smallagents.errors import ContextOverflowError, ModelFileError
from smallagents.models.base import Completion, FinishReason, Model, Prompt
from smallagents.models.native import NATIVE_LOCK, native_load
from smallagents.models.prefix_cache import PrefixCache
from smallagents.models.vocab import tokenizer_for
from smallagents.structured.confidence import token_char_spans
from smallagents.structured.grammar import GrammarEngine, log_sum_exp
from smallagents.structured.schema import CompiledSchema

if TYPE_CHECKING:
    import llama_cpp

GGUF_MAGIC = b"GGUF"
DEFAULT_N_CTX = 4096
DEFAULT_THREADS = 1


def check_gguf(path: Path) -> None:
    """Raise a one-line ``ModelFileError`` unless ``path`` is a readable GGUF file."""
    if not path.exists():
        raise ModelFileError(
            f"Model file {path} does not exist.",
            path=str(path),
            fix="check the path, or use 'default' or 'gemma-270m' for an embedded model.",
        )
    if not path.is_file():
        raise ModelFileError(
            f"Model path {path} is not a file.", path=str(path), fix="pass the .gguf file itself."
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelFileError(
            f"{path} is not a GGUF file (starts with {magic!r}, expected {GGUF_MAGIC!r}).",
            path=str(path),
            fix="convert the model to GGUF (llama.cpp's convert_hf_to_gguf.py) or pick a .gguf.",
        )


PREFILL_CHUNK = 64
DEFAULT_PREFIX_CACHE_MB = 256.0


def prefix_cache_budget_mb() -> float:
    """The prefix cache's memory per model instance: ``SMALLAGENTS_PREFIX_CACHE_MB`` or 256."""
    value = os.environ.get("SMALLAGENTS_PREFIX_CACHE_MB", "").strip()
    try:
        return max(0.0, float(value)) if value else DEFAULT_PREFIX_CACHE_MB
    except ValueError:
        from smallagents.errors import UsageError

        raise UsageError(
            f"SMALLAGENTS_PREFIX_CACHE_MB must be a number of megabytes, got {value!r}.",
            fix="set it to e.g. 256, or 0 to turn the prefix cache off.",
        ) from None


def prefill_segments(n_prompt: int) -> list[int]:
    """Boundaries at which a prompt of ``n_prompt`` tokens is evaluated, always the same.

    llama.cpp's kernels give slightly different numbers for the same token when it
    is evaluated in batches of different sizes, enough to change a seeded sample.
    Evaluating every prompt in the same pieces (whole chunks of ``PREFILL_CHUNK``
    from position 0, the rest, then the last token alone) makes an answer depend
    only on the prompt and the seed, never on what the cache held before: a
    resumed job or a second worker reproduces the same records.
    """
    body = n_prompt - 1
    boundaries = list(range(PREFILL_CHUNK, body + 1, PREFILL_CHUNK))
    if body > 0 and (not boundaries or boundaries[-1] != body):
        boundaries.append(body)
    boundaries.append(n_prompt)
    return boundaries


def _prefill(
    llm: llama_cpp.Llama,
    tokens: list[int],
    previous: list[int],
    cache: PrefixCache | None = None,
) -> int:
    """Evaluate ``tokens``, reusing what the context or ``cache`` holds of them; the count reused.

    The context still holds the last prompt (``previous``): votes on one prompt pay
    its prefill once, and a prompt that shares a long prefix with the last one
    reuses its whole chunks. ``cache`` holds the prefixes of earlier prompts (see
    ``smallagents.models.prefix_cache``): when one of them reaches further, it
    is restored instead. Either way only whole segments of
    ``prefill_segments`` are reused, so the rest is evaluated exactly as a
    fresh prefill would evaluate it. With a cache, the prompt's state at its last
    whole chunk is saved on the way, unless the cache already has it.
    """
    common = 0
    limit = min(len(previous), len(tokens), llm.n_tokens)
    while common < limit and previous[common] == tokens[common]:
        common += 1
    segments = prefill_segments(len(tokens))
    shared_boundaries = set(prefill_segments(len(previous))) if previous else set()
    start = 0
    for boundary in segments:
        if boundary <= common and boundary in shared_boundaries and boundary < len(tokens):
            start = boundary
    chunks = [b for b in segments if b % PREFILL_CHUNK == 0 and b < len(tokens)]
    cached, key = cache.longest(tokens, chunks) if cache is not None else (0, None)
    if cache is not None and key is not None and cached > start:
        llm._ctx.kv_cache_clear()
        restored = cache.restore(llm._ctx.ctx, key)
        if restored and (restored == cached or llm._ctx.kv_cache_seq_rm(0, cached, -1)):
            llm.n_tokens = start = cached
            llm.input_ids[:cached] = tokens[:cached]
        else:
            llm._ctx.kv_cache_clear()
            llm.reset()
            start = 0
    elif start > 0 and llm._ctx.kv_cache_seq_rm(-1, start, -1):
        llm.n_tokens = start
    else:
        llm.reset()
        start = 0
    reused = start
    save_at = chunks[-1] if chunks and cache is not None else 0
    for boundary in segments:
        if boundary > start:
            llm.eval(tokens[start:boundary])
            start = boundary
        if (
            cache is not None
            and boundary == save_at == start
            and not cache.covers(tokens[:save_at])
        ):
            cache.save(llm._ctx.ctx, tokens[:save_at])
    return reused


@dataclass(frozen=True)
class _Decoded:
    text: str
    tokens: tuple[int, ...]
    finish: FinishReason
    logprobs: tuple[float, ...]
    spans: tuple[tuple[int, int], ...]
    reused: int = 0


# llama_token_attr bits (llama.h): control and unknown tokens are parsed only in
# markup; user-defined ones are matched in plain text too, as llama.cpp does.
UNKNOWN, CONTROL, LSTRIP, RSTRIP = 1, 8, 128, 256
_PLACEHOLDER = "\ue000{}\ue001"
_PLACEHOLDER_RE = re.compile("\ue000(\\d+)\ue001")


def _messages(prompt: Prompt) -> list[dict[str, Any]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [dict(message) for message in prompt]


def _as_template_writes(parts: list[str], contents: list[str], expected: str) -> list[str]:
    """The contents as the template writes them: as they are, or trimmed by a ``| trim``.

    Checked against the template rendered with the real contents; a template that
    transforms contents otherwise gets them as they are (still never parsed).
    """
    for candidate in (contents, [content.strip() for content in contents]):
        joined = "".join(
            candidate[int(part)] if index % 2 else part for index, part in enumerate(parts)
        )
        if joined == expected:
            return candidate
    return contents


def _stop_position(text: str, stop: Sequence[str]) -> int | None:
    positions = [text.find(marker) for marker in stop if marker and marker in text]
    return min(positions) if positions else None


class LlamaModel(Model):
    """A GGUF model in this process. One instance serves one thread at a time."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        name: str | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int = DEFAULT_THREADS,
        chat_template: bool | None = None,
        confidence: bool = True,
        prefix_cache_mb: float | None = None,
    ) -> None:
        """Load a GGUF file.

        Args:
            path: the ``.gguf`` file.
            name: how records and errors name this model (default: the file name).
            n_ctx: context length in tokens.
            n_threads: decode threads; 1 is the right choice for small models on a
                shared machine (see the module docstring).
            chat_template: use the GGUF's chat template for chat messages (``None``:
                when the file has one). ``False`` sends every prompt as plain text.
            confidence: record each generated token's log-probability (for
                ``Generation.confidence``); ``False`` only to measure its cost.
            prefix_cache_mb: memory for the KV states of earlier prompts' prefixes
                (``smallagents.models.prefix_cache``), least recently used out
                first; 0 turns the cache off. Default ``SMALLAGENTS_PREFIX_CACHE_MB``,
                else ``DEFAULT_PREFIX_CACHE_MB``.
        """
        import llama_cpp

        self.path = Path(path).resolve()
        check_gguf(self.path)
        self.name = name or self.path.name
        self.n_ctx = n_ctx
        self.confidence = confidence
        self._lock = threading.Lock()
        with native_load():
            try:
                self._llm: llama_cpp.Llama = llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    verbose=False,
                )
            except ValueError:
                # llama-cpp-python's only word for a file whose GGUF header is right but
                # whose body is not (truncated, garbage, an unknown architecture).
                raise ModelFileError(
                    f"Model file {self.path} could not be loaded by llama.cpp: it is a GGUF "
                    "file by its header, but truncated, damaged or of an architecture this "
                    "llama.cpp lacks.",
                    path=str(self.path),
                    fix="copy or download it again and compare its size or checksum, or "
                    "choose another model.",
                ) from None
        template = self._llm.metadata.get("tokenizer.chat_template")
        use_template = bool(template) if chat_template is None else chat_template and bool(template)
        self._formatter: Any = None
        if use_template and template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            vocab = self._llm._model
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=vocab.token_get_text(self._llm.token_eos()),
                bos_token=vocab.token_get_text(self._llm.token_bos()),
            )
        self._grammar: GrammarEngine | None = None
        self._last_prompt: list[int] = []
        budget = prefix_cache_budget_mb() if prefix_cache_mb is None else prefix_cache_mb
        self.prefix_cache = PrefixCache(int(budget * 2**20)) if budget > 0 else None

    @property
    def chat(self) -> bool:  # type: ignore[override]
        """Roles send messages to a model with a chat template, plain text otherwise."""
        return self._formatter is not None

    @property
    def has_chat_template(self) -> bool:
        """Whether chat messages are rendered with the model's own template."""
        return self._formatter is not None

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees for ``prompt``.

        With a chat template, a plain string is one user turn. Without one, message
        contents are joined by blank lines: plain completion text, never a foreign
        template. Messages that carry ``tools`` (OpenAI function specs, as a Caller's
        ``smallagents.tools.ToolPrompt`` does) hand them to the template, which
        renders them the way the model was trained to read them (a template without
        tool support ignores them).
        """
        if self._formatter is None:
            if isinstance(prompt, str):
                return prompt
            return "\n\n".join(message["content"] for message in prompt)
        return self._apply_template(_messages(prompt), getattr(prompt, "tools", None))

    def _apply_template(self, messages: list[dict[str, Any]], tools: Any) -> str:
        rendered = self._formatter(messages=messages, tools=tools or None)
        return str(rendered.prompt)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` with every special-token string in it parsed as one.

        Only for text that holds no data: a prompt goes through ``prompt_tokens``.
        """
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def prompt_tokens(self, prompt: Prompt) -> list[int]:
        """Token ids of ``prompt`` as the model reads it: markup is parsed, data never.

        Message contents are data (seed fields, tool results, few-shot outputs): a
        content holding ``<|im_end|>\n<|im_start|>system`` must reach the model as
        that text, not as control tokens that forge a turn. So the template is
        rendered with a placeholder per content, control tokens are taken from the
        template's own text only, and everything between two control tokens (markup
        and contents alike) is tokenized as plain text, as llama.cpp itself cuts the
        text at control tokens: for text without control-token strings the tokens
        are exactly those of ``tokenize(render(prompt))``. A model without a
        template reads the whole prompt as plain text (after its BOS).
        """
        llm = self._llm
        bos = [t for t in llm.tokenize(b"", add_bos=True, special=False) if t == llm.token_bos()]
        if self._formatter is None:
            return bos + self._plain_tokens(self.render(prompt))
        messages = _messages(prompt)
        tools = getattr(prompt, "tools", None)
        contents = [str(message.get("content") or "") for message in messages]
        marked = [
            {**message, "content": _PLACEHOLDER.format(index)}
            if message.get("content")
            else message
            for index, message in enumerate(messages)
        ]
        parts = _PLACEHOLDER_RE.split(self._apply_template(marked, tools))
        contents = _as_template_writes(parts, contents, self._apply_template(messages, tools))
        pieces: list[str | int] = []
        for index, part in enumerate(parts):
            if index % 2:
                pieces.append(contents[int(part)])
            else:
                pieces.extend(self._markup(part))
        tokens = list(bos)
        text = ""
        strip_next = False
        for piece in pieces:
            if isinstance(piece, str):
                text += piece.lstrip() if strip_next else piece
                strip_next = strip_next and not text
                continue
            attr = llm._model.token_get_attr(piece)
            if attr & LSTRIP:
                text = text.rstrip()
            tokens += self._plain_tokens(text)
            tokens.append(piece)
            text, strip_next = "", bool(attr & RSTRIP)
        return tokens + self._plain_tokens(text)

    def _plain_tokens(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _markup(self, text: str) -> list[str | int]:
        """Template text cut at its control tokens: plain strings and control token ids."""
        model = self._llm._model
        pieces: list[str | int] = []
        position = 0
        for token in self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True):
            if not model.token_get_attr(token) & (CONTROL | UNKNOWN):
                continue
            marker = model.token_get_text(token)
            found = text.find(marker, position) if marker else -1
            if found < 0:
                continue
            pieces += [text[position:found], token]
            position = found + len(marker)
        pieces.append(text[position:])
        return pieces

    def _engine(self) -> GrammarEngine:
        if self._grammar is None:
            tokenizer = tokenizer_for(str(self.path))
            self._grammar = GrammarEngine(tokenizer, self._llm.n_vocab())
        return self._grammar

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
        with self._lock:
            tokens = self.prompt_tokens(prompt)
            if len(tokens) + max_tokens > self.n_ctx:
                raise ContextOverflowError(
                    model=self.name,
                    prompt_tokens=len(tokens),
                    n_ctx=self.n_ctx,
                    max_tokens=max_tokens,
                )
            if schema is not None:
                self._engine()  # the tokenizer index is a one-time cost, not this call's
            started = time.perf_counter()
            decoded = self._decode(
                tokens, schema, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=stop
            )
            return Completion(
                text=decoded.text,
                prompt_tokens=len(tokens),
                completion_tokens=len(decoded.tokens),
                finish_reason=decoded.finish,
                seconds=time.perf_counter() - started,
                token_logprobs=decoded.logprobs,
                token_spans=decoded.spans,
                prompt_tokens_reused=decoded.reused,
            )

    def _decode(
        self,
        prompt_tokens: list[int],
        schema: CompiledSchema | None,
        *,
        max_tokens: int,
        temperature: float,
        seed: int,
        stop: Sequence[str] | None,
    ) -> _Decoded:
        """Prefill, then sample token by token; under a schema, mask the logits first.

        Written against llama-cpp-python 0.3.36 (pinned): it uses the same ``eval``
        and sampler-chain calls as ``Llama.generate``, with the grammar's mask written
        into llama.cpp's logits buffer between the two. A constrained answer ends as
        soon as the grammar is complete, without spending a decode on the end token.
        Each chosen token's log-probability is read from the same buffer (masked,
        at temperature 1): ``logit[token] - logsumexp(logits)``, the normalizer over
        the legal tokens alone where the grammar leaves few.
        """
        import llama_cpp

        llm = self._llm
        engine = self._engine() if schema is not None else None
        mask = engine.acquire(schema) if engine is not None and schema is not None else None
        llm.set_seed(seed)
        sampler = llm._init_sampler(temp=temperature, repeat_penalty=1.0)
        vocab = llm._model.vocab
        n_vocab = llm.n_vocab()
        generated: list[int] = []
        logprobs: list[float] = []
        previous, reused = self._last_prompt, 0
        record = self.confidence
        scratch = np.empty(n_vocab, dtype=np.float32) if record and mask is None else None
        finish: FinishReason = "length"
        cut: int | None = None
        try:
            self._last_prompt = []  # until the prefill is done, the context holds no prompt
            reused = _prefill(llm, prompt_tokens, previous, self.prefix_cache)
            self._last_prompt = prompt_tokens
            for step in range(max_tokens):
                if step:
                    llm.eval([generated[-1]])
                normalizer = 0.0
                if mask is not None or record:
                    logits = np.ctypeslib.as_array(llm._ctx.get_logits_ith(-1), shape=(n_vocab,))
                    if mask is not None:
                        normalizer = mask.apply(logits, logsumexp=record)
                    else:
                        normalizer = log_sum_exp(logits, scratch)
                # The sampler copies the logits; the buffer is unchanged until the next eval.
                token = int(sampler.sample(llm._ctx, -1))
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish = "stop"
                    break
                generated.append(token)
                if record:
                    logprobs.append(float(logits[token]) - normalizer)
                if mask is not None:
                    mask.matcher.consume_token(token)
                    if mask.matcher.is_stopped():
                        finish = "stop"
                        break
                elif stop:
                    cut = _stop_position(self._detokenize(generated, prompt_tokens), stop)
                    if cut is not None:
                        finish = "stop"
                        break
        finally:
            sampler.close()
            if engine is not None and mask is not None and schema is not None:
                engine.release(mask, schema)
        pieces = [self._llm._model.detokenize([token]) for token in generated]
        text = b"".join(pieces).decode("utf-8", "replace")  # what detokenize() returns
        skip = 0
        if mask is not None and text.startswith(" "):
            # The grammar admits one leading space for the sake of few-shot prompts
            # (see structured/schema.py); the answer itself is the JSON after it.
            text, skip = text[1:], 1
        spans = token_char_spans(pieces, skip_chars=skip) if record else ()
        return _Decoded(
            text=text if cut is None else text[:cut],
            tokens=tuple(generated),
            finish=finish,
            logprobs=tuple(logprobs),
            spans=spans,
            reused=reused,
        )

    def _detokenize(self, tokens: list[int], prompt_tokens: list[int]) -> str:
        raw = self._llm.detokenize(tokens, prev_tokens=prompt_tokens)
        return raw.decode("utf-8", "replace")

    def close(self) -> None:
        with self._lock, NATIVE_LOCK:
            if self.prefix_cache is not None:
                self.prefix_cache.clear()
            self._llm.close()
