"""Per-app server state: the service (possibly still loading), admission control, compile pool.

* Admission: at most ``limits.max_queue`` generation requests in flight (queued behind the
  engine or running); the next one gets 429 with ``Retry-After``. While the model loads or the
  server drains for shutdown, generation gets 503.
* Compilation and validation run on their own small thread pool with a time limit
  (``limits.compile_timeout_s``) that budgets each compile from its start (not its wait) and stops
  it when spent, never on the event loop and never behind the engine's queue, so ``/health`` and
  ``/v1/constraints/*`` answer while the engine is busy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ananke._config import AnankeConfig
from ananke.core._guard import compile_deadline
from ananke.errors import ConstraintLimitError
from ananke.server._errors import ApiError
from ananke.server._metrics import Metrics

__all__ = ["ServerState"]

log = logging.getLogger("ananke.server")


class ServerState:
    def __init__(self, service: Any | None, factory: Callable[[], Any] | None, config: AnankeConfig) -> None:
        self.service = service
        self.factory = factory
        self.config = config
        self.load_error: str | None = None
        self.loading = service is None
        self.draining = False
        self.inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.started = time.time()
        self.compile_pool = ThreadPoolExecutor(2, thread_name_prefix="ananke-compile")
        self.metrics = Metrics(self._cache_stats)
        self.api_key: str | None = config["auth.api_key"]
        self.body_timeout_s = 30.0  # a body must arrive whole within this (slow clients hold no slot)

    # -- service ------------------------------------------------------------------------------

    def _cache_stats(self) -> dict[str, Any] | None:
        service = self.service
        return service.stats() if service is not None and hasattr(service, "stats") else None

    async def load(self) -> None:
        """Build the service from the factory off the event loop (``/health`` says ``loading``)."""
        if self.factory is None:
            return
        started = time.perf_counter()
        try:
            self.service = await asyncio.get_running_loop().run_in_executor(None, self.factory)
            log.info(
                "model ready", extra={"load_s": round(time.perf_counter() - started, 2), "model": self.model_name()}
            )
        except Exception as exc:  # reported by /health, the server stays up
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("loading the model failed")
        finally:
            self.loading = False

    def require_service(self) -> Any:
        if self.service is not None:
            return self.service
        if self.load_error:
            raise ApiError(503, "unavailable", f"the model failed to load: {self.load_error}")
        raise ApiError(503, "loading", "the model is still loading; retry shortly", headers={"Retry-After": "2"})

    def model_name(self) -> str:
        engine = getattr(self.service, "engine", None)
        name = getattr(engine, "model_name", None)
        return str(name) if name else str(self.config["model"] or "SmolLM2-135M-Instruct")

    def tokenizer(self) -> Any:
        engine = getattr(self.service, "engine", None)
        try:
            return engine.llg_tokenizer() if engine is not None else None
        except Exception:  # validation then runs without a tokenizer
            return None

    # -- admission ----------------------------------------------------------------------------

    def acquire(self) -> None:
        if self.draining:
            self.metrics.rejected.labels("draining").inc()
            raise ApiError(503, "shutting_down", "the server is shutting down", headers={"Retry-After": "5"})
        limit = int(self.config["limits.max_queue"])
        if self.inflight >= limit:
            self.metrics.rejected.labels("queue_full").inc()
            raise ApiError(
                429,
                "queue_full",
                f"the generation queue is full ({limit} requests in flight); retry later",
                headers={"Retry-After": "1"},
            )
        self.inflight += 1
        self._idle.clear()
        self.metrics.queue_depth.set(self.inflight)

    def release(self) -> None:
        self.inflight = max(0, self.inflight - 1)
        self.metrics.queue_depth.set(self.inflight)
        if self.inflight == 0:
            self._idle.set()

    def begin_shutdown(self, grace_s: float) -> None:
        """The server stops: refuse new generation now; when ``grace_s`` has passed, requests still
        generating or queued are stopped and answered 503 ``shutting_down`` (never cancelled bare)."""
        self.draining = True
        loop = asyncio.get_running_loop()
        event = self._deadline_event()
        loop.call_later(max(grace_s, 0.0), event.set)

    def _deadline_event(self) -> asyncio.Event:
        if getattr(self, "_deadline", None) is None:
            self._deadline = asyncio.Event()
        return self._deadline

    async def shutdown_deadline(self) -> None:
        """Return when the shutdown grace period has run out (never, while serving)."""
        await self._deadline_event().wait()

    async def drain(self, grace_s: float) -> bool:
        """Refuse new generation, wait up to ``grace_s`` for in-flight work; True when it finished."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=grace_s)
            return True
        except asyncio.TimeoutError:
            return False

    # -- compile pool -------------------------------------------------------------------------

    async def off_loop(self, fn: Callable[[], Any], what: str = "compiling the constraint") -> Any:
        """Run ``fn`` on the compile pool with the compile time limit (400 ``compile_timeout``).

        The limit budgets the compile itself, from the moment a pool thread starts it (time spent
        waiting behind other users' compiles does not count), and the compile is stopped at its next
        stage when the limit has passed (:func:`ananke.core._guard.compile_deadline`), so a runaway
        constraint frees its thread instead of holding it.
        """
        limit = float(self.config["limits.compile_timeout_s"])
        started: list[float] = []

        def job() -> Any:
            started.append(time.monotonic())
            with compile_deadline(limit):
                return fn()

        future = asyncio.get_running_loop().run_in_executor(self.compile_pool, job)
        while True:
            wait = 0.05 if not started else max(started[0] + limit - time.monotonic(), 0.0)
            done, _ = await asyncio.wait({future}, timeout=wait)
            if done:
                break
            if started and time.monotonic() >= started[0] + limit:
                message = f"{what} took longer than {limit:g} s (limits.compile_timeout_s)"
                raise ApiError(
                    400,
                    "compile_timeout",
                    message,
                    param="constraint",
                    diagnostics=[{"message": message, "pointer": ""}],
                )
        try:
            return future.result()
        except ConstraintLimitError as exc:
            if "compiling took longer than" in str(exc):
                message = f"{what} took longer than {limit:g} s (limits.compile_timeout_s)"
                raise ApiError(
                    400,
                    "compile_timeout",
                    message,
                    param="constraint",
                    diagnostics=[{"message": message, "pointer": ""}],
                ) from exc
            raise

    async def precompile(self, service: Any, source: Any, lenient: bool) -> tuple[bool, float]:
        """Compile (cached) before generation, off the loop and bounded; ``(cache_hit, ms)``."""
        started = time.perf_counter()
        _compiled, hit = await self.off_loop(lambda: service.compile(source, lenient=lenient))
        return hit, round((time.perf_counter() - started) * 1000.0, 3)

    def close(self) -> None:
        self.compile_pool.shutdown(wait=False, cancel_futures=True)
