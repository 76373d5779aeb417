"""Loaded models, shared within one worker and never across threads.

Every role that names the same model spec with the same settings gets the same
instance from its worker's pool, so a 135M model is loaded once, not once per
role. A pool belongs to one worker thread: llama.cpp instances are not
thread-safe, and two single-thread instances on two cores beat one instance with
two threads that another worker keeps busy (FACTS.md: 16x slower).
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from smallagents.models.base import Model
from smallagents.models.spec import parse_spec


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads(workers: int = 1) -> int:
    """Decode threads per model so that ``workers`` busy workers fill the cores, no more.

    ``SMALLAGENTS_THREADS`` overrides it. Measured on 2 cores (README): one
    uncontended instance decodes 1.8x faster with 2 threads than with 1, but two
    instances with 2 threads each oversubscribe the cores and collapse.
    """
    override = os.environ.get("SMALLAGENTS_THREADS")
    if override and override.isdigit() and int(override) > 0:
        return int(override)
    return max(1, available_cores() // max(1, workers))


class ModelPool:
    """The models of one worker, keyed by resolved spec and settings."""

    def __init__(
        self,
        *,
        threads: int | None = None,
        endpoints: Mapping[str, Mapping[str, Any]] | None = None,
        shared: SharedInstances | None = None,
        prefix_cache_mb: float | None = None,
    ) -> None:
        """An empty pool; models load on first use.

        Args:
            threads: decode threads of each llama.cpp model (default: all cores).
            endpoints: settings for ``openai:`` models by base URL, ``default`` for
                every endpoint (``timeout``, ``deadline``, ``retries``, ``backoff``,
                ``breaker_threshold``, ``breaker_cooldown``); options given to
                ``load`` win over them.
            shared: in-process models shared with other pools (a job with more
                workers than cores); this pool then neither builds nor closes them.
            prefix_cache_mb: each llama.cpp model's prefix-cache memory (default: the
                model's, ``SMALLAGENTS_PREFIX_CACHE_MB`` or 256); options given to
                ``load`` win over it.
        """
        self.threads = threads or default_threads()
        self.prefix_cache_mb = prefix_cache_mb
        self.endpoints = {url: dict(settings) for url, settings in (endpoints or {}).items()}
        self._models: dict[tuple[str, tuple[tuple[str, Any], ...]], Model] = {}
        self._named: dict[str, Model] = {}
        self._lock = threading.Lock()
        self._shared = shared
        self._slot = shared.join() if shared is not None else 0
        _open_pools.add(self)

    def register(self, name: str, model: Model) -> None:
        """Serve ``model`` for the spec ``name`` (a custom backend, or a fake in tests)."""
        with self._lock:
            self._named[name] = model

    def load(self, spec: str | None = None, **options: Any) -> Model:
        """Return the pool's instance for ``spec`` and ``options``, loading it on first use."""
        named = self._named.get(spec or "default")
        if named is not None and not options:
            return named
        parsed = parse_spec(spec)
        key = (f"{parsed.kind}:{parsed.target}#{parsed.detail}", tuple(sorted(options.items())))
        if self._shared is not None and parsed.kind != "openai":
            return self._shared.get(
                key,
                self._slot,
                lambda: self._build(parsed.kind, parsed.target, parsed.detail, options),
            )
        with self._lock:
            model = self._models.get(key)
            if model is None:
                model = self._build(parsed.kind, parsed.target, parsed.detail, options)
                self._models[key] = model
            return model

    def _build(self, kind: str, target: str, detail: str, options: dict[str, Any]) -> Model:
        if kind == "openai":
            from smallagents.models.openai import OpenAIModel

            configured = {
                **self.endpoints.get("default", {}),
                **self.endpoints.get(target.rstrip("/"), {}),
            }
            return OpenAIModel(target, detail, **{**configured, **options})
        from smallagents.models.llama import LlamaModel

        defaults: dict[str, Any] = {"n_threads": self.threads}
        if self.prefix_cache_mb is not None:
            defaults["prefix_cache_mb"] = self.prefix_cache_mb
        options = {**defaults, **options}
        if kind == "embedded":
            from smallagents.models.embedded import EMBEDDED, embedded_path

            return LlamaModel(embedded_path(target), name=EMBEDDED[target].alias, **options)
        if kind == "hf":
            from smallagents.models.hf import download_gguf

            path = download_gguf(target, detail)
            return LlamaModel(path, name=f"hf:{target}/{detail}", **options)
        return LlamaModel(target, **options)

    def prompt_counts(self) -> dict[str, tuple[int, int]]:
        """Prompt tokens ``(evaluated, reused)`` per role, summed over the pool's models."""
        with self._lock:
            models = {id(m): m for m in [*self._models.values(), *self._named.values()]}
        total: dict[str, tuple[int, int]] = {}
        for model in models.values():
            for role, (evaluated, reused) in model.prompt_counts().items():
                before = total.get(role, (0, 0))
                total[role] = (before[0] + evaluated, before[1] + reused)
        return total

    def close(self) -> None:
        """Release every model in the pool."""
        with self._lock:
            for model in self._models.values():
                model.close()
            self._models.clear()

    def __len__(self) -> int:
        return len(self._models)


class SharedInstances:
    """In-process models shared by the worker pools of one job: ``limit`` instances per spec.

    An endpoint is bound by its server's latency, not by this machine's cores, so a
    job may run many more workers than cores, each keeping a request in flight;
    in-process models must not multiply with them (each is a full copy of the
    weights and wants a core). Worker ``i`` uses instance ``i % limit`` of a spec;
    a ``smallagents.models.llama.LlamaModel`` serializes its calls under its
    own lock, so workers that share one take turns on it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._instances: dict[tuple[Any, int], Model] = {}
        self._joined = 0
        self._lock = threading.Lock()

    def join(self) -> int:
        """The next worker's index."""
        with self._lock:
            self._joined += 1
            return self._joined - 1

    def get(self, key: Any, worker: int, build: Any) -> Model:
        """Worker ``worker``'s instance for ``key``, built by ``build()`` on first use."""
        slot = (key, worker % self.limit)
        with self._lock:
            model = self._instances.get(slot)
            if model is None:
                model = self._instances[slot] = build()
            return model

    def __len__(self) -> int:
        return len(self._instances)

    def close(self) -> None:
        """Release every shared instance."""
        with self._lock:
            for model in self._instances.values():
                model.close()
            self._instances.clear()


_open_pools: weakref.WeakSet[ModelPool] = weakref.WeakSet()


@atexit.register
def _close_open_pools() -> None:
    # llama.cpp models freed by the garbage collector during interpreter shutdown
    # print tracebacks (their C library is already unloaded); close them first.
    for pool in list(_open_pools):
        pool.close()


_thread_pools = threading.local()


def thread_pool() -> ModelPool:
    """The calling thread's own pool, created on first use."""
    pool: ModelPool | None = getattr(_thread_pools, "pool", None)
    if pool is None:
        pool = ModelPool()
        _thread_pools.pool = pool
    return pool


def use_thread_pool(pool: ModelPool | None) -> None:
    """Make ``pool`` the calling thread's pool (a job's worker owns its models);
    ``None`` forgets it, so that the next ``thread_pool()`` makes a fresh one."""
    _thread_pools.pool = pool


def current_thread_pool() -> ModelPool | None:
    """The calling thread's pool, if it has one yet."""
    pool: ModelPool | None = getattr(_thread_pools, "pool", None)
    return pool
