"""A transformers logits processor that enforces any Ananke constraint during ``model.generate``.

    from transformers import LogitsProcessorList
    from ananke.integrations.transformers import AnankeLogitsProcessor

    proc = AnankeLogitsProcessor({"kind": "regex", "pattern": "[0-9]{4}"}, tokenizer, model=model)
    out = model.generate(**inputs, logits_processor=LogitsProcessorList([proc]), max_new_tokens=16)

Same masks as Ananke's own engine (:class:`ananke.runtime.TransformersEngine`): one
``llguidance.LLMatcher`` per grammar of the compiled constraint, their masks AND-ed with the
static token set, EOS allowed only when every matcher accepts. The compiled constraint and its
ready matchers come from a :class:`ananke.runtime.ConstraintCache` (pass the engine's to share
it) and are forked per generation. Tokens the constraint forces still cost one forward pass each
here (``generate`` samples one token per step; the mask then allows only the forced token).

transformers and torch are imported when a processor is built, never at ``import ananke``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ananke.errors import ConstraintError
from ananke.runtime._cache import ConstraintCache

__all__ = ["AnankeLogitsProcessor", "logits_processor"]

_DEFAULT_CACHE: ConstraintCache | None = None


def _default_cache() -> ConstraintCache:
    global _DEFAULT_CACHE  # one process-wide cache, like the engine's
    if _DEFAULT_CACHE is None:
        _DEFAULT_CACHE = ConstraintCache()
    return _DEFAULT_CACHE


class _Row:
    """The constraint state of one sequence of the batch."""

    __slots__ = ("done", "state")

    def __init__(self, state: Any) -> None:
        self.state = state
        self.done = False


class AnankeLogitsProcessor:
    """Masks ``scores`` so that ``model.generate`` can only produce text the constraint accepts.

    ``constraint``: anything :func:`ananke.compile` accepts (a dict, JSON/YAML text, a file
    path) or a :class:`ananke.CompiledConstraint`. ``tokenizer``: the model's Hugging Face
    tokenizer. ``model`` (optional): the model, for every EOS id its generation config
    declares and its logit width — pass it to share the engine's ``LLTokenizer``.
    ``cache``: a :class:`ConstraintCache` (default: one per process). ``kind``/``lenient``
    as in :func:`ananke.compile`.

    Each row of the batch gets its own matchers. The first call of a generation records the
    prompt length; the matchers consume only the tokens generated after it. A call whose
    sequences do not continue the previous call's starts a new generation (so one processor
    can serve several ``generate`` calls, one at a time). Beam search is not supported
    (beams are reordered between steps); greedy decoding and sampling are.
    """

    def __init__(
        self,
        constraint: Any,
        tokenizer: Any,
        *,
        model: Any = None,
        cache: ConstraintCache | None = None,
        kind: str | None = None,
        lenient: bool = False,
    ) -> None:
        from ananke.core import CompiledConstraint
        from ananke.runtime._decode import build_matchers
        from ananke.runtime._tokenizer import eos_token_ids, llg_tokenizer_for

        self.cache = cache if cache is not None else _default_cache()
        self.eos_ids = eos_token_ids(tokenizer, model)
        vocab = int(getattr(getattr(model, "config", None), "vocab_size", 0) or 0)
        n_vocab = vocab if vocab > len(tokenizer) else None  # as TransformersEngine builds it
        self.llg_tokenizer = llg_tokenizer_for(tokenizer, n_vocab=n_vocab, eos_ids=self.eos_ids)
        self.mask_vocab = int(self.llg_tokenizer.vocab_size)
        if isinstance(constraint, CompiledConstraint):
            self.compiled, self.cache_hit = constraint, False
        else:
            self.compiled, self.cache_hit = self.cache.get_compiled(
                constraint, lenient=lenient, tokenizer=self.llg_tokenizer, kind=kind
            )
        self._matcher_set = None
        if self.compiled.grammars:
            self._matcher_set, _ = self.cache.get_matchers(
                self.compiled, self.llg_tokenizer, lambda: build_matchers(self.compiled, self.llg_tokenizer)
            )
        self.rows: list[_Row] = []
        self.prompt_length: int | None = None
        self._seen = 0  # sequence length of the previous call
        self._last: Any = None  # last token of each row at the previous call

    def reset(self) -> None:
        """Forget the current generation; the next call starts a new one."""
        self.rows, self.prompt_length, self._seen, self._last = [], None, 0, None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if not self._continues(input_ids):
            self._start(input_ids)
        else:
            self._consume(input_ids[:, -1].tolist())
        self._seen = int(input_ids.shape[1])
        self._last = input_ids[:, -1].clone()
        allowed = torch.from_numpy(self._allowed(int(scores.shape[-1]))).to(scores.device)
        return scores.masked_fill(~allowed, float("-inf"))

    # -- internals ------------------------------------------------------------------------------

    def _continues(self, input_ids: Any) -> bool:
        if self.prompt_length is None or len(self.rows) != int(input_ids.shape[0]):
            return False
        if int(input_ids.shape[1]) != self._seen + 1:
            return False
        return bool((input_ids[:, self._seen - 1] == self._last.to(input_ids.device)).all())

    def _start(self, input_ids: Any) -> None:
        from ananke.runtime._decode import ConstraintState

        self.prompt_length = int(input_ids.shape[1])
        self.rows = [
            _Row(ConstraintState.for_request(self.compiled, self._matcher_set, self.mask_vocab, self.eos_ids))
            for _ in range(int(input_ids.shape[0]))
        ]

    def _consume(self, tokens: Sequence[int]) -> None:
        for index, (row, token) in enumerate(zip(self.rows, tokens, strict=True)):
            if row.done:
                continue  # finished rows are padded by generate: nothing to check
            if token in self.eos_ids:
                row.done = True
                continue
            error = row.state.consume(int(token))
            if error:
                raise ConstraintError(
                    f"row {index}: generated token {token} was rejected by the constraint "
                    f"({error}); was a processor placed after Ananke's changing the scores?"
                )

    def _allowed(self, width: int) -> np.ndarray:
        """A ``(batch, width)`` bool array: the tokens each row may take next."""
        out = np.zeros((len(self.rows), width), dtype=bool)
        n = min(width, self.mask_vocab)
        for index, row in enumerate(self.rows):
            if row.done:
                out[index] = True  # generate ignores finished rows' scores
                continue
            mask = row.state.compute_mask()
            out[index, :n] = np.unpackbits(mask.view(np.uint8), bitorder="little", count=n).view(bool)
            if not out[index].any():
                raise ConstraintError(f"row {index}: the constraint allows no token here")
        return out


def logits_processor(constraint: Any, tokenizer: Any, **kwargs: Any) -> Any:
    """A ``transformers.LogitsProcessorList`` holding one :class:`AnankeLogitsProcessor`."""
    from transformers import LogitsProcessorList

    return LogitsProcessorList([AnankeLogitsProcessor(constraint, tokenizer, **kwargs)])
