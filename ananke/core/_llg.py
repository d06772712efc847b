"""The llguidance boundary: validation, byte-level matching, limits and error translation."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, TypedDict

import llguidance as llg

from ananke.errors import ConstraintError, ConstraintLimitError, Diagnostic, caret_snippet

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+

__all__ = [
    "DEFAULT_LIMITS",
    "byte_tokenizer",
    "check_grammar",
    "engine_grammars",
    "first_step_check",
    "grammar_diagnostic",
    "lark_accepts",
    "make_limits",
    "validate_lark",
]


class _Limits(TypedDict, total=False):
    max_items_in_row: int
    initial_lexer_fuel: int
    step_lexer_fuel: int
    step_max_items: int
    max_lexer_states: int
    max_grammar_size: int


# llguidance's own ``LLParserLimits()`` defaults, spelled out so that they are visible, pinned
# against a change upstream and overridable per call (``make_limits(max_grammar_size=...)``):
# they bound lexer fuel, items and grammar size so that no request can stall a worker.
DEFAULT_LIMITS: _Limits = {
    "max_items_in_row": 2000,
    "initial_lexer_fuel": 1_000_000,
    "step_lexer_fuel": 200_000,
    "step_max_items": 50_000,
    "max_lexer_states": 250_000,
    "max_grammar_size": 500_000,
}

_POSITION = re.compile(r"(?:at )?(\d+)\((\d+)\):\s*")
_LIMIT_WORDS = ("too complex", "limit", "fuel", "too large", "too many")


def make_limits(**overrides: Unpack[_Limits]) -> llg.LLParserLimits:
    limits: _Limits = {**DEFAULT_LIMITS, **overrides}
    return llg.LLParserLimits(**limits, verbose_errors=False)


class _ByteVocabulary:
    """A 257-token vocabulary: one token per byte plus EOS, for tokenizer-independent matching."""

    eos_token_id = 256
    bos_token_id = None
    tokens: ClassVar[list[bytes]] = [bytes([i]) for i in range(256)] + [b"<eos>"]
    special_token_ids: ClassVar[list[int]] = [256]

    def __call__(self, text: str | bytes) -> list[int]:
        return list(text.encode() if isinstance(text, str) else text)


@lru_cache(maxsize=1)
def byte_tokenizer() -> llg.LLTokenizer:
    return llg.LLTokenizer(llg.TokenizerWrapper(_ByteVocabulary()))


def grammar_diagnostic(
    message: str, *, source: str | None = None, pointer: str = "", line_offset: int = 0
) -> Diagnostic:
    """Translate an llguidance error message, locating ``line(column)`` in ``source``."""
    first = message.strip().splitlines()[0] if message.strip() else message
    match = _POSITION.match(first)
    if not match:
        return Diagnostic(first, pointer=pointer)
    line = int(match.group(1)) - line_offset
    column = int(match.group(2)) + 1  # llguidance columns are 0-based
    text = first[match.end() :]
    snippet = caret_snippet(source, line, column) if source is not None and line >= 1 else None
    return Diagnostic(
        text, pointer=pointer, line=line if line >= 1 else None, column=column if line >= 1 else None, snippet=snippet
    )


def validate_lark(
    text: str, *, tokenizer: llg.LLTokenizer | None = None, pointer: str = "", source: str | None = None
) -> tuple[Diagnostic | None, list[str]]:
    """Validate a Lark grammar with llguidance; return (error or None, warnings)."""
    grammar = llg.grammar_from("lark", text)
    is_error, messages = llg.LLMatcher.validate_grammar_with_warnings(grammar, tokenizer, limits=make_limits())
    if is_error:
        diag = grammar_diagnostic(messages[0], source=source if source is not None else text, pointer=pointer)
        if any(word in messages[0].lower() for word in _LIMIT_WORDS):
            raise ConstraintLimitError(diag)
        return diag, []
    return None, list(messages)


_LONE_JSON = "start: %json "


def _lone_json_schema(text: str) -> str | None:
    """The schema text of a grammar that is nothing but ``start: %json {schema}`` (one line)."""
    body = text.rstrip("\n")
    if body.startswith(_LONE_JSON) and "\n" not in body and body[len(_LONE_JSON) :].lstrip().startswith("{"):
        return body[len(_LONE_JSON) :]
    return None


def check_grammar(
    text: str, tokenizer: llg.LLTokenizer | None = None, *, build: bool = False, warnings: bool = True
) -> tuple[bool, list[str], llg.LLMatcher | None]:
    """Does llguidance accept the Lark grammar ``text``? ``(accepted, warnings, matcher)``.

    With ``build`` (and a tokenizer) the check *is* the ready matcher's construction, returned
    for reuse, so the grammar is compiled once; otherwise it is a validation.  Rejections carry
    no message: :func:`validate_lark` gives the located diagnostic (the failure path only).
    """
    limits = make_limits()
    for grammar in engine_grammars(text):
        if build and tokenizer is not None:
            matcher = llg.LLMatcher(tokenizer, grammar, log_level=0, limits=limits)
            if not matcher.is_error():
                first_step_check(matcher)
                return True, list(matcher.get_grammar_warnings()) if warnings else [], matcher
        else:
            is_error, messages = llg.LLMatcher.validate_grammar_with_warnings(grammar, tokenizer, limits=limits)
            if not is_error:
                return True, list(messages) if warnings else [], None
    return False, [], None


def first_step_check(matcher: llg.LLMatcher) -> None:
    """Compute the first token mask on a copy of a ready matcher, as generation will.

    Raises :class:`ConstraintLimitError` when llguidance fails there (a limit hit while building
    lexer states, a grammar with no derivation) and :class:`ConstraintError` when nothing can be
    generated at all, so that validation and generation agree and no failing matcher is cached.
    """
    probe = matcher.deep_copy()
    mask = probe.compute_bitmask()
    if probe.is_error():
        message = _short_error(probe.get_error()) or "llguidance failed on the first token"
        raise ConstraintLimitError(f"the constraint cannot be enforced: {message}")
    if not any(mask) and not probe.is_accepting():
        raise ConstraintError("the constraint accepts no text (its language is empty)")


def engine_grammars(text: str) -> Iterator[str]:
    """``start: %json {schema}`` alone first goes through llguidance's JSON-schema front end: the
    same language, ~0.5 ms cheaper to build than through Lark; its
    JSON parser refuses trailing text, so a line that is not exactly one schema falls back to Lark."""
    schema = _lone_json_schema(text)
    if schema is not None:
        yield llg.grammar_from("json_schema", schema)
    yield llg.grammar_from("lark", text)  # only reached when the JSON front end refused the text


_matcher_lock = threading.Lock()


@lru_cache(maxsize=256)
def _byte_matcher(text: str) -> llg.LLMatcher:
    return llg.LLMatcher(byte_tokenizer(), llg.grammar_from("lark", text), log_level=0, limits=make_limits())


def lark_accepts(grammar_text: str, text: str) -> tuple[bool, str]:
    """Does the grammar derive exactly ``text``? Byte level, tokenizer-independent."""
    with _matcher_lock:
        matcher = _byte_matcher(grammar_text).deep_copy()
    if matcher.is_error():
        return False, matcher.get_error()
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return False, f"text holds a lone surrogate at character {exc.start} (not Unicode text)"
    ok = matcher.consume_tokens(list(data))
    if not ok:
        return False, _short_error(matcher.get_error())
    if not matcher.is_accepting():
        return False, "text is an incomplete prefix of the language"
    return True, ""


def _short_error(message: str) -> str:
    return message.split("\n<state>")[0].strip()


def describe_value(value: Any) -> str:
    return type(value).__name__
