"""Constraint corpus of the vLLM contract tier: each case with texts that must pass and fail.

Texts are chosen so that the label holds whatever whitespace policy the JSON lowering
uses (compact JSON only). Builtin language grammars are added by ``builtin_cases`` when
the package ships them; their texts are checked for agreement, not against a label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CASES", "Case", "builtin_cases"]


@dataclass(frozen=True)
class Case:
    name: str
    source: Any
    valid: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    labelled: bool = True
    notes: dict[str, Any] = field(default_factory=dict)


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "json_schema", "schema": schema}


PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}

CASES: tuple[Case, ...] = (
    Case(
        "json-object",
        _schema(PERSON),
        valid=('{"name":"Ada","age":36}', '{"name":"","age":0}'),  # the engine keeps schema order
        invalid=(
            '{"name":"Ada"}',
            '{"name":1,"age":2}',
            '{"name":"Ada","age":-1}',
            "[1]",
            '{"name":"Ada","age":36,"x":1}',
        ),
    ),
    Case(
        "json-enum-array",
        _schema({"type": "array", "items": {"enum": ["red", "green"]}, "maxItems": 2}),
        valid=('["red","green"]', "[]", '["green"]'),
        invalid=('["blue"]', '["red","red","red"]', '"red"'),
    ),
    Case(
        "json-nested",
        _schema(
            {
                "type": "object",
                "properties": {
                    "p": {
                        "type": "object",
                        "properties": {"x": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}},
                        "required": ["x"],
                        "additionalProperties": False,
                    }
                },
                "required": ["p"],
                "additionalProperties": False,
            }
        ),
        valid=('{"p":{"x":1.5}}', '{"p":{"x":-2,"tags":["a","b"]}}'),
        invalid=('{"p":{}}', '{"p":{"x":"1"}}', '{"q":{"x":1}}'),
    ),
    Case(
        "json-string-pattern",
        _schema({"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"}),
        valid=('"ABC-12"',),
        invalid=('"abc-12"', '"ABC-123"', "ABC-12"),
    ),
    Case(
        "json-anyof-const",
        _schema({"anyOf": [{"const": "on"}, {"type": "boolean"}, {"type": "null"}]}),
        valid=('"on"', "true", "null"),
        invalid=('"off"', "0"),
    ),
    Case(
        "regex-date",
        {"kind": "regex", "pattern": r"\d{4}-\d{2}-\d{2}"},
        valid=("2024-01-31",),
        invalid=("2024-1-31", "2024-01-31x", ""),
    ),
    Case(
        "regex-identifier",
        {"kind": "regex", "pattern": "[a-z_][a-z0-9_]*"},
        valid=("snake_case_1", "_"),
        invalid=("1abc", "Abc", "a-b"),
    ),
    Case(
        "lark-arith",
        {
            "kind": "grammar",
            "lark": ('start: expr\nexpr: term (("+" | "-") term)*\nterm: NUMBER | "(" expr ")"\nNUMBER: /[0-9]+/\n'),
        },
        valid=("1+2", "(3-4)+50"),
        invalid=("1+", "(1", "a"),
    ),
    Case(
        "lark-json-inline",
        {
            "kind": "grammar",
            "lark": (
                'start: "result: " obj\nobj: %json {"type": "object", "properties": {"ok": {"type": "boolean"}}, '
                '"required": ["ok"], "additionalProperties": false}\n'
            ),
        },
        valid=('result: {"ok":true}',),
        invalid=('result: {"ok":1}', '{"ok":true}'),
    ),
    Case(
        "gbnf-yes-no",
        {"kind": "grammar", "gbnf": 'root ::= ("yes" | "no") "!"'},
        valid=("yes!", "no!"),
        invalid=("maybe!", "yes"),
    ),
    Case(
        "literal",
        {"kind": "literal", "text": "Hello, world"},
        valid=("Hello, world",),
        invalid=("Hello", "Hello, world!"),
    ),
    Case(
        "sequence",
        {
            "kind": "composite",
            "op": "sequence",
            "parts": [{"kind": "literal", "text": "id="}, {"kind": "regex", "pattern": "[0-9]+"}],
        },
        valid=("id=42",),
        invalid=("id=", "id=x", "42"),
    ),
    Case(
        "choice",
        {
            "kind": "composite",
            "op": "choice",
            "parts": [{"kind": "regex", "pattern": "[0-9]+"}, {"kind": "literal", "text": "none"}],
        },
        valid=("17", "none"),
        invalid=("nope", "17none"),
    ),
    Case(
        "all-of-regexes",
        {
            "kind": "composite",
            "op": "all_of",
            "parts": [{"kind": "regex", "pattern": "[a-z]+"}, {"kind": "regex", "pattern": "a.*z"}],
        },
        valid=("abcz", "az"),
        invalid=("abc", "Az", "bz"),
    ),
    Case("seed-constraints", {"regex_patterns": ["[0-9]{3}", "x+"]}, valid=("123", "xx"), invalid=("12", "x1")),
)

_BUILTIN_SAMPLES = {
    "python": ("def add(a, b):\n    return a + b\n", "def add(a, b:\n    return\n"),
    "typescript": ("function add(a: number, b: number): number {\n  return a + b;\n}\n", "function (a: {\n"),
    "rust": ("fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n", "fn add(a: i32 -> {\n"),
    "go": ("package main\n\nfunc add(a int, b int) int {\n\treturn a + b\n}\n", "package main\nfunc (\n"),
    "zig": ("fn add(a: i32, b: i32) i32 {\n    return a + b;\n}\n", "fn add(a: i32 {\n"),
}


def builtin_cases() -> list[Case]:
    """One case per builtin language grammar that the installed package ships."""
    try:
        from importlib.resources import files

        shipped = {p.name.removesuffix(".lark") for p in files("ananke.grammars").iterdir() if p.name.endswith(".lark")}
    except (ModuleNotFoundError, FileNotFoundError, TypeError):
        return []
    return [
        Case(f"builtin-{name}", {"kind": "grammar", "builtin": name}, valid=(good,), invalid=(bad,), labelled=False)
        for name, (good, bad) in sorted(_BUILTIN_SAMPLES.items())
        if name in shipped
    ]
