"""TransformersEngine: local generation with Hugging Face transformers (CPU default, CUDA when present).

Every request runs on one worker thread, in arrival order, so the engine is
safe to call from many asyncio tasks.  Decoding goes through
:class:`ananke.runtime._decode.DecodeLoop` with a KV cache; the model's chat
template wraps the prompt for instruct models.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ananke.errors import EngineError, RequestError
from ananke.runtime._cache import ConstraintCache, MatcherSet
from ananke.runtime._decode import ConstraintState, DecodeLoop, build_matchers
from ananke.runtime._engine import Engine, EngineOutput, GenerationParams, StartSignal, StreamDelta, start_signal
from ananke.runtime._model import LoadedModel, load_model
from ananke.runtime._tokenizer import eos_token_ids, llg_tokenizer_for

__all__ = ["TransformersEngine"]

_DONE = object()


@dataclasses.dataclass(frozen=True)
class _Queued:
    """What the worker thread needs of a request besides its inputs."""

    submitted: float
    cancel: threading.Event
    signal: StartSignal | None


class TransformersEngine(Engine):
    """A causal LM from transformers behind the :class:`Engine` interface.

    ``model``: None for the embedded SmolLM2-135M-Instruct, an HF id, a local
    directory or a ``.gguf`` file.  ``fast_forward``: append tokens the
    constraint forces without sampling, fed in one forward pass.  ``overlap``: compute the next token mask
    on a helper thread during the forward pass (default: only on CUDA, where
    the forward pass does not need the CPU; on a small CPU the two compete
    for the same cores — see docs/results/runtime.md).
    """

    name = "transformers"
    concurrent = False
    reports_start = True  # marked when the worker thread takes the request off its queue

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str | None = None,
        dtype: Any = None,
        cache: ConstraintCache | None = None,
        overlap: bool | None = None,
        loaded: LoadedModel | None = None,
        fast_forward: bool = True,
    ) -> None:
        self.loaded = loaded or load_model(model, device=device, dtype=dtype)
        self.cache = cache or ConstraintCache()
        lm, tok = self.loaded.model, self.loaded.tokenizer
        self.eos_ids = eos_token_ids(tok, lm)
        self.vocab_size = int(lm.config.vocab_size)
        n_vocab = self.vocab_size if self.vocab_size > len(tok) else None
        self._llg = llg_tokenizer_for(tok, n_vocab=n_vocab, eos_ids=self.eos_ids)
        self.mask_vocab = int(self._llg.vocab_size)  # width of llguidance's masks (may differ from the logits)
        self.fast_forward = fast_forward
        self.overlap = self.loaded.device.startswith("cuda") if overlap is None else overlap
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="ananke-engine")
        self._mask_worker = ThreadPoolExecutor(1, thread_name_prefix="ananke-mask")
        self._closed = False

    # -- Engine interface ------------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        return self.loaded.name

    @property
    def device(self) -> str:
        return self.loaded.device

    @property
    def max_context(self) -> int | None:
        value = getattr(self.loaded.model.config, "max_position_embeddings", None)
        return int(value) if value else None

    def llg_tokenizer(self) -> Any:
        return self._llg

    def count_tokens(self, text: str) -> int:
        return len(self.loaded.tokenizer.encode(text, add_special_tokens=False))

    def encode_prompt(self, prompt: str, chat: bool = True) -> list[int]:
        """Token ids of ``prompt``, wrapped in the chat template when ``chat`` and the model has one."""
        tok = self.loaded.tokenizer
        if chat and getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=True, add_generation_prompt=True
            )
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return list(ids)
        ids = list(tok.encode(prompt))
        if ids:
            return ids
        if tok.bos_token_id is not None:  # an empty completion prompt starts from BOS, as in vLLM
            return [tok.bos_token_id]
        raise RequestError("the prompt is empty and the model has no BOS token to start from", field="prompt")

    async def generate(
        self, prompt: str, compiled: Any | None, params: GenerationParams, chat: bool = True
    ) -> EngineOutput:
        submitted = time.perf_counter()
        loop = asyncio.get_running_loop()
        cancel = threading.Event()  # a cancelled await (timeout, shutdown) stops decoding at the next token
        queued = _Queued(submitted, cancel, start_signal())
        future = loop.run_in_executor(self._worker, self._run_queued, queued, prompt, compiled, params, chat, None)
        try:
            return await future
        except asyncio.CancelledError:
            cancel.set()
            raise

    async def stream(
        self, prompt: str, compiled: Any | None, params: GenerationParams, chat: bool = True
    ) -> AsyncIterator[StreamDelta | EngineOutput]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def on_text(delta: str, ids: list[int]) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, StreamDelta(text=delta, token_ids=ids))

        submitted = time.perf_counter()
        cancel = threading.Event()  # set when the consumer stops early (e.g. a client disconnects)
        queued = _Queued(submitted, cancel, start_signal())
        future = loop.run_in_executor(self._worker, self._run_queued, queued, prompt, compiled, params, chat, on_text)
        future.add_done_callback(lambda _f: loop.call_soon_threadsafe(queue.put_nowait, _DONE))
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                yield item
            yield await future
        finally:
            cancel.set()
            future.cancel()  # still queued: it never runs

    def generate_sync(
        self,
        prompt: str,
        compiled: Any | None,
        params: GenerationParams,
        chat: bool = True,
        on_text: Callable[[str, list[int]], None] | None = None,
    ) -> EngineOutput:
        """Blocking generation on the calling thread (benchmarks; the service uses :meth:`generate`)."""
        return self._run(prompt, compiled, params, chat, on_text, None)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._worker.shutdown(wait=False)
            self._mask_worker.shutdown(wait=False)

    # -- internals ----------------------------------------------------------------------------------

    def matchers_for(self, compiled: Any) -> tuple[MatcherSet | None, bool]:
        """Ready matcher templates for ``compiled`` (cached per tokenizer)."""
        if compiled is None or not compiled.grammars:
            return None, True
        return self.cache.get_matchers(compiled, self._llg, lambda: build_matchers(compiled, self._llg))

    def _run_queued(
        self,
        queued: _Queued,
        prompt: str,
        compiled: Any,
        params: GenerationParams,
        chat: bool,
        on_text: Callable[[str, list[int]], None] | None,
    ) -> EngineOutput:
        queue_ms = (time.perf_counter() - queued.submitted) * 1000.0
        if queued.cancel.is_set():  # given up while it waited (a stream's consumer went away)
            raise EngineError("the request was cancelled before it started")
        if queued.signal is not None:
            queued.signal.mark()
        out = self._run(prompt, compiled, params, chat, on_text, queued.cancel)
        out.timings["queue_ms"] = queue_ms
        return out

    def _run(
        self,
        prompt: str,
        compiled: Any,
        params: GenerationParams,
        chat: bool,
        on_text: Callable[[str, list[int]], None] | None,
        cancel: threading.Event | None,
    ) -> EngineOutput:
        import torch  # heavy

        started = time.perf_counter()
        state = None
        matcher_ms = 0.0
        if compiled is not None:
            matcher_set, _hit = self.matchers_for(compiled)
            state = ConstraintState.for_request(compiled, matcher_set, self.mask_vocab, self.eos_ids)
            matcher_ms = (time.perf_counter() - started) * 1000.0
        prompt_ids = self.encode_prompt(prompt, chat)
        generator = torch.Generator(device="cpu")
        if params.seed is not None:
            generator.manual_seed(params.seed)
        else:
            generator.seed()
        loop = DecodeLoop(
            self._forward_fn(),
            self._llg,
            self.eos_ids,
            state,
            params,
            on_text=on_text,
            executor=self._mask_worker,
            overlap=self.overlap,
            generator=generator,
            fast_forward=self.fast_forward,
            cancel=cancel,
        )
        try:
            with torch.inference_mode():
                out = loop.run(prompt_ids)
        except RuntimeError as exc:
            raise EngineError(f"generation failed: {exc}") from exc
        out.timings["matchers_ms"] = matcher_ms
        return out

    def _forward_fn(self) -> Callable[[list[int]], Any]:
        """A ``forward(ids) -> last logits`` closure holding this request's KV cache."""
        import torch
        from transformers import DynamicCache

        model = self.loaded.model
        device = self.loaded.device
        past = DynamicCache(config=model.config)
        cache_kwarg = {_cache_parameter(model): past}
        lock = threading.Lock()

        def forward(ids: list[int]) -> Any:
            with lock:
                input_ids = torch.tensor([ids], dtype=torch.long, device=device)
                out = model(input_ids=input_ids, use_cache=True, logits_to_keep=1, **cache_kwarg)
                return out.logits[0, -1].float().cpu()

        return forward


def _cache_parameter(model: Any) -> str:
    """``cache`` in transformers releases that deprecate ``past_key_values``, else ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
