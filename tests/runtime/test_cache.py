"""LRU cache and constraint cache: bounds, recency, stats, thread safety, single flight."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ananke
from ananke.runtime import ConstraintCache, LRUCache, raw_key


def test_lru_evicts_least_recently_used_and_counts() -> None:
    cache: LRUCache[str, int] = LRUCache(2, "t")
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)  # evicts b
    assert "b" not in cache and "a" in cache and "c" in cache
    assert cache.get("b") is None
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.evictions, stats.size, stats.maxsize) == (1, 1, 1, 2, 2)
    assert stats.to_dict()["hit_rate"] == 0.5


def test_lru_rejects_zero_size_and_resize_evicts() -> None:
    with pytest.raises(ValueError):
        LRUCache(0)
    cache: LRUCache[int, int] = LRUCache(4)
    for i in range(4):
        cache.put(i, i)
    cache.resize(1)
    assert len(cache) == 1 and 3 in cache and cache.stats().evictions == 3


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["get", "put"]), st.integers(0, 6)), max_size=60), st.integers(1, 4))
def test_lru_matches_a_reference_model(ops: list[tuple[str, int]], size: int) -> None:
    cache: LRUCache[int, int] = LRUCache(size)
    model: list[int] = []  # keys, least recent first
    for op, key in ops:
        if op == "put":
            cache.put(key, key * 10)
            if key in model:
                model.remove(key)
            model.append(key)
            del model[:-size]
        else:
            got = cache.get(key)
            if key in model:
                assert got == key * 10
                model.remove(key)
                model.append(key)
            else:
                assert got is None
        assert list(cache._data) == model
        assert len(cache) <= size


def test_single_flight_runs_the_factory_once_for_concurrent_misses() -> None:
    cache: LRUCache[str, int] = LRUCache(8)
    calls = 0
    gate = threading.Event()

    def factory() -> int:
        nonlocal calls
        calls += 1
        gate.wait(5)
        return 42

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get_or_create, "k", factory) for _ in range(8)]
        time.sleep(0.2)  # let every thread arrive while the first is still computing
        gate.set()
        results = [f.result(5) for f in futures]
    assert calls == 1
    assert [value for value, _ in results] == [42] * 8
    assert sum(1 for _, hit in results if not hit) == 1
    stats = cache.stats()
    assert stats.misses == 1 and stats.hits == 7


def test_single_flight_propagates_errors_and_does_not_cache_them() -> None:
    cache: LRUCache[str, int] = LRUCache(8)
    gate = threading.Event()
    calls = 0

    def failing() -> int:
        nonlocal calls
        calls += 1
        gate.wait(5)
        raise RuntimeError("boom")

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(cache.get_or_create, "k", failing) for _ in range(4)]
        time.sleep(0.2)
        gate.set()
        for future in futures:
            with pytest.raises(RuntimeError, match="boom"):
                future.result(5)
    assert calls == 1 and "k" not in cache
    assert cache.get_or_create("k", lambda: 7) == (7, False)


def test_lru_is_consistent_under_concurrent_mixed_load() -> None:
    cache: LRUCache[int, int] = LRUCache(16)

    def work(seed: int) -> None:
        for i in range(2000):
            key = (seed * 7 + i) % 40
            value, _ = cache.get_or_create(key, lambda k=key: k * 2)
            assert value == key * 2

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(work, range(6)))
    stats = cache.stats()
    assert stats.size <= 16
    assert stats.hits + stats.misses == 6 * 2000
    assert stats.misses - stats.evictions == stats.size


def test_raw_key_forms(tmp_path) -> None:
    assert raw_key({"a": 1}) == raw_key({"a": 1}) != raw_key({"a": 2})
    assert raw_key({"a": 1}) != raw_key({"a": 1.0}) and raw_key([1]) != raw_key((1,))
    assert raw_key("start: /x/\n") == "start: /x/\n"
    path = tmp_path / "c.json"
    path.write_text("{}")
    assert raw_key(str(path)) is None  # a file's content may change
    assert raw_key(path) is None
    assert raw_key({"a": lambda: 1}) is None  # not serializable


SCHEMA_REGEX = {"kind": "regex", "pattern": "[a-z]{2,5}"}


def test_constraint_cache_hits_on_repeat_and_on_reordered_keys() -> None:
    cache = ConstraintCache(maxsize=8)
    first, hit1 = cache.get_compiled(SCHEMA_REGEX)
    again, hit2 = cache.get_compiled(dict(SCHEMA_REGEX))
    reordered, hit3 = cache.get_compiled({"pattern": "[a-z]{2,5}", "kind": "regex"})
    assert (hit1, hit2, hit3) == (False, True, True)
    assert first is again is reordered
    assert first.fingerprint == ananke.compile(SCHEMA_REGEX).fingerprint
    lenient, hit4 = cache.get_compiled(SCHEMA_REGEX, lenient=True)
    assert not hit4 and lenient.fingerprint != first.fingerprint


def test_lookup_returns_only_what_is_cached_and_never_compiles() -> None:
    calls = 0

    def counting_compile(source, **kw):
        nonlocal calls
        calls += 1
        return ananke.compile(source, **kw)

    cache = ConstraintCache(maxsize=8, compile_fn=counting_compile)
    assert cache.lookup(SCHEMA_REGEX) is None and calls == 0
    compiled, _ = cache.get_compiled(SCHEMA_REGEX)
    hits = cache.stats()["compiled"]["hits"]
    assert cache.lookup(dict(SCHEMA_REGEX)) is compiled and calls == 1
    assert cache.stats()["compiled"]["hits"] == hits + 1
    assert cache.lookup(SCHEMA_REGEX, lenient=True) is None  # another key: leniency is part of it
    assert cache.lookup(SCHEMA_REGEX, kind="regex") is None
    assert calls == 1


def test_constraint_cache_single_flight_compiles_once() -> None:
    calls = 0
    lock = threading.Lock()

    def slow_compile(source, **kw):
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(0.2)
        return ananke.compile(source, **kw)

    cache = ConstraintCache(maxsize=8, compile_fn=slow_compile)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: cache.get_compiled({"kind": "regex", "pattern": "q+"}), range(6)))
    assert calls == 1
    assert len({id(c) for c, _ in results}) == 1
    assert sum(1 for _, hit in results if not hit) == 1


def test_constraint_cache_does_not_cache_errors() -> None:
    cache = ConstraintCache(maxsize=4)
    bad = {"kind": "regex", "pattern": "(unclosed"}
    for _ in range(2):
        with pytest.raises(ananke.ConstraintError):
            cache.get_compiled(bad)
    assert cache.stats()["compiled"]["size"] == 0


def test_constraint_cache_is_bounded() -> None:
    cache = ConstraintCache(maxsize=2)
    for n in range(4):
        cache.get_compiled({"kind": "literal", "text": f"t{n}"})
    stats = cache.stats()["compiled"]
    assert stats["size"] == 2 and stats["evictions"] == 2


def test_cache_hit_path_is_fast() -> None:
    cache = ConstraintCache(maxsize=8)
    schema = {"kind": "regex", "pattern": "[0-9]{3}-[0-9]{4}"}
    cache.get_compiled(schema)
    started = time.perf_counter()
    for _ in range(2000):
        cache.get_compiled(schema)
    per_call_us = (time.perf_counter() - started) / 2000 * 1e6
    assert per_call_us < 200  # generous for a loaded CI box; the benchmark reports the real figure
