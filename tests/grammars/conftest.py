"""Byte-level matching of the built-in grammars (tokenizer-independent)."""

from __future__ import annotations

import re
from functools import cache

import llguidance as llg
import pytest

from ananke.core._llg import byte_tokenizer
from ananke.grammars import grammar_text

BYTE_TOK = byte_tokenizer()  # one token per byte: tokenizer-independent matching


def with_start(language: str, entry: str) -> str:
    """The builtin grammar with ``entry`` as its start rule (the original start is renamed)."""
    text = grammar_text(language)
    if entry == "start":
        return text
    return re.sub(r"^start:", "whole_file_start:", text, count=1, flags=re.M) + f"\nstart: {entry}\n"


@cache
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
