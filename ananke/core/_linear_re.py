"""Linear-time regex matching for verification: RE2 (``google-re2``) where it reads a pattern as
Python does, a bounded backtracking search otherwise.

A backtracking engine (Python's ``re``) takes exponential time on patterns such as ``(a+)+b``
against a long run of ``a``; model outputs are untrusted text, so verification never uses it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

__all__ = ["BOUNDED_SEARCH_S", "bounded_search", "re2_compile"]

#: RE2 reads these differently from Python: ASCII-only shorthand classes, ``{,n}`` as a literal
_RE2_DIFFERS = re.compile(r"\\[dDwWsS]|\{,")
#: time limit of the fallback search (the ``regex`` module's ``timeout``)
BOUNDED_SEARCH_S = 0.25


@lru_cache(maxsize=1024)
def re2_compile(pattern: str) -> Any:
    """RE2's compiled ``pattern`` when RE2 reads it exactly as Python does, else None."""
    if _RE2_DIFFERS.search(pattern):
        return None
    try:
        import re2  # a dependency; a missing one only costs the fast path

        options = re2.Options()
        options.log_errors = False
        return re2.compile(pattern, options=options)
    except Exception:  # ImportError, or a pattern RE2 refuses (\u escapes, {1001,})
        return None


def bounded_search(pattern: str, text: str) -> bool | None:
    """``re.search(pattern, text)`` in linear time (RE2), or within :data:`BOUNDED_SEARCH_S`
    (the ``regex`` module); None when neither could decide."""
    compiled = re2_compile(pattern)
    if compiled is not None:
        try:
            return compiled.search(text) is not None
        except UnicodeEncodeError:
            return None
    import regex

    try:
        return regex.search(pattern, text, timeout=BOUNDED_SEARCH_S) is not None
    except (TimeoutError, regex.error, UnicodeEncodeError):
        return None
