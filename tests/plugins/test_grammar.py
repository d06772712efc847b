"""The grammar plugin: Lark, GBNF, Braid rules; verification by an independent parser."""

import pytest

import ananke
from ananke.errors import ConstraintError
from ananke.plugins.grammar import BRAID_TOKENS

ARITH = 'start: expr\nexpr: term (("+" | "-") term)*\nterm: NUMBER | "(" expr ")"\nNUMBER: /[0-9]+/\n%ignore " "\n'


@pytest.mark.parametrize("text, ok", [("1+2", True), ("(1 + 2) - 3", True), ("1+", False), ("()", False)])
def test_lark_grammar_engine_and_lark_parser_agree(text, ok):
    compiled = ananke.compile({"kind": "grammar", "lark": ARITH})
    assert ananke.matches(compiled, text) is ok
    assert compiled.verify(text).satisfied is ok


def test_start_selects_an_entry_rule():
    compiled = ananke.compile({"kind": "grammar", "lark": ARITH, "start": "term"})
    assert ananke.matches(compiled, "(1+2)") and not ananke.matches(compiled, "1+2")


def test_start_in_an_llguidance_only_grammar_that_defines_start_is_verified_from_the_entry():
    # `%json` is beyond the lark package, so verification falls back to the byte-level matcher,
    # which must start at the entry rule although the grammar defines its own `start`.
    grammar = 'start: "n=" num\nnum: %json {"type": "integer"}\n'
    compiled = ananke.compile({"kind": "grammar", "lark": grammar, "start": "num"})
    assert ananke.matches(compiled, "12") and not ananke.matches(compiled, "n=12")
    assert compiled.verify("12").satisfied
    assert not compiled.verify("n=12").satisfied


def test_gbnf():
    gbnf = 'root ::= item ("," item)*\nitem ::= [a-z]+ | "<" [0-9]{1,3} ">"\n'
    compiled = ananke.compile({"kind": "grammar", "gbnf": gbnf})
    assert ananke.matches(compiled, "ab,<12>,c") and not ananke.matches(compiled, "ab,,c")
    assert compiled.verify("ab,<12>,c").satisfied


def test_bad_gbnf_is_an_error_at_the_gbnf_field():
    with pytest.raises(ConstraintError) as info:
        ananke.compile({"kind": "grammar", "gbnf": 'root ::= "a" (\n'})
    assert info.value.diagnostics[0].pointer.startswith("/gbnf")


BRAID_RULES = {
    "kind": "grammar",
    "start_symbol": "function",
    "rules": [
        {"lhs": "function", "rhs": ["ASYNC", "FUNCTION", "IDENTIFIER", "LPAREN", "params", "RPAREN", "block"]},
        {"lhs": "function", "rhs": ["FUNCTION", "IDENTIFIER", "LPAREN", "params", "RPAREN", "block"]},
        {"lhs": "params", "rhs": []},
        {"lhs": "params", "rhs": ["IDENTIFIER"]},
        {"lhs": "params", "rhs": ["IDENTIFIER", "COMMA", "params"]},
        {"lhs": "block", "rhs": ["LBRACE", "RETURN", "value", "SEMICOLON", "RBRACE"]},
        {"lhs": "value", "rhs": ["NUMBER"]},
        {"lhs": "value", "rhs": ["STRING"]},
        {"lhs": "value", "rhs": ["BOOLEAN"]},
        {"lhs": "value", "rhs": ["IDENTIFIER", "PLUS", "IDENTIFIER"]},
    ],
}


@pytest.mark.parametrize(
    "text, ok",
    [
        ("function add(a, b) { return a + b; }", True),
        ("async function f() {return 'x';}", True),
        ("function f(){ return true; }", True),
        ("function f() { return; }", False),
        ("function (a) { return 1; }", False),
    ],
)
def test_braid_rules_with_the_token_table(text, ok):
    compiled = ananke.compile(BRAID_RULES)
    assert ananke.matches(compiled, text) is ok
    assert compiled.verify(text).satisfied is ok


def test_braid_terminals_override_and_extend():
    node = {
        "kind": "grammar",
        "start_symbol": "s",
        "rules": [{"lhs": "s", "rhs": ["IDENTIFIER", "BANG"]}],
        "terminals": {"IDENTIFIER": "/[A-Z]+/", "BANG": "!"},
    }
    compiled = ananke.compile(node)
    assert ananke.matches(compiled, "ABC !") and not ananke.matches(compiled, "abc!")


def test_braid_undefined_symbols_are_named():
    node = {"kind": "grammar", "start_symbol": "s", "rules": [{"lhs": "s", "rhs": ["FUNCTION", "WHATEVER", "thing"]}]}
    with pytest.raises(ConstraintError) as info:
        ananke.compile(node)
    [diagnostic] = info.value.diagnostics  # one diagnostic lists every undefined name, at the first one
    assert diagnostic.pointer == "/rules/0/rhs/1"
    assert "WHATEVER, thing" in diagnostic.message and "language" in diagnostic.message


def test_braid_table_covers_the_documented_tokens():
    documented = [
        "FUNCTION",
        "ASYNC",
        "RETURN",
        "IF",
        "ELSE",
        "FOR",
        "WHILE",
        "SWITCH",
        "CASE",
        "TRY",
        "CATCH",
        "CLASS",
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "DROP",
        "UNION",
        "LBRACE",
        "RBRACE",
        "LPAREN",
        "RPAREN",
        "SEMICOLON",
        "COMMA",
        "COLON",
        "ARROW",
        "EQUALS",
        "PLUS",
        "MINUS",
        "STAR",
        "SLASH",
        "IDENTIFIER",
        "NUMBER",
        "STRING",
        "BOOLEAN",
        "UUID",
        "URL",
    ]
    assert set(documented) <= set(BRAID_TOKENS)
    for token in documented:  # each one compiles on its own
        node = {"kind": "grammar", "start_symbol": "s", "rules": [{"lhs": "s", "rhs": [token]}]}
        assert ananke.validate(node).valid, token


@pytest.mark.parametrize(
    "node",
    [
        {"kind": "grammar"},
        {"kind": "grammar", "lark": 'start: "a"', "gbnf": 'root ::= "a"'},
        {"kind": "grammar", "rules": [{"lhs": "s", "rhs": []}]},
        {"kind": "grammar", "lark": 'start: "a"', "terminals": {"A": "a"}},
    ],
)
def test_source_fields_are_checked(node):
    with pytest.raises(ConstraintError):
        ananke.compile(node)
