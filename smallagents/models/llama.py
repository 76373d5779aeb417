"""GGUF models run in process by llama-cpp-python.

Three measured facts shape this module (see FACTS.md and ``benchmarks/decode.py``):

* one thread per instance: on two busy cores, two threads fell 16x, while two
  single-thread instances in two Python threads ran 1.9x one (ctypes drops the GIL);
* back-to-back calls with the same prompt reuse its prefill automatically, so the
  votes on one prompt pay for the prompt once; nothing here resets the cache;
* a base model has no chat template, and wrapping its prompt in a foreign one
  ruins few-shot accuracy, so messages for it are joined as plain text.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smallagents.errors import ContextOverflowError, ModelFileError
from smallagents.models.base import Completion, Model, Prompt
from smallagents.structured.grammar import GrammarEngine, tokenizer_for
from smallagents.structured.schema import CompiledSchema

if TYPE_CHECKING:
    import llama_cpp

GGUF_MAGIC = b"GGUF"
DEFAULT_N_CTX = 4096
DEFAULT_THREADS = 1


def check_gguf(path: Path) -> None:
    """Raise a one-line :class:`ModelFileError` unless ``path`` is a readable GGUF file."""
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
        """
        import llama_cpp

        self.path = Path(path).resolve()
        check_gguf(self.path)
        self.name = name or self.path.name
        self.n_ctx = n_ctx
        self._lock = threading.Lock()
        self._llm: llama_cpp.Llama = llama_cpp.Llama(
            model_path=str(self.path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            verbose=False,
        )
        template = self._llm.metadata.get("tokenizer.chat_template")
        use_template = bool(template) if chat_template is None else chat_template and bool(template)
        self._formatter: Any = None
        if use_template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            vocab = self._llm._model
            self._formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=vocab.token_get_text(self._llm.token_eos()),
                bos_token=vocab.token_get_text(self._llm.token_bos()),
            )
        self._grammar: GrammarEngine | None = None

    @property
    def has_chat_template(self) -> bool:
        """Whether chat messages are rendered with the model's own template."""
        return self._formatter is not None

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees for ``prompt``.

        With a chat template, a plain string is one user turn. Without one, message
        contents are joined by blank lines: plain completion text, never a foreign
        template.
        """
        if self._formatter is None:
            if isinstance(prompt, str):
                return prompt
            return "\n\n".join(message["content"] for message in prompt)
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        return str(self._formatter(messages=[dict(m) for m in messages]).prompt)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` as this model reads it (special tokens parsed)."""
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))

    def _engine(self) -> GrammarEngine:
        if self._grammar is None:
            tokenizer = tokenizer_for(self._llm, str(self.path))
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
        import llama_cpp

        with self._lock:
            tokens = self.tokenize(self.render(prompt))
            if len(tokens) + max_tokens > self.n_ctx:
                raise ContextOverflowError(
                    model=self.name,
                    prompt_tokens=len(tokens),
                    n_ctx=self.n_ctx,
                    max_tokens=max_tokens,
                )
            processor = self._engine().processor(schema) if schema is not None else None
            started = time.perf_counter()
            try:
                result: Any = self._llm.create_completion(
                    tokens,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    seed=seed,
                    stop=list(stop) if stop else None,
                    repeat_penalty=1.0,
                    logits_processor=(
                        llama_cpp.LogitsProcessorList([processor]) if processor else None
                    ),
                )
            finally:
                if processor is not None and schema is not None:
                    self._engine().release(processor, schema)
            seconds = time.perf_counter() - started
        choice = result["choices"][0]
        usage = result["usage"]
        return Completion(
            text=choice["text"],
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            finish_reason="length" if choice["finish_reason"] == "length" else "stop",
            seconds=seconds,
        )

    def close(self) -> None:
        with self._lock:
            self._llm.close()
