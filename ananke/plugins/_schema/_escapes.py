"""JSON texts that differ only in optional string escapes.

llguidance's JSON grammar accepts ``\\uXXXX`` escapes only for control characters, so the
document ``"\\u00e9"`` (what ``json.dumps`` writes for ``"é"``) is rejected even by
``{"type": "string"}``. :func:`unescape_strings` rewrites a JSON text so that each optional
escape (``\\uXXXX`` of a character that may appear raw, a surrogate pair, ``\\/``) becomes the
character itself, and a ``\\uXXXX`` of a character that must stay escaped (``"``, ``\\``, control
characters, and DEL, which llguidance takes only escaped) becomes its canonical escape (``\\"``, ``\\n``, ``\\u0001``); the result denotes the same
JSON value, so matching it instead of the text accepts exactly the documents valid as written.
"""

from __future__ import annotations

import json
import re

__all__ = ["unescape_strings"]

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_ESCAPE = re.compile(r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|\\(.)", re.S)


def _char(match: re.Match) -> str:
    high, low, single, other = match.groups()
    if high is not None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if other is not None:
        return "/" if other == "/" else match.group(0)
    code = int(single, 16)
    if 0xD800 <= code <= 0xDFFF:
        return match.group(0)  # a lone surrogate: UTF-8 cannot carry it
    if code == 0x7F:  # DEL: llguidance takes it escaped only
        return "\\u007f"
    if code < 0x20 or code in (0x22, 0x5C):  # must stay escaped: the canonical (short) escape
        return json.dumps(chr(code))[1:-1]
    return chr(code)


def _unescape(match: re.Match) -> str:
    return _ESCAPE.sub(_char, match.group(0))


def unescape_strings(text: str) -> str | None:
    """``text`` with its optional string escapes written as characters; None if ``text`` is not JSON
    or has no such escape."""
    if "\\u" not in text and "\\/" not in text:
        return None
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    out = _STRING.sub(_unescape, text)
    if out == text:
        return None
    if json.loads(out) != value:  # a safety net: never match a document with another value
        return None
    return out
