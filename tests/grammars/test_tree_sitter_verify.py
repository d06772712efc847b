"""In-process verification of the built-in grammars' outputs: Python's ast and tree-sitter, never llguidance."""

from __future__ import annotations

import pytest

import ananke
from ananke.grammars import parser_name, verify_with_parser

CASES = [
    ("typescript", "start", "let a = 1 // c\nlet b = 2\n", True),
    ("typescript", "start", "let a = ;\n", False),
    ("typescript", "expression", "a ?? b.c!", True),
    ("typescript", "expression", "a +", False),
    ("rust", "function_def", "fn f(x: u8) -> u8 { x + 1 }", True),
    ("rust", "function_def", "fn f(x: u8 -> u8 { x }", False),
    ("rust", "statement", "let v: Vec<u8> = vec![1, 2];", True),
    ("go", "function_def", "func (s *S) Close() error {\n\treturn nil\n}", True),
    ("go", "statement", "x := ", False),
    ("go", "expression", "a[i] + f(b)", True),
    ("zig", "type_def", "pub const Color = enum(u8) { red, green };", True),
    ("zig", "statement", "var x: u8 = ;", False),
    ("python", "function_def", "def f():\n    return 1\n", True),
    ("python", "function_def", "x = 1\n", False),  # ast also checks the entry's kind
]


@pytest.mark.parametrize("language,start,text,ok", CASES)
def test_verify_with_parser(language, start, text, ok):
    assert verify_with_parser(language, start, text) is ok


@pytest.mark.parametrize("language", ["typescript", "rust", "go", "zig"])
def test_builtin_grammar_verification_names_tree_sitter(language):
    compiled = ananke.compile({"kind": "grammar", "builtin": language, "start": "expression"})
    result = compiled.verify("(((")
    assert not result.satisfied and parser_name(language) in result.errors[0]
    assert parser_name(language) == f"tree-sitter-{language}"
