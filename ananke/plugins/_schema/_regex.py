"""Regex helpers that are valid in both Rust's ``regex`` (llguidance) and Python's ``re`` (verification)."""

from __future__ import annotations

__all__ = ["lit", "literal_complement", "literal_union"]

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
