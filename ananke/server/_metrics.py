"""Prometheus metrics of one app (its own registry, so several apps can live in one process).

``ananke_http_requests_total{route,method,status}``, ``ananke_http_request_duration_seconds{route}``,
``ananke_generations_total{route,finish_reason,satisfied}``, ``ananke_tokens_generated_total``,
``ananke_prompt_tokens_total``, ``ananke_queue_depth`` (generation requests in flight),
``ananke_rejected_total{reason}`` and, read at scrape time from the service, the constraint
caches: ``ananke_constraint_cache_{hits,misses,evictions}_total{cache}``, ``ananke_constraint_cache_size{cache}``
(``cache`` = compiled, requests, matchers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Metrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class _CacheCollector:
    def __init__(self, stats: Callable[[], dict[str, Any] | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        try:
            stats = self._stats() or {}
        except Exception:  # a scrape must never fail because of the service
            stats = {}
        caches = {k: v for k, v in stats.items() if isinstance(v, dict)}
        families = {
            name: CounterMetricFamily(f"ananke_constraint_cache_{name}", f"constraint cache {name}", labels=["cache"])
            for name in ("hits", "misses", "evictions")
        }
        size = GaugeMetricFamily("ananke_constraint_cache_size", "entries cached", labels=["cache"])
        for cache, values in caches.items():
            for name, family in families.items():
                if isinstance(values.get(name), (int, float)):
                    family.add_metric([cache], values[name])
            if isinstance(values.get("size"), (int, float)):
                size.add_metric([cache], values["size"])
        yield from families.values()
        yield size


class Metrics:
    def __init__(self, cache_stats: Callable[[], dict[str, Any] | None]) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("ananke_http_requests", "HTTP requests", ["route", "method", "status"], registry=r)
        self.latency = Histogram(
            "ananke_http_request_duration_seconds", "HTTP request latency", ["route"], buckets=_BUCKETS, registry=r
        )
        self.generations = Counter(
            "ananke_generations", "finished generations", ["route", "finish_reason", "satisfied"], registry=r
        )
        self.tokens = Counter("ananke_tokens_generated", "generated tokens", registry=r)
        self.prompt_tokens = Counter("ananke_prompt_tokens", "prompt tokens", registry=r)
        self.queue_depth = Gauge("ananke_queue_depth", "generation requests in flight (queued or running)", registry=r)
        self.rejected = Counter("ananke_rejected", "requests refused before generation", ["reason"], registry=r)
        r.register(_CacheCollector(cache_stats))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_generation(self, route: str, response: Any) -> None:
        self.generations.labels(route, response.finish_reason, str(bool(response.constraint_satisfied)).lower()).inc()
        self.tokens.inc(response.tokens_generated)
        self.prompt_tokens.inc(getattr(response.metadata, "prompt_tokens", 0) or 0)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
