"""Braid rules combined with a built-in grammar: every text the combined grammar derives is accepted.

Braid's tokens (``FUNCTION``, ``SEMICOLON``, ``LBRACE``, ...) and the built-in grammar's own terminals
can both be allowed at one place (Braid's ``function_declaration`` and TypeScript's function
expression at the start of a statement). llguidance's lexer keeps the longer lexeme, and the built-in
terminals take trailing whitespace, so a Braid token that was a second terminal for the same string
lost texts the grammar derives. Now a Braid token spelled like a built-in keyword/punctuation terminal
is that terminal, and Braid's other string tokens take trailing whitespace too (ignored anyway).
The real compiler and llguidance's byte-level matcher of the lowered grammar decide every row.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ananke
from ananke.core._llg import lark_accepts

# Braid's writer: FUNCTION, SEMICOLON, LBRACE/RBRACE are its tokens; identifier, params and expression
# are TypeScript's rules (the export's `language`).
RULES = [
    {"lhs": "program", "rhs": ["statement_list"]},
    {"lhs": "statement_list", "rhs": ["statement", "statement_list_tail"]},
    {"lhs": "statement_list_tail", "rhs": ["statement", "statement_list_tail"]},
    {"lhs": "statement_list_tail", "rhs": []},
    {"lhs": "statement", "rhs": ["function_declaration"]},
    {"lhs": "statement", "rhs": ["expression_statement"]},
    {"lhs": "function_declaration", "rhs": ["FUNCTION", "identifier", "params", "LBRACE", "statement_list", "RBRACE"]},
    {"lhs": "expression_statement", "rhs": ["expression", "SEMICOLON"]},
]
NODE = {"kind": "grammar", "start_symbol": "program", "rules": RULES, "language": "typescript"}


@pytest.fixture(scope="module")
def grammar() -> str:
    compiled = ananke.compile(NODE)
    assert len(compiled.grammars) == 1
    return compiled.grammars[0]


DERIVED = [
    "x;",
    "function f() { x; }",  # rejected before: TypeScript's `function ` lexeme won
    "function f(a: number, b) { g(x, 2); }",
    "function f() { function g() { y; } }",
    "function\nf\n(\n)\n{\nx\n;\n}\n",
    "function f() {x; }",  # rejected before: TypeScript's `; ` terminator lexeme won
    "x;\n\ny;\n",
    "x; // c\ny;",
    "/* c */\nfunction f() { x; }",
]
NOT_DERIVED = [
    "x",  # no SEMICOLON
    "function f() {}",  # statement_list needs a statement
    "function () { x; }",  # FUNCTION identifier: the name is required
    "function f { x; }",  # params
    "functionf() { x; }",  # one identifier, then no SEMICOLON
    "function f() { x; } }",
    "class A {}",  # TypeScript, but not a Braid statement
]


@pytest.mark.parametrize("text", DERIVED)
def test_texts_the_grammar_derives_are_accepted(grammar, text):
    ok, why = lark_accepts(grammar, text)
    assert ok, why


@pytest.mark.parametrize("text", NOT_DERIVED)
def test_texts_outside_the_grammar_are_rejected(grammar, text):
    assert not lark_accepts(grammar, text)[0]


def test_braid_keyword_is_the_builtin_terminal(grammar):
    assert "T_FUNCTION" not in grammar and "T_LBRACE" not in grammar  # no second terminal for the string
    assert "KW_FUNCTION" in grammar


def test_without_a_builtin_grammar_braid_tokens_are_unchanged():
    from ananke.plugins.grammar import GrammarNode, braid_to_lark

    rules = [{"lhs": "s", "rhs": ["FUNCTION", "IDENTIFIER", "SEMICOLON"]}]
    text, _ = braid_to_lark(GrammarNode(rules=rules, start_symbol="s"))
    assert 'T_FUNCTION: "function"' in text and 'T_SEMICOLON: ";"' in text


SPACE = st.sampled_from(["", " ", "\n", "  \n\t"])
GAP = st.sampled_from([" ", "\n", "\t", " /* c */ "])
NAMES = st.sampled_from(["f", "g", "main", "fn2", "$x", "_y"])
EXPRESSIONS = st.sampled_from(["x", "f(1)", "a + b", '"s"', "g(x, 2)", "obj.k", "n * (m - 1)", "[1, 2]"])
PARAMS = st.sampled_from(["()", "(a)", "(a, b)", "(a: number)", "( )"])


def _expression_statement(draw) -> str:
    return draw(EXPRESSIONS) + draw(SPACE) + ";"


@st.composite
def statements(draw, depth: int = 2) -> str:
    count = draw(st.integers(1, 3))
    parts = []
    for _ in range(count):
        if depth > 0 and draw(st.booleans()):
            body = draw(statements(depth - 1))
            head = "function" + draw(GAP) + draw(NAMES) + draw(SPACE) + draw(PARAMS) + draw(SPACE)
            parts.append(head + "{" + draw(SPACE) + body + draw(SPACE) + "}")
        else:
            parts.append(_expression_statement(draw))
    return draw(SPACE).join(parts) if all(p.endswith((";", "}")) for p in parts) else " ".join(parts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=statements())
def test_every_generated_derivation_is_accepted(grammar, text):
    ok, why = lark_accepts(grammar, text)
    assert ok, f"{text!r}: {why}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=statements())
def test_a_derivation_without_its_last_token_is_rejected(grammar, text):
    cut = text.rstrip()[:-1]  # the final ";" or "}" removed: no derivation ends there
    assert not lark_accepts(grammar, cut)[0], repr(cut)


# A built-in terminal is shared only when it lexes exactly the Braid token's string (up to
# whitespace and comments): Rust's `FN_QUAL` (const|async|unsafe|...), `ASSIGN_OP` (= += ...),
# Python's `BINOP` (+ and or ...) must never stand for ASYNC, EQUALS or PLUS.
@pytest.mark.parametrize(
    ("language", "rhs", "accepted", "rejected"),
    [
        ("rust", ["ASYNC", "identifier"], "async x", "unsafe x"),
        ("rust", ["identifier", "EQUALS", "identifier"], "a = b", "a += b"),
        ("rust", ["identifier", "PLUS", "identifier"], "a + b", "a * b"),
        ("rust", ["RETURN", "identifier"], "return x", "yield x"),
        ("rust", ["identifier", "SEMICOLON"], "x;", "x,"),
        ("python", ["identifier", "PLUS", "identifier"], "a + b", "a and b"),
        ("zig", ["identifier", "MINUS", "identifier"], "a - b", "a or b"),
        ("typescript", ["BOOLEAN", "identifier"], "true x", "null x"),  # alternatives: its own terminal
        ("go", ["identifier", "ARROW", "identifier"], "a -> b", "a - b"),
    ],
)
def test_a_braid_token_never_stands_for_a_wider_builtin_terminal(language, rhs, accepted, rejected):
    node = {"kind": "grammar", "start_symbol": "s", "rules": [{"lhs": "s", "rhs": rhs}], "language": language}
    compiled = ananke.compile(node)
    assert compiled.verify(accepted).satisfied, accepted
    assert not compiled.verify(rejected).satisfied, rejected
