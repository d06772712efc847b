"""Checks of raw constraint input before anything recursive touches it.

* nesting: a JSON document nested thousands of levels deep would exhaust Python's recursion
  (normalization, pydantic, serialization) and answer with a crash; it is refused, located, first;
* text: a lone surrogate (``"\\ud800"`` in JSON) is not Unicode text and cannot be encoded for
  llguidance or a tokenizer; it is refused with its JSON Pointer and character position.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ananke.errors import ConstraintError, ConstraintLimitError

__all__ = [
    "MAX_INPUT_DEPTH",
    "check_deadline",
    "check_input",
    "compile_deadline",
    "find_lone_surrogate",
    "lone_surrogate",
    "pointer_of",
]

#: JSON nesting (objects and arrays) of a constraint input; a composite node is two levels
MAX_INPUT_DEPTH = 160


def pointer_of(path: tuple[Any, ...]) -> str:
    """A JSON Pointer for a path of keys and indices."""
    return "".join("/" + _printable(str(p)).replace("~", "~0").replace("/", "~1") for p in path)


def _printable(key: str) -> str:
    """``key`` with lone surrogates spelled ``\\udXXX`` (a pointer must itself encode as UTF-8)."""
    return key if lone_surrogate(key) is None else key.encode("utf-8", "backslashreplace").decode("ascii", "replace")


def lone_surrogate(text: str) -> int | None:
    """The index of the first lone surrogate in ``text``, or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _surrogate_error(text: str, index: int, pointer: str) -> ConstraintError:
    code = ord(text[index])
    return ConstraintError(
        f"lone surrogate U+{code:04X} at character {index}: text must be valid Unicode "
        "(a surrogate escape needs its pair)",
        pointer=pointer,
    )


def _walk(document: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """``(path, value)`` for every value and every string key of ``document``, without recursion.

    A container's children are reached only after it was yielded, so a consumer that raises on a
    container stops the walk before it goes deeper.
    """
    stack: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        yield path, value
        if isinstance(value, (dict, list)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                if isinstance(key, str):
                    yield (*path, key), key
                stack.append((child, (*path, key)))


def find_lone_surrogate(document: Any) -> tuple[tuple[Any, ...], str, int] | None:
    """``(path, text, index)`` of the first lone surrogate in a key or string of ``document``."""
    for path, value in _walk(document):
        if isinstance(value, str):
            index = lone_surrogate(value)
            if index is not None:
                return path, value, index
    return None


def check_input(source: Any, pointer: str = "") -> None:
    """Raise :class:`ConstraintError` for input nested deeper than :data:`MAX_INPUT_DEPTH` or holding
    a lone surrogate (in a key or a string), located by JSON Pointer."""
    for path, value in _walk(source):
        if isinstance(value, str):
            index = lone_surrogate(value)
            if index is not None:
                raise _surrogate_error(value, index, pointer + pointer_of(path))
        elif isinstance(value, (dict, list)) and len(path) >= MAX_INPUT_DEPTH:
            raise ConstraintLimitError(
                f"constraint input nests deeper than {MAX_INPUT_DEPTH} levels", pointer=pointer + pointer_of(path)
            )


_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("ananke_compile_deadline", default=None)


@contextmanager
def compile_deadline(budget_s: float) -> Iterator[None]:
    """Within this block, compiles stop at their next stage once ``budget_s`` has passed."""
    token = _DEADLINE.set((time.monotonic() + budget_s, budget_s))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_deadline(stage: str) -> None:
    """Raise :class:`ConstraintLimitError` when the current compile budget is spent (a runaway
    compile stops here instead of running on after its request has been answered)."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline[0]:
        raise ConstraintLimitError(f"compiling took longer than {deadline[1]:g} s (stopped {stage})")
