"""Bounded, thread-safe LRU caches with single-flight misses and statistics.

* :class:`LRUCache` — the generic building block: ``get_or_create(key, factory)``
  runs ``factory`` once per key even when many threads miss at the same time
  (the others wait for the first one's result or exception).
* :class:`ConstraintCache` — compiled constraints keyed by fingerprint, with an
  alias layer keyed by the raw request constraint so that a repeated request
  skips normalization entirely (the hit path is one dict lookup plus a hash
  of the raw input), and, per tokenizer, ready ``llguidance.LLMatcher``
  templates that requests ``deep_copy()``.
"""

from __future__ import annotations

import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from ananke.core._compiler import compile_with_matchers

__all__ = [
    "CacheStats",
    "ConstraintCache",
    "LRUCache",
    "MatcherSet",
    "raw_key",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class CacheStats:
    """Counters of one cache; ``hit_rate`` is hits / (hits + misses)."""

    name: str
    hits: int
    misses: int
    evictions: int
    size: int
    maxsize: int

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hit_rate": round(self.hit_rate, 4)}


class _Pending:
    """A miss being computed by one thread; the others wait on ``event``."""

    __slots__ = ("error", "event", "value")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class LRUCache(Generic[K, V]):
    """A bounded least-recently-used map, safe to share between threads.

    ``maxsize`` ≥ 1.  Failed factories are not cached: their exception goes
    to the caller and to every thread that waited on the same key.
    """

    def __init__(self, maxsize: int = 256, name: str = "cache") -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.name = name
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()
        self._pending: dict[K, _Pending] = {}
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._evictions = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: K, default: V | None = None) -> V | None:
        """The cached value (counted as a hit) or ``default`` (a miss)."""
        with self._lock:
            try:
                value = self._data[key]
            except KeyError:
                self._misses += 1
                return default
            self._data.move_to_end(key)
            self._hits += 1
            return value

    def peek(self, key: K, default: V | None = None) -> V | None:
        """Like :meth:`get` without touching recency or counters."""
        return self._data.get(key, default)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._store(key, value)

    def _store(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)
            self._evictions += 1

    def get_or_create(self, key: K, factory: Callable[[], V]) -> tuple[V, bool]:
        """Return ``(value, hit)``; on a miss run ``factory`` once (single flight)."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self._hits += 1
                return self._data[key], True
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                self._misses += 1
                pending = self._pending[key] = _Pending()
        if not owner:
            pending.event.wait()
            if pending.error is not None:
                raise pending.error
            with self._lock:
                self._hits += 1
            return pending.value, True
        try:
            value = factory()
        except BaseException as exc:
            pending.error = exc
            with self._lock:
                del self._pending[key]
            pending.event.set()
            raise
        pending.value = value
        with self._lock:
            self._store(key, value)
            del self._pending[key]
        pending.event.set()
        return value, False

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def resize(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        with self._lock:
            self.maxsize = maxsize
            while len(self._data) > maxsize:
                self._data.popitem(last=False)
                self._evictions += 1

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.name, self._hits, self._misses, self._evictions, len(self._data), self.maxsize)


def raw_key(source: Any) -> Hashable | None:
    """A cheap exact key for a raw request constraint, or None when it has none.

    Strings and bytes key as themselves (hashing is C speed).  Dicts and lists
    key by their pickle (about 2.5× faster than a JSON dump; equal inputs
    built differently may pickle differently, which costs a miss on this
    layer, never a wrong hit).  File paths and other objects return None.
    """
    if isinstance(source, bytes):
        return source
    if isinstance(source, str):
        # a short one-line string may name a file whose content can change: no key
        if "\n" not in source and len(source) < 1024 and os.path.exists(source):
            return None
        return source
    if isinstance(source, (dict, list)):
        try:
            return ("pickle", pickle.dumps(source, protocol=5))
        except Exception:  # anything unpicklable simply has no fast key
            return None
    return None


class MatcherSet:
    """Ready matchers for one compiled constraint and one tokenizer.

    ``templates`` holds one initialised ``LLMatcher`` per grammar; requests
    call :meth:`fork` to get private copies (``deep_copy`` is far cheaper
    than building a matcher from grammar text).  ``build_ms`` is the time
    the templates took to build.
    """

    __slots__ = ("_lock", "build_ms", "templates")

    def __init__(self, templates: list[Any], build_ms: float) -> None:
        self.templates = templates
        self.build_ms = build_ms
        self._lock = threading.Lock()

    def fork(self) -> list[Any]:
        with self._lock:  # deep_copy reads the template; keep copies from racing each other
            return [m.deep_copy() for m in self.templates]


class ConstraintCache:
    """Compiled constraints (by fingerprint and by raw request) and per-tokenizer matchers.

    ``compile_fn(source, lenient=..., tokenizer=..., kind=...)`` defaults to
    :func:`ananke.compile`, which, given an ``llguidance.LLTokenizer``, validates
    each grammar by building its matcher: those become the ready matchers for
    that tokenizer (``get_matchers`` hits without building).  Both layers are
    single-flight: concurrent misses on the same constraint compile it once.
    """

    def __init__(
        self, maxsize: int = 256, matcher_maxsize: int | None = None, compile_fn: Callable[..., Any] | None = None
    ) -> None:
        self._compile_fn = compile_fn
        self.compiled: LRUCache[str, Any] = LRUCache(maxsize, "compiled")
        self.requests: LRUCache[Hashable, str] = LRUCache(maxsize * 4, "requests")
        self.matchers: LRUCache[tuple[int, str], MatcherSet] = LRUCache(matcher_maxsize or maxsize, "matchers")

    def _compile(self, source: Any, **kw: Any) -> Any:
        if self._compile_fn is not None:
            return self._compile_fn(source, **kw)
        compiled, templates = compile_with_matchers(source, **kw)
        tokenizer = kw.get("tokenizer")
        if templates is not None and tokenizer is not None:
            # validating against the tokenizer built the ready matchers: keep them (llguidance
            # compiled each grammar once); ``get_matchers`` for this tokenizer then hits
            key = (id(tokenizer), compiled.fingerprint)
            if key not in self.matchers:
                self.matchers.put(key, MatcherSet(templates, compiled.compile_ms))
        return compiled

    def lookup(self, source: Any, *, lenient: bool = False, tokenizer: Any = None, kind: str | None = None) -> Any:
        """The cached compiled constraint of a raw request input, or None; never compiles.

        The raw-request fast path of :meth:`get_compiled` alone (a hit is counted as one).
        """
        alias = self._alias(source, lenient, tokenizer, kind)
        return None if alias is None else self._cached(alias)

    @staticmethod
    def _alias(source: Any, lenient: bool, tokenizer: Any, kind: str | None) -> tuple | None:
        rk = raw_key(source)
        return None if rk is None else (lenient, id(tokenizer) if tokenizer is not None else 0, kind, rk)

    def _cached(self, alias: tuple) -> Any:
        key = self.requests.peek(alias)
        return None if key is None or key not in self.compiled else self.compiled.get(key)

    def get_compiled(
        self, source: Any, *, lenient: bool = False, tokenizer: Any = None, kind: str | None = None
    ) -> tuple[Any, bool]:
        """Return ``(compiled, cache_hit)`` for any accepted constraint input.

        Fast path: a raw-request hit costs one key hash and two dict lookups.
        """
        tok_id = id(tokenizer) if tokenizer is not None else 0
        alias = self._alias(source, lenient, tokenizer, kind)
        if alias is None:
            return self._by_fingerprint(self._compile(source, lenient=lenient, tokenizer=tokenizer, kind=kind), tok_id)
        compiled = self._cached(alias)
        if compiled is not None:
            return compiled, True
        state: dict[str, Any] = {}

        def compile_once() -> str:
            compiled, hit = self._by_fingerprint(
                self._compile(source, lenient=lenient, tokenizer=tokenizer, kind=kind), tok_id
            )
            state["value"], state["hit"] = compiled, hit
            return f"{compiled.fingerprint}:{tok_id}"

        key, _ = self.requests.get_or_create(alias, compile_once)
        if "value" in state:  # this thread compiled it
            return state["value"], state["hit"]
        compiled = self.compiled.get(key)  # another thread compiled it while we waited
        if compiled is None:  # evicted in between: compile again
            compiled, _ = self._by_fingerprint(
                self._compile(source, lenient=lenient, tokenizer=tokenizer, kind=kind), tok_id
            )
        return compiled, True

    def _by_fingerprint(self, compiled: Any, tok_id: int) -> tuple[Any, bool]:
        key = f"{compiled.fingerprint}:{tok_id}"
        return self.compiled.get_or_create(key, lambda: compiled)

    def get_matchers(
        self, compiled: Any, llg_tokenizer: Any, factory: Callable[[], MatcherSet]
    ) -> tuple[MatcherSet, bool]:
        """Ready matchers of ``compiled`` for ``llg_tokenizer`` (built once by ``factory``)."""
        return self.matchers.get_or_create((id(llg_tokenizer), compiled.fingerprint), factory)

    def stats(self) -> dict[str, dict[str, Any]]:
        return {c.name: c.stats().to_dict() for c in (self.compiled, self.requests, self.matchers)}

    def clear(self) -> None:
        for cache in (self.compiled, self.requests, self.matchers):
            cache.clear()
