"""Byte-level matching of the built-in grammars (tokenizer-independent)."""

from __future__ import annotations

import re
from functools import lru_cache

import llguidance as llg
import pytest

from ananke.grammars import grammar_text


class _Bytes:
    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([i]) for i in range(256)] + [b"<eos>"]
    special_token_ids = [256]

    def __call__(self, s):
        return list(s.encode() if isinstance(s, str) else s)


BYTE_TOK = llg.LLTokenizer(llg.TokenizerWrapper(_Bytes()))


def with_start(language: str, entry: str) -> str:
    """The builtin grammar with ``entry`` as its start rule (the original start is renamed)."""
    text = grammar_text(language)
    if entry == "start":
        return text
    return re.sub(r"^start:", "whole_file_start:", text, count=1, flags=re.M) + f"\nstart: {entry}\n"


@lru_cache(maxsize=None)
def _matcher(language: str, entry: str) -> llg.LLMatcher:
    m = llg.LLMatcher(BYTE_TOK, llg.grammar_from("lark", with_start(language, entry)), log_level=0)
    assert not m.is_error(), m.get_error()
    return m


def accepts(language: str, entry: str, text: str) -> bool:
    m = _matcher(language, entry).deep_copy()
    return m.consume_tokens(list(text.encode())) and m.is_accepting()


@pytest.fixture
def grammar_accepts():
    return accepts
