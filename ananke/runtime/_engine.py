"""Engine interface and the data types shared by every engine.

An *engine* turns a prompt plus a compiled constraint into text.  Two built-in
engines implement this interface: :class:`ananke.runtime.engines.transformers.TransformersEngine`
(local, CPU/CUDA) and :class:`ananke.runtime.engines.vllm.VllmEngine` (GPUs, or vLLM's
CPU backend); more come from the ``ananke.engines`` entry-point group
(:mod:`ananke.runtime.engines`).  The generation service only talks to engines
through :class:`Engine`.

Stability: the names and fields in this module are a contract between the
runtime, the engines and the HTTP server.  Add optional fields; never rename.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FINISH_REASONS",
    "Engine",
    "EngineOutput",
    "FinishReason",
    "GenerationParams",
    "StartSignal",
    "StreamDelta",
    "compose_prompt",
    "start_signal",
    "watch_start",
]

FinishReason = Literal["stop", "length", "constraint_error"]
FINISH_REASONS: tuple[str, ...] = ("stop", "length", "constraint_error")


class GenerationParams(BaseModel):
    """Sampling parameters of one request (already validated by the service).

    ``temperature == 0`` (or ``top_k == 1``) means greedy decoding.
    ``top_k == 0`` disables top-k filtering; ``top_p == 1`` disables nucleus
    filtering.  ``seed`` makes sampling reproducible on one engine.
    ``stop`` holds stop sequences: generation ends (finish reason ``stop``)
    as soon as the text contains one; the stop sequence is not returned.
    """

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.95, gt=0.0, le=1.0)
    top_k: int = Field(default=50, ge=0)
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)


class EngineOutput(BaseModel):
    """Result of one generation.

    ``finish_reason`` is ``stop`` (EOS allowed by every matcher, or a stop
    sequence), ``length`` (``max_tokens`` reached) or ``constraint_error``
    (the constraint left no allowed token, or a matcher rejected a token;
    ``error`` says why).  ``timings`` holds millisecond figures, at least
    ``generate_ms`` and, where known, ``prefill_ms``, ``queue_ms``.
    ``mask_us_per_token`` is the mean wall time spent computing the token
    mask per generated token on the critical path (0.0 when unconstrained).
    """

    model_config = ConfigDict(extra="forbid")

    text: str
    token_ids: list[int] = Field(default_factory=list)
    finish_reason: FinishReason
    prompt_tokens: int = 0
    timings: dict[str, float] = Field(default_factory=dict)
    mask_us_per_token: float = 0.0
    error: str | None = None

    @property
    def tokens_generated(self) -> int:
        return len(self.token_ids)


class StreamDelta(BaseModel):
    """One streamed piece of text (``Engine.stream`` yields these, then an :class:`EngineOutput`)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    token_ids: list[int] = Field(default_factory=list)


def compose_prompt(prompt: str, context: str | None = None) -> str:
    """The seed service's prompt composition: ``context`` + blank line + ``prompt``."""
    if context:
        return f"{context}\n\n{prompt}"
    return prompt


class StartSignal:
    """Whether the engine has begun generating a request (set from any thread, read anywhere).

    The server tells a request stopped by shutdown before it started (safe to retry) from one
    stopped mid-generation (not known to be safe) by this signal; for an engine whose
    :attr:`Engine.reports_start` is False it counts every request as started (the cautious answer).
    """

    def __init__(self) -> None:
        self._started = threading.Event()

    def mark(self) -> None:
        self._started.set()

    @property
    def started(self) -> bool:
        return self._started.is_set()


_START: contextvars.ContextVar[StartSignal | None] = contextvars.ContextVar("ananke_start_signal", default=None)


@contextlib.contextmanager
def watch_start() -> Iterator[StartSignal]:
    """A fresh :class:`StartSignal` for the engine calls made inside this block (and the tasks
    created in it)."""
    signal = StartSignal()
    token = _START.set(signal)
    try:
        yield signal
    finally:
        _START.reset(token)


def start_signal() -> StartSignal | None:
    """The signal of the request being submitted, for an engine to :meth:`~StartSignal.mark` when its
    decoding begins. Read it in ``generate``/``stream`` on the event loop (a worker thread does not
    see it) and hand it to the thread that decodes."""
    return _START.get()


class Engine(abc.ABC):
    """A text generator that enforces compiled constraints token by token.

    ``compiled`` arguments are :class:`ananke.CompiledConstraint` objects (or
    ``None`` for unconstrained generation); an engine reads ``grammars``
    (Lark texts, languages intersected) and ``token_mask`` (``allowed`` /
    ``forbidden`` token ids).  An engine that cannot enforce some part of a
    constraint must raise ``ananke.ConstraintError`` up front, never drop it.

    The service awaits ``generate``/``stream`` from many asyncio tasks at once
    and does not serialize them: an engine queues or batches requests itself
    (``TransformersEngine`` runs them on one worker thread in arrival order,
    ``VllmEngine`` batches them continuously).
    """

    #: engine kind, e.g. ``"transformers"`` or ``"vllm"``
    name: str = "engine"
    #: informational: True when the engine runs concurrent requests together (vLLM batching),
    #: False when it runs them one at a time; nothing in Ananke changes its behaviour on it
    concurrent: bool = False
    #: True when the engine marks :func:`start_signal` as it begins each request; otherwise a
    #: request stopped by shutdown is always reported as interrupted, never as not started
    reports_start: bool = False

    @property
    @abc.abstractmethod
    def model_name(self) -> str:
        """Model id or path the engine serves."""

    @abc.abstractmethod
    def llg_tokenizer(self) -> Any:
        """The model's ``llguidance.LLTokenizer`` (cached; used for compile-time validation)."""

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (no special tokens); used for prompt length limits."""
        return len(self.llg_tokenizer().tokenize_str(text))

    @property
    def max_context(self) -> int | None:
        """Model context length in tokens, or None when unknown."""
        return None

    @abc.abstractmethod
    async def generate(
        self,
        prompt: str,
        compiled: Any | None,
        params: GenerationParams,
        chat: bool = True,
    ) -> EngineOutput:
        """Generate a completion of ``prompt`` under ``compiled``.

        ``chat=True`` wraps the prompt in the model's chat template (as a user
        message) when the model has one; ``chat=False`` uses it verbatim.
        """

    @abc.abstractmethod
    def stream(
        self,
        prompt: str,
        compiled: Any | None,
        params: GenerationParams,
        chat: bool = True,
    ) -> AsyncIterator[StreamDelta | EngineOutput]:
        """Like :meth:`generate`, yielding :class:`StreamDelta` text pieces as
        they are decoded and finally one :class:`EngineOutput` (whose ``text``
        is the whole text).  Implement as an ``async def`` generator."""

    async def aclose(self) -> None:
        """Release resources (threads, GPU memory).  Idempotent."""
        return None
