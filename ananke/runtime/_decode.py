"""The decoding core: matchers, AND-ed token masks, sampling, stop conditions.

Engine-agnostic: :class:`DecodeLoop` drives any ``forward(token_ids) -> logits``
callable (logits of the last position, a 1-D torch tensor) under a
:class:`ConstraintState`:

* one ``llguidance.LLMatcher`` per grammar of the compiled constraint plus
  the static token set, masks AND-ed bitwise (32 tokens per int32 word);
* EOS is allowed only when every matcher accepts: each matcher allows the
  model's EOS ids (all of them — the LLTokenizer is built with them) only
  when it accepts, and the AND keeps them only when all do; the static set
  never removes EOS unless EOS is explicitly forbidden;
* forced tokens (``compute_ff_tokens``) are appended without sampling and
  fed to the model in one forward pass;
* once every matcher is stopped (only EOS possible) the loop ends without
  another forward pass;
* the next mask can be computed on a helper thread while the forward pass
  runs (``overlap=True``); ``mask_us_per_token`` reports the mask compute
  time per sampled token, ``timings['mask_wait_ms']`` the part of it that
  stayed on the critical path.
"""

from __future__ import annotations

import codecs
import functools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ananke.errors import ConstraintError
from ananke.runtime._cache import MatcherSet
from ananke.runtime._engine import EngineOutput, FinishReason, GenerationParams

__all__ = [
    "ConstraintState",
    "DecodeLoop",
    "bitmask_words",
    "build_matchers",
    "sample_token",
    "static_bitmask",
]


def bitmask_words(vocab_size: int) -> int:
    return (vocab_size + 31) // 32


def build_matchers(compiled: Any, llg_tokenizer: Any) -> MatcherSet:
    """One ready ``LLMatcher`` per grammar of ``compiled`` (the templates requests copy)."""
    import llguidance as llg

    from ananke.core._llg import check_grammar, make_limits

    started = time.perf_counter()
    templates = []
    for text in compiled.grammars:
        _, _, matcher = check_grammar(text, llg_tokenizer, build=True, warnings=False)
        if matcher is None:
            error = llg.LLMatcher(
                llg_tokenizer, llg.grammar_from("lark", text), limits=make_limits(), log_level=0
            ).get_error()
            raise ConstraintError(f"llguidance rejected the compiled grammar: {error}")
        templates.append(matcher)
    return MatcherSet(templates, (time.perf_counter() - started) * 1000.0)


def static_bitmask(token_mask: Any, vocab_size: int, eos_ids: Sequence[int]) -> np.ndarray | None:
    """The static token set as an int32 bitmask row, or None when it allows everything.

    EOS ids stay allowed (so that generation can end) unless explicitly forbidden.
    """
    if token_mask is None or (token_mask.allowed is None and not token_mask.forbidden):
        return None
    allowed = np.zeros(bitmask_words(vocab_size) * 32, dtype=bool)
    if token_mask.allowed is None:
        allowed[:vocab_size] = True
    else:
        ids = np.asarray([t for t in token_mask.allowed if 0 <= t < vocab_size], dtype=np.int64)
        allowed[ids] = True
        allowed[[t for t in eos_ids if t < vocab_size]] = True
    forbidden = np.asarray([t for t in token_mask.forbidden if 0 <= t < vocab_size], dtype=np.int64)
    allowed[forbidden] = False
    return np.packbits(allowed, bitorder="little").view(np.int32).copy()


class ConstraintState:
    """Per-request matcher copies plus the static mask; computes the AND-ed mask."""

    def __init__(self, matchers: list[Any], static: np.ndarray | None, vocab_size: int) -> None:
        self.matchers = matchers
        self.static = static
        self.vocab_size = vocab_size
        words = bitmask_words(vocab_size)
        self.mask = np.full(words, -1, dtype=np.int32)
        self._rows = np.full((max(len(matchers) - 1, 0), words), -1, dtype=np.int32)
        self._nbytes = words * 4
        self.mask_ns = 0
        self.mask_count = 0

    @classmethod
    def for_request(
        cls, compiled: Any, matcher_set: MatcherSet | None, vocab_size: int, eos_ids: Sequence[int]
    ) -> ConstraintState:
        matchers = matcher_set.fork() if matcher_set is not None else []
        return cls(matchers, static_bitmask(compiled.token_mask, vocab_size, eos_ids), vocab_size)

    def compute_mask(self) -> np.ndarray:
        """Fill and return ``self.mask``: every matcher's mask AND the static set."""
        started = time.perf_counter_ns()
        mask = self.mask
        if self.matchers:
            self.matchers[0].unsafe_compute_mask_ptr(mask.ctypes.data, self._nbytes)
            for row, matcher in zip(self._rows, self.matchers[1:], strict=True):
                matcher.unsafe_compute_mask_ptr(row.ctypes.data, self._nbytes)
                np.bitwise_and(mask, row, out=mask)
        else:
            mask.fill(-1)
        if self.static is not None:
            np.bitwise_and(mask, self.static, out=mask)
        self.mask_ns += time.perf_counter_ns() - started
        self.mask_count += 1
        return mask

    def allows(self, token: int) -> bool:
        return token < self.vocab_size and bool((int(self.mask[token >> 5]) >> (token & 31)) & 1)

    def consume(self, token: int) -> str | None:
        """Advance every matcher by ``token``; return an error message or None."""
        for matcher in self.matchers:
            if not matcher.consume_token(token):
                return matcher.get_error() or f"token {token} rejected by the constraint"
        return None

    def forced_tokens(self, budget: int) -> list[int]:
        """Tokens every part of the constraint forces next (at most ``budget``)."""
        if budget <= 0 or not self.matchers:
            return []
        forced = list(self.matchers[0].compute_ff_tokens())[:budget]
        for matcher in self.matchers[1:]:
            if not forced:
                break
            forced = forced[: matcher.validate_tokens(forced)]
        if self.static is not None:
            for i, token in enumerate(forced):
                if not (int(self.static[token >> 5]) >> (token & 31)) & 1:
                    forced = forced[:i]
                    break
        return forced

    def stopped(self) -> bool:
        """True when some matcher can only end (nothing but EOS remains possible)."""
        return any(m.is_stopped() for m in self.matchers)

    def accepting(self) -> bool:
        return all(m.is_accepting() for m in self.matchers)


def _allowed_bool(mask: np.ndarray, n: int) -> np.ndarray:
    return np.unpackbits(mask.view(np.uint8), bitorder="little", count=n).view(bool)


def sample_token(
    logits: Any, params: GenerationParams, generator: Any = None, mask: np.ndarray | None = None
) -> int | None:
    """Pick the next token from 1-D ``logits`` under ``mask`` (None: no mask).

    Order: mask, temperature, top-k, top-p, then a draw from ``generator``.
    Greedy (temperature 0 or top_k 1) checks the unmasked argmax first and
    only looks at the mask when that token is not allowed.  Under a mask the
    work is done on the allowed candidates only; with top-k, on the k best.
    Returns None when the mask allows nothing.
    """
    import torch

    greedy = params.temperature < 1e-5 or params.top_k == 1  # a vanishing temperature is greedy
    if greedy:
        token = int(torch.argmax(logits))
        if mask is None or (token < mask.size * 32 and (int(mask[token >> 5]) >> (token & 31)) & 1):
            return token
    candidates = None
    values = logits
    if mask is not None:
        ids = np.flatnonzero(_allowed_bool(mask, min(logits.numel(), mask.size * 32)))
        if ids.size == 0:
            return None
        if ids.size == 1:
            return int(ids[0])
        candidates = torch.from_numpy(ids)
        values = logits[candidates]
    if greedy:
        pos = int(torch.argmax(values))
        return int(candidates[pos]) if candidates is not None else pos
    values = values.float() / params.temperature
    ranked = False
    if 0 < params.top_k < values.numel():
        values, order = torch.topk(values, params.top_k)  # sorted, best first
        candidates = candidates[order] if candidates is not None else order
        ranked = True
    probs = torch.softmax(values, dim=-1)
    if params.top_p < 1.0:
        if not ranked:
            probs, order = _nucleus_candidates(probs, params.top_p)
            candidates = candidates[order] if candidates is not None else order
        drop = torch.cumsum(probs, dim=-1) - probs >= params.top_p  # keep the smallest prefix reaching top_p
        probs = probs.masked_fill(drop, 0.0)
    pos = _draw(probs, generator)
    return int(candidates[pos]) if candidates is not None else pos


def _nucleus_candidates(probs: Any, top_p: float, first: int = 256) -> tuple[Any, Any]:
    """The most probable tokens, best first, enough to cover ``top_p`` (a full sort only when needed)."""
    import torch

    if probs.numel() > first:
        top, order = torch.topk(probs, first)
        if float(top.sum()) >= top_p:
            return top, order
    return torch.sort(probs, descending=True)


def _draw(probs: Any, generator: Any) -> int:
    """Inverse-CDF draw from unnormalized ``probs`` with one uniform number (cheaper than multinomial)."""
    import torch

    cdf = torch.cumsum(probs, dim=-1)
    u = torch.rand(1, generator=generator, dtype=cdf.dtype) * cdf[-1]
    return min(int(torch.searchsorted(cdf, u, right=True)), probs.numel() - 1)


@dataclass
class _Progress:
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    emitted: int = 0
    finish: FinishReason | None = None
    error: str | None = None
    cut: bool = False  # text was cut at a stop sequence


class DecodeLoop:
    """One generation: prefill, then sample/consume/forward until a finish reason.

    ``forward(ids)`` feeds ``ids`` (the prompt first, then new tokens) to the
    model, keeping its KV cache, and returns the last position's logits.
    ``on_text(delta, token_ids)`` receives decoded text as it becomes final
    (text that could still turn into a stop sequence is held back).
    ``executor`` (one worker) computes the next mask during the forward pass
    when ``overlap`` is true.  Setting ``cancel`` ends the loop before the
    next step (finish reason ``stop``, error ``cancelled``).
    """

    def __init__(
        self,
        forward: Callable[[list[int]], Any],
        llg_tokenizer: Any,
        eos_ids: Sequence[int],
        state: ConstraintState | None,
        params: GenerationParams,
        *,
        on_text: Callable[[str, list[int]], None] | None = None,
        executor: Executor | None = None,
        overlap: bool = False,
        generator: Any = None,
        fast_forward: bool = True,
        cancel: threading.Event | None = None,
    ) -> None:
        self._forward = forward
        self.cancel = cancel
        self.forward_passes = 0
        self.fast_forward = fast_forward
        self.tok = llg_tokenizer
        self.eos = frozenset(eos_ids)
        self.state = state
        self.params = params
        self.on_text = on_text
        self.executor = executor if overlap else None
        self.generator = generator
        self.stops = [s for s in params.stop if s]
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.mask_wait_ns = 0

    def forward(self, ids: list[int]) -> Any:
        self.forward_passes += 1
        return self._forward(ids)

    def _next_mask(self, logits_fn: Callable[[], Any]) -> tuple[Any, np.ndarray | None]:
        """Run ``logits_fn`` (a forward pass) and compute the mask, overlapped when possible."""
        state = self.state
        if state is None:
            return logits_fn(), None
        if self.executor is None:
            # The next mask depends only on the matchers' state, so compute it *before* the forward
            # pass: right after consume() the matcher's data is still in the CPU caches; after a
            # forward pass (which streams the weights through them) the same mask costs ~20x more.
            started = time.perf_counter_ns()
            mask = state.compute_mask()
            self.mask_wait_ns += time.perf_counter_ns() - started
            return logits_fn(), mask
        future = self.executor.submit(state.compute_mask)
        logits = logits_fn()
        started = time.perf_counter_ns()
        mask = future.result()
        self.mask_wait_ns += time.perf_counter_ns() - started
        return logits, mask

    def _append(self, prog: _Progress, ids: list[int], *, final: bool = False) -> None:
        prog.tokens.extend(ids)
        piece = self._decoder.decode(self.tok.decode_bytes(ids), final=final) if ids or final else ""
        if prog.cut:
            return
        start = max(len(prog.text) - self._hold, 0)
        prog.text += piece
        for stop in self.stops:
            at = prog.text.find(stop, start)
            if at >= 0:
                prog.text = prog.text[:at]
                prog.finish, prog.cut = "stop", True
        self._emit(prog, final=prog.finish is not None)

    def _emit(self, prog: _Progress, *, final: bool) -> None:
        end = len(prog.text) if final or not self.stops else max(len(prog.text) - self._hold, prog.emitted)
        if self.on_text is not None and end > prog.emitted:
            self.on_text(prog.text[prog.emitted : end], [])
        prog.emitted = max(prog.emitted, end)

    def _step(self, prog: _Progress, logits: Any, mask: np.ndarray | None) -> list[int] | None:
        """Sample one token (plus forced ones); return what to feed next, or None when done."""
        params, state = self.params, self.state
        token = sample_token(logits, params, self.generator, mask)
        if token is None:
            prog.finish, prog.error = "constraint_error", "the constraint allows no token here"
            return None
        if token in self.eos:
            prog.finish = "stop"
            return None
        if state is not None:
            error = state.consume(token)
            if error:
                prog.finish, prog.error = "constraint_error", error
                return None
        feed = [token]
        if state is not None and self.fast_forward:
            forced = state.forced_tokens(params.max_tokens - len(prog.tokens) - 1)
            error = state_consume_all(state, forced)
            if error:
                prog.finish, prog.error = "constraint_error", error
                return None
            feed += forced
        self._append(prog, feed)
        if prog.finish:
            return None
        if len(prog.tokens) >= params.max_tokens:
            prog.finish = "length"
            return None
        if state is not None and state.stopped():
            ok = state.accepting()
            prog.finish = "stop" if ok else "constraint_error"
            prog.error = None if ok else "the constraint stopped without accepting"
            return None
        return feed

    def run(self, prompt_ids: list[int]) -> EngineOutput:
        started = time.perf_counter()
        prog = _Progress()
        logits, mask = self._next_mask(lambda: self.forward(prompt_ids))
        prefill_ms = (time.perf_counter() - started) * 1000.0
        while prog.finish is None:
            if self.cancel is not None and self.cancel.is_set():
                prog.finish, prog.error = "stop", "cancelled"
                break
            feed = self._step(prog, logits, mask)
            if feed is None:
                break
            logits, mask = self._next_mask(functools.partial(self.forward, feed))
        self._append(prog, [], final=True)
        total_ms = (time.perf_counter() - started) * 1000.0
        state = self.state
        n_sampled = state.mask_count if state is not None else 0
        mask_us = (state.mask_ns / 1000.0 / n_sampled) if state is not None and n_sampled else 0.0
        timings = {
            "generate_ms": total_ms,
            "prefill_ms": prefill_ms,
            "mask_wait_ms": self.mask_wait_ns / 1e6,
            "forward_passes": float(self.forward_passes),
        }
        if state is not None:
            timings["mask_total_ms"] = state.mask_ns / 1e6
        return EngineOutput(
            text=prog.text,
            token_ids=prog.tokens,
            finish_reason=prog.finish or "length",
            prompt_tokens=len(prompt_ids),
            timings=timings,
            mask_us_per_token=mask_us,
            error=prog.error,
        )


def state_consume_all(state: ConstraintState, tokens: list[int]) -> str | None:
    for token in tokens:
        error = state.consume(token)
        if error:
            return error
    return None
