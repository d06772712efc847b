"""Regex helpers that are valid in both Rust's ``regex`` (llguidance) and Python's ``re`` (verification)."""

from __future__ import annotations

__all__ = ["ESCAPED_LITERALS", "class_complement", "lit", "literal_complement", "literal_union"]

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ")
_ANY = "(?s:.)"


def lit(ch: str) -> str:
    """One character as a regex atom (usable inside and outside character classes)."""
    if ch in _SAFE:
        return ch
    cp = ord(ch)
    return f"\\u{cp:04X}" if cp <= 0xFFFF else f"\\U{cp:08X}"


def literal_union(words: list[str]) -> str:
    """``^(?:w1|w2|...)$``: exactly the given strings."""
    return "^(?:" + "|".join("".join(lit(c) for c in w) for w in sorted(set(words))) + ")$"


def _trie(words: list[str]) -> dict:
    root: dict = {}
    for w in set(words):
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[None] = True
    return root


def _complement(node: dict) -> str:
    alts = []
    if None not in node:
        alts.append("")
    children = sorted(k for k in node if k is not None)
    if children:
        alts.append("[^" + "".join(lit(c) for c in children) + "]" + _ANY + "*")
        alts.extend(lit(c) + _complement(node[c]) for c in children)
    else:
        alts.append(_ANY + "+")
    return "(?:" + "|".join(alts) + ")"


def literal_complement(words: list[str]) -> str:
    """An anchored regex matching every string except the given ones."""
    return "^" + _complement(_trie(words)) + "$"


# ---------------------------------------------------------------- one character class, repeated

# Escapes that mean the character itself in Python's ``re``, Rust's ``regex`` and ECMA alike (not ``\\<``,
# a word boundary in Rust).
ESCAPED_LITERALS = frozenset(".*+?()[]{}|^$\\/-:@#%&~!,;=_ \"'")
_SHORTHAND = {"d": "D", "w": "W", "s": "S", "D": "d", "W": "w", "S": "s"}
_SPECIAL = set("\\^$.|?*+()[]{}")
_INF = None


def _atom(pattern: str, i: int) -> tuple[str, str, int] | None:
    """(atom, complement atom, next index) for one character class, escape or plain character at ``i``."""
    ch = pattern[i : i + 1]
    if ch == "[":
        j = i + 1 + (pattern[i + 1 : i + 2] == "^")
        j += pattern[j : j + 1] == "]"
        while j < len(pattern) and pattern[j] != "]":
            if pattern[j] == "[" or pattern[j : j + 2] in ("&&", "--", "~~"):
                return None  # nested classes and set operations differ between regex flavours
            j += 2 if pattern[j] == "\\" else 1
        if j >= len(pattern):
            return None
        body = pattern[i + 1 : j]
        other = "[" + body[1:] + "]" if body.startswith("^") else "[^" + body + "]"
        return pattern[i : j + 1], other, j + 1
    if ch == "\\":
        nxt = pattern[i + 1 : i + 2]
        if nxt in _SHORTHAND:
            return "\\" + nxt, "\\" + _SHORTHAND[nxt], i + 2
        if nxt in ESCAPED_LITERALS:
            return "\\" + nxt, "[^\\" + nxt + "]", i + 2
        return None
    if ch and ch not in _SPECIAL and ch.isprintable():
        return lit(ch), "[^" + lit(ch) + "]", i + 1
    return None


def _quantifier(pattern: str, i: int) -> tuple[int, int | None, int] | None:
    """(min, max or None, next index) of the quantifier at ``i`` (none: exactly one)."""
    import re

    q = pattern[i : i + 1]
    if q == "+":
        return 1, _INF, i + 1
    if q == "*":
        return 0, _INF, i + 1
    m = re.match(r"\{(\d+)(,(\d*))?\}", pattern[i:])
    if m:
        lo = int(m.group(1))
        hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else _INF)
        return (lo, hi, i + m.end()) if hi is None or hi >= lo else None
    return 1, 1, i


def _lengths_outside(lo: int, hi: int | None, last: str) -> list[str]:
    """Alternatives for strings shorter than ``lo`` or longer than ``hi`` (ending in ``last`` if given)."""
    if not last:
        return ([f"{_ANY}{{0,{lo - 1}}}"] if lo >= 1 else []) + ([f"{_ANY}{{{hi + 1},}}"] if hi is not None else [])
    parts = []
    if lo >= 1:
        parts.append("")
    if lo >= 2:
        parts.append(f"{_ANY}{{0,{lo - 2}}}{last}")
    if hi is not None:
        parts.append(f"{_ANY}{{{hi},}}{last}")
    return parts


def _without_newline(atom: str) -> str:
    """The class of characters outside ``atom`` (a positive class, escape or character) and not newline."""
    if not atom.startswith("["):
        return "[^\\n" + atom + "]"
    body = atom[1:-1]
    lead = "]" if body.startswith("]") else ""  # a leading ``]`` is literal only in first place
    return "[^" + lead + "\\n" + body[len(lead) :] + "]"


def class_complement(pattern: str) -> str | None:
    """An anchored regex matching exactly the strings ``pattern`` does not match, for ``pattern`` of the
    forms ``C`` (unanchored: contains a character of ``C``) and ``^C{lo,hi}$`` (``+``, ``*``, ``{n}``, …),
    ``C`` one character class, escape or character; None for anything else.

    Exact under Python's ``re`` too, whose ``$`` also matches before a final newline: a string ending
    in a newline is in the complement when the rest is outside ``C{lo,hi}`` (``C{lo-1,hi}`` where ``C``
    holds the newline itself).
    """
    import re

    body = pattern
    grouped = re.fullmatch(r"\((?:\?:)?(.*)\)", body)
    if grouped and not pattern.startswith("^"):
        body = grouped.group(1)
    if not body.startswith("^"):
        found = _atom(body, 0)
        if found is None or found[2] != len(body):
            return None
        return f"^{found[1]}*$"
    found = _atom(body, 1)
    if found is None:
        return None
    atom, other, i = found
    quant = _quantifier(body, i)
    if quant is None or body[quant[2] :] != "$":
        return None
    lo, hi, _ = quant
    try:
        newline_in = re.fullmatch(atom, "\n") is not None
    except re.error:
        return None
    if newline_in:
        last_other = other
    elif atom.startswith("[^") or atom == "\\S":
        return None  # the class of non-members but the newline needs a set difference
    else:
        last_other = _without_newline(atom)
    not_nl = "[^\\n]"
    ends_plain = [*_lengths_outside(lo, hi, not_nl), f"{_ANY}*{other}{_ANY}*{not_nl}", f"{_ANY}*{last_other}"]
    lo_nl = max(lo - 1, 0) if newline_in else lo
    before_nl = [*_lengths_outside(lo_nl, hi, ""), f"{_ANY}*{other}{_ANY}*"]
    ends_nl = "(?:" + "|".join(before_nl) + ")\\n"
    return "^(?:" + "|".join([*ends_plain, ends_nl]) + ")$"
