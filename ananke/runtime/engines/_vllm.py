"""The vLLM engine: GPU generation with vLLM's async engine and its llguidance backend.

:class:`VllmEngine` implements :class:`ananke.runtime.Engine` on top of vLLM's
``AsyncLLM`` (continuous batching: concurrent ``generate`` calls share the GPU).
A compiled constraint reaches vLLM in two parts:

* its one Lark grammar (``CompiledConstraint.grammars[0]``) as
  ``SamplingParams(structured_outputs=StructuredOutputsParams(grammar=...))``, served
  by the ``guidance`` structured-output backend (the engine is started with
  ``structured_outputs_config.backend="guidance"``; no other backend ever sees it);
* its static token set as ``SamplingParams.allowed_token_ids`` (allowed set, or the
  whole vocabulary, minus the forbidden ids; the end-of-sequence ids stay allowed unless
  forbidden explicitly, so that a generation can end).

What vLLM cannot enforce is refused up front, never dropped: several grammars whose
languages must be intersected (``all_of`` parts that the compiler could not merge into
one grammar) raise :class:`ananke.UnsupportedFeatureError` (HTTP 400).

Every grammar is validated against the *served* tokenizer before submission
(``llguidance.LLMatcher.validate_grammar_with_warnings``): vLLM only logs a warning for a
grammar its matcher rejects later and then generates unconstrained or empty text. After
generation the returned tokens are replayed through a matcher built the way vLLM builds
its own (``llguidance.hf.from_tokenizer``); a rejected token or an unfinished grammar at
end-of-sequence turns the result into ``finish_reason="constraint_error"`` — so a grammar
that vLLM silently dropped can never pass as satisfied.

Timings: ``queue_ms``/``prefill_ms`` come from vLLM's per-request stats, ``replay_ms`` is
the post-generation check; vLLM computes token masks inside its scheduler and does not
report them per request, so ``mask_us_per_token`` is 0.0 for this engine.

``vllm`` is imported only inside the functions that need it: ``import ananke`` never
needs vLLM. The pure builders (:func:`build_engine_args`, :func:`build_sampling_params`,
:func:`check_enforceable`, :func:`validate_for_tokenizer`, :func:`replay_tokens`) are
what the vLLM contract tests (``tests_vllm/``) run on CPU.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ananke.errors import ConstraintError, Diagnostic, EngineError, RequestError, UnsupportedFeatureError
from ananke.runtime._engine import Engine, EngineOutput, GenerationParams, StreamDelta

__all__ = [
    "DEFAULT_MODEL",
    "ReplayResult",
    "VllmEngine",
    "VllmSettings",
    "build_engine_args",
    "build_llg_tokenizer",
    "build_sampling_params",
    "check_enforceable",
    "end_token_ids",
    "prompt_token_ids",
    "render_prompt",
    "replay_tokens",
    "static_token_ids",
    "validate_for_tokenizer",
]

DEFAULT_MODEL = "Qwen/Qwen2.5-Coder-32B-Instruct"
_STRUCTURED_BACKEND = "guidance"


# --------------------------------------------------------------------------------------------
# settings


class VllmSettings(BaseModel):
    """How to start vLLM. :meth:`from_env` reads the ``ANANKE_*`` variables (see docs/deploy.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = DEFAULT_MODEL
    revision: str | None = None
    tokenizer: str | None = None
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.90, gt=0.0, le=1.0)
    max_model_len: int | None = Field(default=None, ge=1)
    max_num_seqs: int | None = Field(default=None, ge=1)
    dtype: str = "auto"
    quantization: str | None = None
    enforce_eager: bool = False
    download_dir: str | None = None
    trust_remote_code: bool = False
    seed: int | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> VllmSettings:
        env = dict(os.environ if env is None else env)

        def opt(name: str, conv: Any = str) -> Any:
            value = env.get(name, "").strip()
            return conv(value) if value else None

        values = {
            "model": opt("ANANKE_MODEL"),
            "revision": opt("ANANKE_MODEL_REVISION"),
            "tokenizer": opt("ANANKE_TOKENIZER"),
            "tensor_parallel_size": opt("ANANKE_TENSOR_PARALLEL", int),
            "gpu_memory_utilization": opt("ANANKE_GPU_MEMORY_UTILIZATION", float),
            "max_model_len": opt("ANANKE_MAX_MODEL_LEN", int),
            "max_num_seqs": opt("ANANKE_MAX_NUM_SEQS", int),
            "dtype": opt("ANANKE_DTYPE"),
            "quantization": opt("ANANKE_QUANTIZATION"),
            "enforce_eager": opt("ANANKE_ENFORCE_EAGER", lambda v: v.lower() in ("1", "true", "yes")),
            "download_dir": opt("ANANKE_DOWNLOAD_DIR"),
        }
        return cls(**{k: v for k, v in values.items() if v is not None})


def build_engine_args(settings: VllmSettings) -> Any:
    """The ``vllm.AsyncEngineArgs`` for ``settings``, structured outputs pinned to ``guidance``."""
    from vllm import AsyncEngineArgs  # noqa: PLC0415 - heavy, optional
    from vllm.config import StructuredOutputsConfig  # noqa: PLC0415

    kwargs: dict[str, Any] = {
        "model": settings.model,
        "revision": settings.revision,
        "tokenizer": settings.tokenizer,
        "tensor_parallel_size": settings.tensor_parallel_size,
        "gpu_memory_utilization": settings.gpu_memory_utilization,
        "dtype": settings.dtype,
        "quantization": settings.quantization,
        "enforce_eager": settings.enforce_eager,
        "download_dir": settings.download_dir,
        "trust_remote_code": settings.trust_remote_code,
        "seed": settings.seed,
        "structured_outputs_config": StructuredOutputsConfig(backend=_STRUCTURED_BACKEND),
        "disable_log_stats": False,
    }
    if settings.max_model_len is not None:
        kwargs["max_model_len"] = settings.max_model_len
    if settings.max_num_seqs is not None:
        kwargs["max_num_seqs"] = settings.max_num_seqs
    return AsyncEngineArgs(**{k: v for k, v in kwargs.items() if v is not None})


# --------------------------------------------------------------------------------------------
# constraint → vLLM request (pure functions; run on CPU by tests_vllm)


def check_enforceable(compiled: Any | None) -> None:
    """Raise :class:`UnsupportedFeatureError` for what vLLM cannot enforce exactly.

    vLLM takes one grammar per request; an intersection of several grammars is refused
    here rather than silently enforcing only one of them.
    """
    if compiled is None:
        return
    grammars = list(compiled.grammars)
    if len(grammars) > 1:
        raise UnsupportedFeatureError(Diagnostic(
            f"this constraint needs the intersection of {len(grammars)} grammars (all_of parts that "
            "cannot be merged into one grammar); the vLLM engine enforces one grammar per request. "
            "Merge the parts into one grammar, or use the transformers engine, which intersects them.",
            pointer="/constraint"))


def static_token_ids(token_mask: Any | None, vocab_size: int, end_ids: Iterable[int] = ()) -> list[int] | None:
    """``allowed_token_ids`` for a static token set: (allowed or the vocabulary) minus forbidden.

    End-of-sequence ids (``end_ids``) are added unless forbidden explicitly, so that a
    generation can stop. Returns None when the set does not restrict anything.
    """
    if token_mask is None:
        return None
    allowed = getattr(token_mask, "allowed", None)
    forbidden = set(getattr(token_mask, "forbidden", None) or ())
    if allowed is None and not forbidden:
        return None
    out_of_range = sorted(t for t in set(allowed or ()) | forbidden if t < 0 or t >= vocab_size)
    if out_of_range:
        raise ConstraintError(f"token ids {out_of_range[:10]} are outside the model's vocabulary of {vocab_size}",
                              pointer="/constraint")
    base = set(range(vocab_size)) if allowed is None else set(allowed)
    base |= {t for t in end_ids if 0 <= t < vocab_size}
    ids = sorted(base - forbidden)
    if not ids:
        raise ConstraintError("the static token set allows no token at all", pointer="/constraint")
    return ids


def build_sampling_params(compiled: Any | None, params: GenerationParams, *, vocab_size: int,
                          end_ids: Iterable[int] = (), stream: bool = False) -> Any:
    """The ``vllm.SamplingParams`` of one request.

    ``compiled`` must have passed :func:`check_enforceable`; its grammar goes to the
    guidance backend verbatim, its static token set to ``allowed_token_ids``.
    """
    from vllm import SamplingParams  # noqa: PLC0415 - heavy, optional
    from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams  # noqa: PLC0415

    check_enforceable(compiled)
    structured = None
    allowed = None
    if compiled is not None:
        if compiled.grammars:
            structured = StructuredOutputsParams(grammar=compiled.grammars[0])
        allowed = static_token_ids(compiled.token_mask, vocab_size, end_ids)
    return SamplingParams(
        n=1,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        top_p=params.top_p,
        top_k=params.top_k,  # 0 disables top-k in vLLM as in Ananke
        seed=params.seed,
        stop=list(params.stop) or None,
        structured_outputs=structured,
        allowed_token_ids=allowed,
        output_kind=RequestOutputKind.DELTA if stream else RequestOutputKind.FINAL_ONLY,
        skip_special_tokens=True,
    )


def build_llg_tokenizer(tokenizer: Any, vocab_size: int | None = None) -> Any:
    """The ``llguidance.LLTokenizer`` of a Hugging Face fast tokenizer, built as vLLM builds it."""
    import llguidance.hf  # noqa: PLC0415

    n_vocab = max(vocab_size or 0, len(tokenizer))
    return llguidance.hf.from_tokenizer(tokenizer, n_vocab)


def validate_for_tokenizer(compiled: Any | None, llg_tokenizer: Any) -> list[str]:
    """Compile-only validation of every grammar against the served tokenizer.

    Raises :class:`ConstraintError` with llguidance's diagnostic (line, column, snippet)
    when a grammar is rejected; returns llguidance's warnings otherwise.
    """
    if compiled is None:
        return []
    import llguidance as llg  # noqa: PLC0415

    from ananke.core._llg import grammar_diagnostic  # noqa: PLC0415

    warnings: list[str] = []
    for index, text in enumerate(compiled.grammars):
        is_error, messages = llg.LLMatcher.validate_grammar_with_warnings(llg.grammar_from("lark", text),
                                                                           llg_tokenizer)
        if is_error:
            diag = grammar_diagnostic(messages[0] if messages else "grammar rejected", source=text,
                                      pointer="/constraint")
            raise ConstraintError(Diagnostic(f"grammar {index} rejected for the served tokenizer: {diag.message}",
                                             pointer=diag.pointer, line=diag.line, column=diag.column,
                                             snippet=diag.snippet))
        warnings.extend(messages)
    return warnings


class ReplayResult(BaseModel):
    """Outcome of replaying generated tokens through the grammar: ``ok`` or ``error``."""

    ok: bool
    accepting: bool
    error: str | None = None


def replay_tokens(matchers: list[Any], token_ids: list[int], *, ended: bool) -> ReplayResult:
    """Feed ``token_ids`` (no EOS) to fresh matchers; ``ended``: the model emitted EOS here.

    A rejected token, or EOS while a grammar is not accepting, is a constraint error.
    """
    accepting = True
    for matcher in matchers:
        if token_ids and not matcher.consume_tokens(list(token_ids)):
            error = matcher.get_error() or "a generated token was rejected by the grammar"
            return ReplayResult(ok=False, accepting=False, error=error.split("\n<state>")[0].strip())
        accepting = accepting and matcher.is_accepting()
    if ended and not accepting:
        return ReplayResult(ok=False, accepting=False,
                            error="the model stopped before the grammar was complete")
    return ReplayResult(ok=True, accepting=accepting)


# --------------------------------------------------------------------------------------------
# prompts (pure functions over vLLM's tokenizer / renderer)


def end_token_ids(tokenizer: Any, model_config: Any = None) -> list[int]:
    """The tokenizer's EOS plus the generation config's ``eos_token_id`` ids (vLLM stops on all)."""
    ids = {tokenizer.eos_token_id}
    gen: dict[str, Any] = {}
    if model_config is not None:
        try:
            gen = model_config.try_get_generation_config() or {}
        except Exception:  # noqa: BLE001 - a model without generation_config.json
            gen = {}
    eos = gen.get("eos_token_id")
    ids |= {eos} if isinstance(eos, int) else set(eos or ())
    return sorted(i for i in ids if isinstance(i, int) and i >= 0)


def prompt_token_ids(tokenizer: Any, prompt: str, *, chat: bool = True) -> list[int]:
    """Token ids of ``prompt``: wrapped in the chat template as a user turn when ``chat``."""
    if chat and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
        return list(tokenizer.encode(text, add_special_tokens=False))
    return list(tokenizer.encode(prompt))


def render_prompt(llm: Any, prompt_ids: list[int]) -> Any:
    """The engine input for ``prompt_ids``: rendered by vLLM's renderer (what vLLM 0.32
    prefers over raw prompts), or a plain ``TokensPrompt`` where there is no renderer.

    ``llm`` is anything with ``renderer`` and ``model_config`` (``AsyncLLM``)."""
    from vllm.inputs import TokensPrompt  # noqa: PLC0415

    prompt = TokensPrompt(prompt_token_ids=list(prompt_ids))
    renderer = getattr(llm, "renderer", None)
    if renderer is None:
        return prompt
    from vllm.renderers.inputs.preprocess import parse_model_prompt  # noqa: PLC0415

    (engine_input,) = renderer.render_cmpl([parse_model_prompt(llm.model_config, prompt)],
                                           renderer.default_cmpl_tok_params)
    return engine_input


# --------------------------------------------------------------------------------------------
# the engine


class VllmEngine(Engine):
    """vLLM ``AsyncLLM`` behind the :class:`ananke.runtime.Engine` interface (GPU only).

    ``VllmEngine(settings)`` starts vLLM (loads the weights; minutes for large models) —
    do it once per process, e.g. in Modal's ``@modal.enter()``. ``cache`` (a
    :class:`ananke.runtime.ConstraintCache`) keeps the ready replay matchers per constraint.
    """

    name = "vllm"
    concurrent = True

    def __init__(self, settings: VllmSettings | str | None = None, *, cache: Any = None,
                 llm: Any = None) -> None:
        if isinstance(settings, str):
            settings = VllmSettings(model=settings)
        self.settings = settings or VllmSettings.from_env()
        self.cache = cache
        if llm is None:
            from vllm.v1.engine.async_llm import AsyncLLM  # noqa: PLC0415 - heavy, optional

            llm = AsyncLLM.from_engine_args(build_engine_args(self.settings))
        self._llm = llm
        self._tokenizer = llm.get_tokenizer()
        self._vocab_size = int(llm.model_config.get_vocab_size())
        self._max_context = int(getattr(llm.model_config, "max_model_len", 0) or 0) or None
        self._end_ids = end_token_ids(self._tokenizer, llm.model_config)
        self._llg_tok: Any = None
        self._llg_lock = threading.Lock()
        self._closed = False

    # -- Engine interface ---------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self.settings.model

    @property
    def max_context(self) -> int | None:
        return self._max_context

    def llg_tokenizer(self) -> Any:
        with self._llg_lock:
            if self._llg_tok is None:
                self._llg_tok = build_llg_tokenizer(self._tokenizer, self._vocab_size)
            return self._llg_tok

    async def generate(self, prompt: str, compiled: Any | None, params: GenerationParams,
                       chat: bool = True) -> EngineOutput:
        final: EngineOutput | None = None
        async for item in self._run(prompt, compiled, params, chat=chat, stream=False):
            if isinstance(item, EngineOutput):
                final = item
        assert final is not None
        return final

    async def stream(self, prompt: str, compiled: Any | None, params: GenerationParams,
                     chat: bool = True) -> AsyncIterator[StreamDelta | EngineOutput]:
        async for item in self._run(prompt, compiled, params, chat=chat, stream=True):
            yield item

    async def aclose(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Stop vLLM's engine core (frees the GPU).  Idempotent."""
        if not self._closed:
            self._closed = True
            self._llm.shutdown()

    def health(self) -> dict[str, Any]:
        """Engine facts for ``/health``: model, vocabulary, context, whether vLLM is alive."""
        return {"engine": self.name, "model": self.model_name, "vocab_size": self._vocab_size,
                "max_context": self._max_context, "alive": not getattr(self._llm, "errored", False),
                "tensor_parallel_size": self.settings.tensor_parallel_size, "vllm": _vllm_version()}

    # -- internals ----------------------------------------------------------------------------

    def _matchers(self, compiled: Any) -> list[Any]:
        import llguidance as llg  # noqa: PLC0415

        tok = self.llg_tokenizer()

        def build() -> Any:
            from ananke.runtime._cache import MatcherSet  # noqa: PLC0415

            started = time.perf_counter()
            templates = [llg.LLMatcher(tok, llg.grammar_from("lark", g), log_level=0) for g in compiled.grammars]
            return MatcherSet(templates, (time.perf_counter() - started) * 1000.0)

        if self.cache is not None:
            matcher_set, _ = self.cache.get_matchers(compiled, tok, build)
            return matcher_set.fork()
        return build().templates

    async def _run(self, prompt: str, compiled: Any | None, params: GenerationParams, *, chat: bool,
                   stream: bool) -> AsyncIterator[StreamDelta | EngineOutput]:
        if self._closed:
            raise EngineError("the vLLM engine is shut down")
        check_enforceable(compiled)
        validate_for_tokenizer(compiled, self.llg_tokenizer())
        sampling = build_sampling_params(compiled, params, vocab_size=self._vocab_size, end_ids=self._end_ids,
                                         stream=stream)
        prompt_ids = prompt_token_ids(self._tokenizer, prompt, chat=chat)
        if self._max_context and len(prompt_ids) + params.max_tokens > self._max_context:
            raise RequestError(f"prompt ({len(prompt_ids)} tokens) + max_tokens ({params.max_tokens}) exceeds the "
                               f"model's context of {self._max_context} tokens", field="max_tokens")
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        first_at: float | None = None
        token_ids: list[int] = []
        text_parts: list[str] = []
        finish: str | None = None
        stop_reason: Any = None
        metrics: Any = None
        try:
            async for out in self._llm.generate(render_prompt(self._llm, prompt_ids), sampling, request_id):
                completion = out.outputs[0]
                new_ids = list(completion.token_ids)
                if first_at is None and new_ids:
                    first_at = time.perf_counter()
                token_ids.extend(new_ids)
                text_parts.append(completion.text)
                finish, stop_reason = completion.finish_reason, completion.stop_reason
                metrics = getattr(out, "metrics", None)
                if stream and completion.text:
                    yield StreamDelta(text=completion.text, token_ids=new_ids)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # vLLM's own errors, translated at this boundary
            raise _translate(exc) from exc
        ended_ms = (time.perf_counter() - started) * 1000.0
        yield self._finish(compiled, "".join(text_parts), token_ids, finish, stop_reason, len(prompt_ids),
                           ended_ms, first_at, started, metrics)

    def _finish(self, compiled: Any | None, text: str, token_ids: list[int], finish: str | None,
                stop_reason: Any, prompt_tokens: int, total_ms: float, first_at: float | None,
                started: float, metrics: Any) -> EngineOutput:
        # EOS (stop_reason None) or a stop token id (an int): the model ended the text itself.
        # A stop *string* (a str) cut the text instead: the grammar need not be complete there.
        ended_by_eos = finish == "stop" and (stop_reason is None or isinstance(stop_reason, int))
        if ended_by_eos and token_ids and token_ids[-1] in self._end_ids:
            token_ids = token_ids[:-1]
        reason = "length" if finish == "length" else "stop"
        error = None
        timings = {"generate_ms": total_ms}
        if first_at is not None:
            timings["first_token_ms"] = (first_at - started) * 1000.0
        timings.update(_engine_timings(metrics))
        if finish == "abort":
            reason, error = "constraint_error", "vLLM aborted the request"
        elif compiled is not None and compiled.grammars:
            replay_started = time.perf_counter()
            result = replay_tokens(self._matchers(compiled), token_ids, ended=ended_by_eos)
            timings["replay_ms"] = (time.perf_counter() - replay_started) * 1000.0
            if not result.ok:
                reason, error = "constraint_error", result.error
        return EngineOutput(text=text, token_ids=token_ids, finish_reason=reason, prompt_tokens=prompt_tokens,
                            timings=timings, mask_us_per_token=0.0, error=error)


def _engine_timings(metrics: Any) -> dict[str, float]:
    """queue_ms / prefill_ms from vLLM's per-request stats (engine-core monotonic timestamps)."""
    if metrics is None:
        return {}
    queued, scheduled, first = (float(getattr(metrics, name, 0.0) or 0.0)
                                for name in ("queued_ts", "scheduled_ts", "first_token_ts"))
    out: dict[str, float] = {}
    if queued and scheduled >= queued:
        out["queue_ms"] = (scheduled - queued) * 1000.0
    if scheduled and first >= scheduled:
        out["prefill_ms"] = (first - scheduled) * 1000.0
    return out


def _translate(exc: Exception) -> Exception:
    """Map vLLM's exceptions onto Ananke's: bad requests → RequestError/ConstraintError."""
    name = type(exc).__name__
    message = str(exc) or name
    if name == "VLLMValidationError":
        parameter = getattr(exc, "parameter", None)
        if parameter in (None, "structured_outputs") and ("grammar" in message.lower()):
            return ConstraintError(f"vLLM rejected the grammar: {message}", pointer="/constraint")
        return RequestError(f"vLLM rejected the request: {message}", field=parameter)
    if isinstance(exc, (ValueError, TypeError)) and "token" in message.lower():
        return RequestError(f"vLLM rejected the request: {message}")
    return EngineError(f"vLLM failed: {name}: {message}")


@lru_cache(maxsize=1)
def _vllm_version() -> str:
    from importlib.metadata import version  # noqa: PLC0415

    return version("vllm")
