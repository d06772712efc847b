"""Lexical analysis of Lark grammar text (llguidance dialect): defined names and renaming.

Only what composition needs: find the names a grammar defines and prefix them (rules stay
lowercase, terminals UPPERCASE) without touching strings, regexes, token sets, comments or
inline ``%json {...}`` blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LarkToken", "defined_names", "escape_lark_string", "rename_names", "tokenize_lark"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFINITION = re.compile(r"^[ \t]*[?!]?([A-Za-z_][A-Za-z0-9_]*)(?:\.-?\d+)?[ \t]*(?:\{[^}]*\})?[ \t]*:", re.M)


@dataclass(frozen=True)
class LarkToken:
    kind: str  # ident | string | regex | comment | block | tokenset | other
    text: str
    start: int


def _skip_string(text: str, i: int) -> int:
    quote = text[i]
    i += 1
    while i < len(text) and text[i] != quote:
        if text[i] == "\\":
            i += 1
        elif text[i] == "\n":
            break
        i += 1
    i += 1
    while i < len(text) and text[i] == "i":  # case-insensitive flag
        i += 1
    return i


def _skip_regex(text: str, i: int) -> int:
    i += 1
    in_class = False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            in_class = True
        elif ch == "]":
            in_class = False
        elif (ch == "/" and not in_class) or ch == "\n":
            break
        i += 1
    i += 1
    while i < len(text) and text[i] in "imslux":
        i += 1
    return i


def _skip_braces(text: str, i: int) -> int:
    depth = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _skip_string(text, i)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def tokenize_lark(text: str) -> list[LarkToken]:
    tokens: list[LarkToken] = []
    i = 0
    while i < len(text):
        ch = text[i]
        start = i
        if ch in "\"'":
            i, kind = _skip_string(text, i), "string"
        elif (ch == "/" and text.startswith("//", i)) or ch == "#":
            end = text.find("\n", i)
            i, kind = (len(text) if end < 0 else end), "comment"
        elif ch == "/":
            i, kind = _skip_regex(text, i), "regex"
        elif ch == "<" and text.startswith("<[", i):
            end = text.find("]>", i)
            i, kind = (len(text) if end < 0 else end + 2), "tokenset"
        elif ch == "%":
            match = _IDENT.match(text, i + 1)
            i = match.end() if match else i + 1
            rest = re.match(r"[ \t]*\{", text[i:])
            if rest:
                i = _skip_braces(text, i + rest.end() - 1)
                kind = "block"
            else:
                kind = "directive"
        elif (ch.isalpha() or ch == "_") and (ident := _IDENT.match(text, i)):
            i, kind = ident.end(), "ident"
        else:
            i, kind = i + 1, "other"
        tokens.append(LarkToken(kind, text[start:i], start))
    return tokens


def defined_names(text: str) -> list[str]:
    """Names defined by ``name:`` lines (rules and terminals), in order of first definition."""
    names: list[str] = []
    for match in _DEFINITION.finditer(text):
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def rename_names(text: str, mapping: dict[str, str]) -> str:
    """Rename identifiers per ``mapping`` everywhere outside literals, comments and blocks."""
    out: list[str] = []
    for token in tokenize_lark(text):
        if token.kind == "ident" and token.text in mapping:
            out.append(mapping[token.text])
        elif token.kind == "comment":
            continue
        else:
            out.append(token.text)
    return "".join(out)


def escape_lark_string(text: str) -> str:
    """A Lark string literal for ``text`` (JSON escapes are valid in llguidance's Lark)."""
    import json

    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
