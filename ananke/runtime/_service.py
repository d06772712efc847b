"""The generation service: normalize → compile (cached) → generate → verify → response.

:class:`GenerationService` is what the CLI and the HTTP server call.  It is
safe to use from several asyncio tasks (and threads); it does not serialize
requests itself: each engine queues or batches them (see :class:`Engine`).

Response shape (the seed service's ``GenerationResponse``)::

    {"generated_text", "tokens_generated", "generation_time_ms", "constraint_satisfied",
     "model_name", "finish_reason",
     "metadata": {"request_id", "prompt_tokens", "tokens_per_sec", "fingerprint", "cache_hit",
                  "compile_ms", "queue_ms", "generate_ms", "mask_us_per_token",
                  "constraint_kinds", "warnings", "verification_errors", "engine", "error"}}

``constraint_satisfied`` is the plugins' independent verification of the
output (``CompiledConstraint.verify``), never a constant.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ananke.core._guard import lone_surrogate
from ananke.errors import RequestError
from ananke.runtime._cache import ConstraintCache
from ananke.runtime._engine import Engine, EngineOutput, GenerationParams, StreamDelta, compose_prompt

__all__ = [
    "GenerationMetadata",
    "GenerationRequest",
    "GenerationResponse",
    "GenerationService",
    "ServiceLimits",
]


class GenerationRequest(BaseModel):
    """One generation request (the seed ``/generate_api`` body plus Ananke extensions).

    At most one of ``constraints`` (the seed ConstraintSpec, or any accepted
    constraint input), ``constraint`` (IR v1 or any accepted input) and
    ``constraint_ir`` (Braid's ConstraintIR) may be set; none means
    unconstrained.  Bounds are checked by :meth:`GenerationService.check_request`
    (raising :class:`ananke.RequestError` with a clear message), not here.
    """

    model_config = ConfigDict(extra="ignore")

    prompt: str
    constraints: Any = None
    constraint: Any = None
    constraint_ir: Any = None
    max_tokens: int = 2048
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 50
    seed: int | None = None
    stop_sequences: list[str] | None = None
    context: str | None = None
    lenient: bool = False
    chat: bool = True
    request_id: str | None = None

    def constraint_source(self) -> Any:
        """The one constraint input of this request, or None.

        ``{}`` and Maze's empty skeleton ``{"type": "object", "properties": {}, "constraints": []}``
        mean no constraint (:func:`ananke.core._normalize.is_unconstrained`).
        """
        from ananke.core._normalize import is_unconstrained

        given = [
            (name, value)
            for name, value in (
                ("constraints", self.constraints),
                ("constraint", self.constraint),
                ("constraint_ir", self.constraint_ir),
            )
            if not is_unconstrained(value)
        ]
        if len(given) > 1:
            names = ", ".join(name for name, _ in given)
            raise RequestError(
                f"give at most one of constraints, constraint, constraint_ir (got {names})", field=given[1][0]
            )
        return given[0][1] if given else None


class GenerationMetadata(BaseModel):
    """Provenance of one response."""

    model_config = ConfigDict(extra="allow")

    request_id: str
    prompt_tokens: int = 0
    tokens_per_sec: float = 0.0
    fingerprint: str | None = None
    cache_hit: bool = False
    compile_ms: float = 0.0
    queue_ms: float = 0.0
    generate_ms: float = 0.0
    mask_us_per_token: float = 0.0
    constraint_kinds: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    verification_errors: list[str] = Field(default_factory=list)
    engine: str = ""
    error: str | None = None
    provenance: dict[str, Any] | None = None
    """Braid's ``rich_context``, ``feasibility_score`` and ``is_feasible`` when the constraint carried them."""


class GenerationResponse(BaseModel):
    """The seed service's response, with :class:`GenerationMetadata` as ``metadata``."""

    generated_text: str
    tokens_generated: int
    generation_time_ms: float
    constraint_satisfied: bool
    model_name: str
    finish_reason: str
    metadata: GenerationMetadata


class ServiceLimits(BaseModel):
    """Request bounds.  ``max_prompt_tokens`` counts the composed prompt (context + prompt)."""

    max_prompt_chars: int = 200_000
    max_prompt_tokens: int = 8192
    max_tokens_cap: int = 4096
    max_stop_sequences: int = 16
    compile_timeout_s: float = 10.0


def _check_number(value: float, field: str, low: float, high: float | None, *, low_open: bool = False) -> None:
    bad = value < low or (low_open and value == low) or (high is not None and value > high)
    if bad or value != value:  # NaN
        left = "(" if low_open else "["
        right = f"{high}]" if high is not None else "∞)"
        raise RequestError(f"{field} must be in {left}{low}, {right}; got {value}", field=field)


def _provenance(source: Any) -> dict[str, Any] | None:
    from ananke.core._normalize import constraint_provenance

    return constraint_provenance(source) or None


def _check_text(request: GenerationRequest) -> None:
    """Prompt, context and stop sequences must be Unicode text (no lone surrogates)."""
    fields = [("prompt", request.prompt), ("context", request.context or "")]
    fields += [(f"stop_sequences/{i}", s) for i, s in enumerate(request.stop_sequences or [])]
    for field, text in fields:
        index = lone_surrogate(text)
        if index is not None:
            raise RequestError(
                f"{field}: lone surrogate U+{ord(text[index]):04X} at character {index}; text must be valid Unicode",
                field=field.split("/")[0],
            )


class GenerationService:
    """Compile, generate, verify; one engine, one shared constraint cache.

    ``engine`` implements :class:`ananke.runtime.Engine`.  ``cache`` is shared
    with the engine for its ready matchers (the engine's own cache is used
    when it has one).
    """

    def __init__(
        self, engine: Engine, *, cache: ConstraintCache | None = None, limits: ServiceLimits | None = None
    ) -> None:
        self.engine = engine
        self.cache = cache or getattr(engine, "cache", None) or ConstraintCache()
        self.limits = limits or ServiceLimits()
        if engine.max_context:
            self.limits = self.limits.model_copy(
                update={"max_prompt_tokens": min(self.limits.max_prompt_tokens, engine.max_context)}
            )

    @classmethod
    def from_model(
        cls,
        model: str | None = None,
        *,
        device: str | None = None,
        cache_size: int = 256,
        limits: ServiceLimits | None = None,
        **engine_kw: Any,
    ) -> GenerationService:
        """A service over a :class:`TransformersEngine` (``model=None``: the embedded model)."""
        from ananke.runtime.engines.transformers import TransformersEngine  # heavy

        cache = ConstraintCache(maxsize=cache_size)
        engine = TransformersEngine(model, device=device, cache=cache, **engine_kw)
        return cls(engine, cache=cache, limits=limits)

    # -- pieces ------------------------------------------------------------------------------

    def compile(self, source: Any, *, lenient: bool = False, kind: str | None = None) -> tuple[Any, bool]:
        """``(CompiledConstraint, cache_hit)`` for the engine's tokenizer; raises ``ConstraintError``."""
        return self.cache.get_compiled(source, lenient=lenient, tokenizer=self.engine.llg_tokenizer(), kind=kind)

    def check_request(self, request: GenerationRequest) -> GenerationParams:
        """Validate bounds; return the engine's sampling parameters.  Raises ``RequestError``."""
        limits = self.limits
        _check_text(request)
        if len(request.prompt) + len(request.context or "") > limits.max_prompt_chars:
            raise RequestError(f"prompt is longer than {limits.max_prompt_chars} characters", field="prompt")
        if request.max_tokens < 1:
            raise RequestError(f"max_tokens must be at least 1; got {request.max_tokens}", field="max_tokens")
        if request.max_tokens > limits.max_tokens_cap:
            raise RequestError(
                f"max_tokens must be at most {limits.max_tokens_cap}; got {request.max_tokens}", field="max_tokens"
            )
        _check_number(request.temperature, "temperature", 0.0, 2.0)
        _check_number(request.top_p, "top_p", 0.0, 1.0, low_open=True)
        if request.top_k < 0:
            raise RequestError(f"top_k must be ≥ 0; got {request.top_k}", field="top_k")
        stops = [s for s in (request.stop_sequences or []) if s]
        if len(stops) > limits.max_stop_sequences:
            raise RequestError(f"at most {limits.max_stop_sequences} stop sequences", field="stop_sequences")
        return GenerationParams(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            seed=request.seed,
            stop=stops,
        )

    def _check_prompt_tokens(self, prompt: str, params: GenerationParams) -> int:
        count = self.engine.count_tokens(prompt)
        if count > self.limits.max_prompt_tokens:
            raise RequestError(
                f"prompt has {count} tokens; the limit is {self.limits.max_prompt_tokens}", field="prompt"
            )
        context = self.engine.max_context
        if context and count + params.max_tokens > context:
            raise RequestError(
                f"prompt ({count} tokens) + max_tokens ({params.max_tokens}) exceeds the model's "
                f"context of {context} tokens",
                field="max_tokens",
            )
        return count

    async def compile_off_loop(self, source: Any, *, lenient: bool = False) -> tuple[Any, bool]:
        """:meth:`compile` on a worker thread, within ``limits.compile_timeout_s`` (a cached input: on the loop).

        The event loop keeps serving other requests (and streams) while a constraint compiles;
        a compile that runs out of time raises :class:`ananke.ConstraintLimitError`.
        """
        from ananke.errors import ConstraintLimitError

        hit = self.cache.lookup(source, lenient=lenient, tokenizer=self.engine.llg_tokenizer())
        if hit is not None:  # a raw-request hit is two dict lookups: no thread hop
            return hit, True
        limit = self.limits.compile_timeout_s
        try:
            return await asyncio.wait_for(asyncio.to_thread(self.compile, source, lenient=lenient), limit)
        except asyncio.TimeoutError as exc:
            raise ConstraintLimitError(
                f"compiling the constraint took longer than {limit:g} s (limits.compile_timeout_s)",
                pointer="/constraint",
            ) from exc

    async def _prepare(
        self, request: GenerationRequest | dict[str, Any]
    ) -> tuple[GenerationRequest, GenerationParams, str, Any, dict[str, Any]]:
        if not isinstance(request, GenerationRequest):
            request = GenerationRequest.model_validate(request)
        params = self.check_request(request)
        source = request.constraint_source()
        prompt = compose_prompt(request.prompt, request.context)
        self._check_prompt_tokens(prompt, params)
        info: dict[str, Any] = {
            "request_id": request.request_id or uuid.uuid4().hex,
            "cache_hit": False,
            "compile_ms": 0.0,
            "provenance": None,
        }
        compiled = None
        if source is not None:
            started = time.perf_counter()
            compiled, hit = await self.compile_off_loop(source, lenient=request.lenient)
            info["cache_hit"] = hit
            info["compile_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
            info["provenance"] = _provenance(source)
        return request, params, prompt, compiled, info

    def _respond(
        self, request: GenerationRequest, compiled: Any, out: EngineOutput, info: dict[str, Any], total_ms: float
    ) -> GenerationResponse:
        if compiled is not None:
            verification = compiled.verify(out.text, out.token_ids)
            satisfied, errors = verification.satisfied, list(verification.errors)
        else:
            satisfied, errors = True, []
        gen_ms = out.timings.get("generate_ms", total_ms)
        n = len(out.token_ids)
        meta = GenerationMetadata(
            request_id=info["request_id"],
            prompt_tokens=out.prompt_tokens,
            tokens_per_sec=round(n / (gen_ms / 1000.0), 2) if gen_ms > 0 else 0.0,
            fingerprint=compiled.fingerprint if compiled is not None else None,
            cache_hit=info["cache_hit"],
            compile_ms=info["compile_ms"],
            queue_ms=round(out.timings.get("queue_ms", 0.0), 3),
            generate_ms=round(gen_ms, 3),
            mask_us_per_token=round(out.mask_us_per_token, 2),
            constraint_kinds=list(compiled.kinds) if compiled is not None else [],
            warnings=list(compiled.warnings) if compiled is not None else [],
            verification_errors=errors,
            engine=self.engine.name,
            error=out.error,
            provenance=info.get("provenance"),
            **{k: round(v, 3) for k, v in out.timings.items() if k not in ("queue_ms", "generate_ms")},
        )
        return GenerationResponse(
            generated_text=out.text,
            tokens_generated=n,
            generation_time_ms=round(total_ms, 3),
            constraint_satisfied=satisfied,
            model_name=self.engine.model_name,
            finish_reason=out.finish_reason,
            metadata=meta,
        )

    # -- public entry points ------------------------------------------------------------------

    async def generate(self, request: GenerationRequest | dict[str, Any]) -> GenerationResponse:
        """Run one request.  Raises ``RequestError`` / ``ConstraintError`` for bad input."""
        started = time.perf_counter()
        request, params, prompt, compiled, info = await self._prepare(request)
        out = await self.engine.generate(prompt, compiled, params, chat=request.chat)
        # Verification parses the output (ast, tree-sitter, jsonschema, maybe a native tool): off the loop.
        return await asyncio.to_thread(
            self._respond, request, compiled, out, info, (time.perf_counter() - started) * 1000.0
        )

    async def stream(
        self, request: GenerationRequest | dict[str, Any]
    ) -> AsyncIterator[StreamDelta | GenerationResponse]:
        """Yield :class:`StreamDelta` pieces, then the final :class:`GenerationResponse`.

        Bad input raises before the first item is yielded.
        """
        started = time.perf_counter()
        request, params, prompt, compiled, info = await self._prepare(request)
        final: EngineOutput | None = None
        async for item in self.engine.stream(prompt, compiled, params, chat=request.chat):
            if isinstance(item, EngineOutput):
                final = item
            else:
                yield item
        if final is None:  # pragma: no cover - engine contract violation
            raise RuntimeError("engine stream ended without a final EngineOutput")
        yield await asyncio.to_thread(
            self._respond, request, compiled, final, info, (time.perf_counter() - started) * 1000.0
        )

    def generate_sync(self, request: GenerationRequest | dict[str, Any]) -> GenerationResponse:
        """Blocking :meth:`generate` for scripts and the CLI (not from inside a running loop)."""
        return asyncio.run(self.generate(request))

    def health(self) -> dict[str, Any]:
        return {
            "model": self.engine.model_name,
            "engine": self.engine.name,
            "device": getattr(self.engine, "device", None),
            "cache": self.cache.stats(),
        }

    def stats(self) -> dict[str, Any]:
        return self.cache.stats()

    async def aclose(self) -> None:
        await self.engine.aclose()
