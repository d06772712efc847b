"""Tokenizer bridge: Hugging Face tokenizer → ``llguidance.LLTokenizer``, cached per tokenizer.

Building an ``LLTokenizer`` walks the whole vocabulary (~0.4 s for 49k
tokens), so it is done once per tokenizer object and kept for the life of the
process.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["eos_token_ids", "llg_tokenizer_for", "token_slices"]

#: Identifier runs, bare and after one space: whenever the lexer sits where any such run may follow
#: (inside a name, a string or a comment) llguidance allows the whole slice without walking its
#: part of the token trie. Same masks; measured in docs/results/grammar_corpus.md.
_IDENTIFIER_SLICES = [r"[A-Za-z0-9_]{1,30}", r" [A-Za-z_][A-Za-z0-9_]{0,29}"]

_CACHE: dict[tuple[Any, ...], tuple[Any, Any]] = {}  # (id(hf tok), n_vocab, eos) -> (hf tok kept alive, LLTokenizer)
_LOCK = threading.Lock()


def llg_tokenizer_for(hf_tokenizer: Any, *, n_vocab: int | None = None, eos_ids: list[int] | None = None) -> Any:
    """The ``llguidance.LLTokenizer`` of ``hf_tokenizer`` (built once, then cached).

    ``n_vocab`` pads the vocabulary to the model's logit width when it is
    larger than the tokenizer's; ``eos_ids`` are all the ids that end a
    sequence (llguidance allows every one of them when a grammar accepts).
    """
    key = (id(hf_tokenizer), n_vocab, tuple(eos_ids or ()))
    entry = _CACHE.get(key)
    if entry is not None and entry[0] is hf_tokenizer:
        return entry[1]
    with _LOCK:
        entry = _CACHE.get(key)
        if entry is not None and entry[0] is hf_tokenizer:
            return entry[1]
        import llguidance.hf  # pulls in transformers

        llg_tok = llguidance.hf.from_tokenizer(
            hf_tokenizer, n_vocab=n_vocab, eos_token=list(eos_ids) if eos_ids else None, slices=token_slices()
        )
        _CACHE[key] = (hf_tokenizer, llg_tok)
        return llg_tok


def token_slices() -> list[str]:
    """The tokenizer slices Ananke builds every ``LLTokenizer`` with: identifier runs, then llguidance's own."""
    import llguidance

    return _IDENTIFIER_SLICES + list(llguidance.LLTokenizer.general_slices())


def eos_token_ids(hf_tokenizer: Any, model: Any = None) -> list[int]:
    """Every end-of-sequence id the model declares: generation config, model config, tokenizer."""
    ids: list[int] = []

    def add(value: Any) -> None:
        if value is None:
            return
        for item in value if isinstance(value, (list, tuple, set)) else [value]:
            if isinstance(item, int) and item >= 0 and item not in ids:
                ids.append(item)

    if model is not None:
        add(getattr(getattr(model, "generation_config", None), "eos_token_id", None))
        add(getattr(getattr(model, "config", None), "eos_token_id", None))
    add(getattr(hf_tokenizer, "eos_token_id", None))
    return ids
