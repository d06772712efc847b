"""The vLLM logits processor that intersects further grammars (``all_of``) with vLLM's own mask.

vLLM's structured-output backend takes one grammar per request. A constraint whose parts
compile to several grammars that must all hold sends its first grammar there and the others
in ``SamplingParams.extra_args[EXTRA_ARG]`` (a list of Lark texts). :class:`AllOfGrammarsProcessor`
— registered on the engine with ``logits_processors=[PROCESSOR]`` — runs inside vLLM's worker:
for each such request it keeps one ``llguidance.LLMatcher`` per further grammar, advances them
with the request's output tokens before every step and masks the logits with each matcher's
allowed set. vLLM then applies the first grammar's mask on top, so the token sampled is allowed
by every grammar (the end-of-sequence token only where every matcher accepts), the same
semantics as Ananke's local decoding core.

Ready matchers are kept in a worker-side LRU cache keyed by the grammar text's hash and forked
per request (``deep_copy`` is far cheaper than building a matcher). A matcher that errors (it
cannot happen while the masks hold) leaves the row unmasked; the engine's replay of the
generated tokens then reports ``constraint_error``, so nothing passes as satisfied.

This module imports torch and vLLM: only vLLM's worker and :mod:`._vllm` (lazily) load it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor, MoveDirectionality

from ananke.runtime._cache import LRUCache
from ananke.runtime.engines._vllm import ALL_OF_EXTRA_ARG, ALL_OF_PROCESSOR

__all__ = ["EXTRA_ARG", "PROCESSOR", "AllOfGrammarsProcessor"]

EXTRA_ARG = ALL_OF_EXTRA_ARG
PROCESSOR = ALL_OF_PROCESSOR


def request_grammars(params: SamplingParams) -> list[str]:
    """The further grammars a request asks for (empty when it asks for none)."""
    return list((params.extra_args or {}).get(EXTRA_ARG) or ())


class _Row:
    """One request's matchers and the reference to its growing output-token list."""

    __slots__ = ("consumed", "matchers", "output_ids")

    def __init__(self, matchers: list[Any], output_ids: list[int]) -> None:
        self.matchers = matchers
        self.output_ids = output_ids
        self.consumed = 0

    def advance(self) -> None:
        new = self.output_ids[self.consumed :]
        self.consumed = len(self.output_ids)
        if new:
            for matcher in self.matchers:
                if not matcher.is_error():
                    matcher.consume_tokens(list(new))


class AllOfGrammarsProcessor(LogitsProcessor):
    """AND further grammars' masks into the logits of the requests that carry them."""

    def __init__(self, vllm_config: Any, device: torch.device, is_pin_memory: bool) -> None:
        self._model_config = vllm_config.model_config
        self._max_rows = int(vllm_config.scheduler_config.max_num_seqs)
        self._llg_tokenizer: Any = None
        self._templates: LRUCache[str, Any] = LRUCache(256, "vllm-worker-matchers")
        self._rows: dict[int, _Row] = {}
        self._bitmask: Any = None

    @classmethod
    def validate_params(cls, sampling_params: SamplingParams) -> None:
        grammars = (sampling_params.extra_args or {}).get(EXTRA_ARG)
        if grammars is not None and (
            not isinstance(grammars, list) or not all(isinstance(g, str) and g for g in grammars)
        ):
            raise ValueError(f"extra_args[{EXTRA_ARG!r}] must be a list of Lark grammar texts")

    def is_argmax_invariant(self) -> bool:
        return False

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        if batch_update is None:
            return
        for index in batch_update.removed:
            self._rows.pop(index, None)
        for index, params, _prompt_ids, output_ids in batch_update.added:
            grammars = request_grammars(params)
            if grammars:
                self._rows[index] = _Row([self._fork(text) for text in grammars], output_ids)
            else:
                self._rows.pop(index, None)
        for source, target, direction in batch_update.moved:
            moving = self._rows.pop(source, None)
            if direction == MoveDirectionality.SWAP:
                other = self._rows.pop(target, None)
                if other is not None:
                    self._rows[source] = other
            else:
                self._rows.pop(target, None)
            if moving is not None:
                self._rows[target] = moving

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if not self._rows:
            return logits
        import llguidance.torch as llg_torch

        if self._bitmask is None:
            self._bitmask = llg_torch.allocate_token_bitmask(1, self._tokenizer().vocab_size)
        for index, row in self._rows.items():
            row.advance()
            for matcher in row.matchers:
                if matcher.is_error():
                    continue
                llg_torch.fill_next_token_bitmask(matcher, self._bitmask, 0)
                llg_torch.apply_token_bitmask_inplace(
                    logits[index : index + 1], self._bitmask.to(logits.device, non_blocking=True)
                )
        return logits

    # -- matchers -------------------------------------------------------------------------------

    def _tokenizer(self) -> Any:
        if self._llg_tokenizer is None:
            import llguidance.hf
            from vllm.tokenizers import cached_tokenizer_from_config

            tokenizer = cached_tokenizer_from_config(self._model_config)
            vocab = max(int(self._model_config.get_vocab_size()), len(tokenizer))
            self._llg_tokenizer = llguidance.hf.from_tokenizer(tokenizer, vocab)
        return self._llg_tokenizer

    def _fork(self, grammar: str) -> Any:
        import llguidance as llg

        key = hashlib.sha256(grammar.encode("utf-8")).hexdigest()
        template, _ = self._templates.get_or_create(
            key, lambda: llg.LLMatcher(self._tokenizer(), llg.grammar_from("lark", grammar), log_level=0)
        )
        return template.deep_copy()
