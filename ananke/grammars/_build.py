"""Build the committed ``<language>.lark`` files from their sources in this package.

``python -m ananke.grammars._build`` rewrites them; ``tests/grammars`` checks they are current.

* ``python.lark`` comes from :mod:`ananke.grammars._python_gen`.
* ``go``, ``typescript``, ``rust`` and ``zig`` come from ``_<language>.lark.in``: plain Lark
  text whose double-quoted literals are turned into named regex terminals. Where newlines are
  significant (Go's and TypeScript's automatic semicolons) a literal after which a line break
  is only whitespace gets a suffix ``WS`` that swallows newlines and comments; literals listed on
  the template's ``// @plain`` line stay bare, so a newline after them must be the statement
  terminator ``T``. Literals listed on ``// @lead`` also accept newlines and comments *before*
  them (``// @leadws``: TypeScript's ``.`` and binary operators that may start a continuation
  line). ``// @commentlead`` (TypeScript): every other literal, and each terminal whose pattern
  starts with ``CLEADRE``, may be preceded by a comment and the line break after it — where a
  newline is whitespace and ``%ignore`` only takes the comment itself — except those listed on
  ``// @nocommentlead`` (operators that may follow a statement's last token, where the comment
  and line break must end the statement: the lexer cannot back off from ``// c\nif`` read as a
  start of ``in``). No terminal may begin with a space or tab: llguidance's ``%ignore`` prefix and such a
  terminal then fail to combine, so leading whitespace patterns start at a newline.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

__all__ = ["LANGUAGES", "build", "build_all"]

LANGUAGES = ("python", "typescript", "rust", "go", "zig")
_DIR = Path(__file__).resolve().parent
_LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"(i?)')
_NAMES = {
    "(": "LPAR",
    ")": "RPAR",
    "[": "LSQB",
    "]": "RSQB",
    "{": "LBRACE",
    "}": "RBRACE",
    ",": "COMMA",
    ";": "SEMI",
    ":": "COLON",
    ".": "DOT",
    "=": "EQ",
    "+": "PLUS",
    "-": "MINUS",
    "*": "STAR",
    "/": "SLASH",
    "%": "PERCENT",
    "&": "AMP",
    "|": "VBAR",
    "^": "CARET",
    "!": "BANG",
    "<": "LT",
    ">": "GT",
    "~": "TILDE",
    "?": "QMARK",
    "@": "AT",
    "#": "HASH",
    "$": "DOLLAR",
    "'": "QUOTE",
    "\\": "BSLASH",
}


def _terminal_name(text: str, used: dict[str, str]) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        base = "KW_" + text.upper() + ("" if text == text.lower() else "_CAP")
    else:
        base = "P_" + "_".join(_NAMES.get(ch, f"X{ord(ch):02X}") for ch in text)
    return base


def _escape(text: str) -> str:
    return re.escape(text).replace("/", "\\/")


def _directive(text: str, name: str) -> set[str]:
    found = re.search(rf"^// @{name}: (.*)$", text, re.M)
    return set(found.group(1).split()) if found else set()


def _body_and_terminals(text: str) -> tuple[str, str]:
    """Split the template at the ``// -- terminals`` marker (literals are rewritten above it only)."""
    marker = "// -- terminals"
    head, sep, tail = text.partition(marker)
    return head, sep + tail


def build(language: str) -> str:
    if language == "python":
        from ananke.grammars._python_gen import generate

        return generate()
    source = (_DIR / f"_{language}.lark.in").read_text(encoding="utf-8")
    ws_line = re.search(r"^// @ws: (.*)$", source, re.M)
    ws_mode = ws_line is not None
    plain, lead = _directive(source, "plain"), _directive(source, "lead")
    no_comment_lead = _directive(source, "nocommentlead")
    comment_lead_line = re.search(r"^// @commentlead: (.*)$", source, re.M)
    comment_lead = comment_lead_line.group(1).strip() if comment_lead_line else ""
    rules, terminals = _body_and_terminals(source)
    defined: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        literal = bytes(match.group(1), "utf-8").decode("unicode_escape")
        name = _terminal_name(literal, defined)
        if name not in defined:
            regex = _escape(literal)
            if ws_mode and literal in lead:
                regex = "(?:LEADRE)" + regex
            elif comment_lead and literal not in no_comment_lead:
                regex = "(?:CLEADRE)?" + regex
            if ws_mode and literal not in plain:
                regex += "(?:WSRE)"
            defined[name] = regex
        return name

    rules = _LITERAL.sub(replace, rules)
    ws = ws_line.group(1).strip() if ws_line else ""
    lead_line = re.search(r"^// @leadws: (.*)$", source, re.M)
    lead_ws = lead_line.group(1).strip() if lead_line else ws
    terminals = terminals.replace("WSRE", ws).replace("CLEADRE", comment_lead)
    lines = [
        f"{name}: /{regex.replace('WSRE', ws).replace('CLEADRE', comment_lead).replace('LEADRE', lead_ws)}/"
        for name, regex in defined.items()
    ]
    header = f"// GENERATED from _{language}.lark.in by ananke/grammars/_build.py; do not edit.\n"
    return header + rules.rstrip() + "\n\n" + terminals.strip() + "\n" + "\n".join(lines) + "\n"


def build_all() -> dict[str, str]:
    return {
        language: build(language)
        for language in LANGUAGES
        if language == "python" or (_DIR / f"_{language}.lark.in").exists()
    }


def main() -> None:
    for language, text in build_all().items():
        (_DIR / f"{language}.lark").write_text(text, encoding="utf-8")
        print(f"wrote {language}.lark", file=sys.stderr)


if __name__ == "__main__":
    main()
