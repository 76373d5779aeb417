"""The llguidance tokenizer of a GGUF file, built once per file from a vocabulary-only load."""

from __future__ import annotations

import atexit
import threading
import warnings
from typing import TYPE_CHECKING

from smallagents.models.native import NATIVE_LOCK, native_load

if TYPE_CHECKING:
    import llama_cpp
    import llguidance


_tokenizers: dict[str, tuple[llguidance.LLTokenizer, llama_cpp.Llama]] = {}
_tokenizers_lock = threading.Lock()


def tokenizer_for(model_path: str) -> llguidance.LLTokenizer:
    """The llguidance tokenizer of a GGUF file, built once per file.

    llguidance keeps a pointer to the llama.cpp vocabulary it was built from, so it
    is built from a vocabulary-only load of the file that this cache owns for the
    life of the process, not from a model instance that a pool may close (a
    tokenizer outliving its instance crashed the process).
    """
    with _tokenizers_lock:
        cached = _tokenizers.get(model_path)
        if cached is not None:
            return cached[0]
        import llama_cpp
        from llguidance.llamacpp import lltokenizer_from_vocab

        with native_load():
            vocab_only = llama_cpp.Llama(model_path=model_path, vocab_only=True, verbose=False)
        with warnings.catch_warnings():
            # llguidance reads token attributes through a llama.cpp call that
            # llama-cpp-python marks deprecated: one warning per vocabulary entry.
            warnings.simplefilter("ignore", DeprecationWarning)
            built = lltokenizer_from_vocab(vocab_only._model.vocab, n_vocab=vocab_only.n_vocab())
        _tokenizers[model_path] = (built, vocab_only)
        return built


@atexit.register
def _release_vocabularies() -> None:
    # Freed by the garbage collector at shutdown, llama.cpp objects print tracebacks.
    with _tokenizers_lock:
        for _, vocab_only in _tokenizers.values():
            with NATIVE_LOCK:
                vocab_only.close()
        _tokenizers.clear()
