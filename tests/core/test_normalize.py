"""Every accepted input format normalizes to IR v1; unknown fields and kinds are errors."""

import json

import pytest

import ananke
from ananke.errors import ConstraintError, UnknownKindError

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def kinds_of(node):
    data = node.to_json()
    if data["kind"] == "composite":
        return [data["op"], [kinds_of(p) for p in node.parts]]
    return data["kind"]


def test_ir_document_and_bare_node_are_the_same_constraint():
    node = {"kind": "regex", "pattern": "a+"}
    doc = ananke.load_constraint({"ir_version": "1", "name": "n", "constraint": node, "metadata": {"x": 1}})
    bare = ananke.load_constraint(node)
    assert doc.constraint == bare.constraint
    assert doc.name == "n" and doc.metadata == {"x": 1}
    assert ananke.compile(doc).fingerprint == ananke.compile(bare).fingerprint


def test_ir_json_text_round_trips():
    ir = ananke.load_constraint({"kind": "literal", "text": "x"})
    again = ananke.load_constraint(json.dumps(ir.to_json()))
    assert again == ir


def test_seed_constraints_every_field_must_hold():
    ir = ananke.load_constraint(
        {
            "json_schema": None,
            "grammar": "start: /[a-z]+/",
            "regex_patterns": ["ab", "cd+"],
            "token_mask": {"forbidden_tokens": [7]},
        }
    )
    assert kinds_of(ir.constraint) == ["all_of", ["grammar", ["choice", ["regex", "regex"]], "token_mask"]]
    assert ananke.matches(ir, "cddd") and not ananke.matches(ir, "ce")


def test_seed_gbnf_grammar_is_detected():
    ir = ananke.load_constraint({"grammar": 'root ::= "yes" | "no"'})
    assert ir.constraint.gbnf is not None
    assert ananke.matches(ir, "no")


def test_braid_ir_with_rules_regex_flags_and_masks():
    braid = {
        "name": "fn",
        "priority": 2,
        "json_schema": None,
        "grammar": {"start_symbol": "call", "rules": [{"lhs": "call", "rhs": ["IDENTIFIER", "LPAREN", "RPAREN"]}]},
        "regex_patterns": [{"pattern": "F.*", "flags": "i"}],
        "token_masks": {"allowed_tokens": None, "forbidden_tokens": [1]},
    }
    ir = ananke.load_constraint(braid)
    assert ir.metadata["priority"] == 2
    assert ananke.matches(ir, "foo()") and not ananke.matches(ir, "bar()")


def test_braid_export_wrapper_keeps_provenance():
    ir = ananke.load_constraint({"language": "python", "constraint_ir": {"json_schema": SCHEMA}})
    assert ir.metadata["language"] == "python"
    assert ir.constraint.kind == "json_schema"


def test_maze_constraints():
    maze = {
        "type": "object",
        "properties": {},
        "constraints": [
            {"type": "regex", "pattern": "[a-z]+", "flags": ""},
            {"type": "grammar", "rules": 'start: "abc" | "xyz"'},
            {"type": "token_mask", "allowed": [1, 2], "forbidden": [2]},
        ],
    }
    ir = ananke.load_constraint(maze)
    assert kinds_of(ir.constraint) == ["all_of", ["regex", "grammar", "token_mask"]]
    compiled = ananke.compile(ir)
    assert compiled.token_mask.allowed == [1, 2] and compiled.token_mask.forbidden == [2]
    assert ananke.matches(compiled, "xyz") and not ananke.matches(compiled, "xy")


@pytest.mark.parametrize(
    "data, kind",
    [
        ({"type": "json", "schema": SCHEMA}, "json_schema"),
        ({"type": "grammar", "grammar": 'start: "a"'}, "grammar"),
        ({"type": "regex", "patterns": ["a"]}, "regex"),
    ],
)
def test_typed_form(data, kind):
    assert ananke.load_constraint(data).constraint.kind == kind


@pytest.mark.parametrize(
    "text, kind, sample",
    [
        ('start: "hi" /[0-9]/', "lark", "hi5"),
        ('root ::= "hi" [0-9]', "gbnf", "hi5"),
        ("hi[0-9]\n", "regex", "hi5"),
    ],
)
def test_text_with_kind_flag(text, kind, sample):
    assert ananke.matches(ananke.load_constraint(text, kind=kind), sample)


def test_text_kind_is_detected_from_content():
    assert ananke.load_constraint('root ::= "a"').constraint.gbnf
    assert ananke.load_constraint('start: "a"').constraint.lark


@pytest.mark.parametrize(
    "data, pointer, allowed",
    [
        ({"kind": "nope"}, "/kind", "regex"),
        ({"kind": "regex", "pattern": "a", "flags": "i"}, "/flags", "pattern"),
        ({"ir_version": "2", "constraint": {"kind": "literal", "text": "x"}}, "/ir_version", "1"),
        ({"ir_version": "1", "constraint": {"kind": "literal"}}, "/constraint/text", None),
        ({"json_schema": SCHEMA, "bogus": 1}, "/bogus", None),
        ({"type": "object", "constraints": [{"type": "magic"}]}, "/constraints/0/type", "regex"),
        ({"kind": "composite", "op": "both", "parts": [{"kind": "literal", "text": "x"}]}, "/op", "all_of"),
        (
            {"kind": "composite", "op": "sequence", "parts": [{"kind": "literal", "text": "x"}, {"kind": "zz"}]},
            "/parts/1/kind",
            "literal",
        ),
    ],
)
def test_errors_name_what_and_where(data, pointer, allowed):
    with pytest.raises(ConstraintError) as info:
        ananke.load_constraint(data)
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.pointer == pointer
    if allowed:
        assert allowed in (diagnostic.allowed or ())


def test_unrecognized_format_lists_formats():
    with pytest.raises(UnknownKindError) as info:
        ananke.load_constraint({"something": 1})
    assert any("seed" in a for a in info.value.diagnostics[0].allowed)


def test_malformed_json_has_line_and_column():
    with pytest.raises(ConstraintError) as info:
        ananke.load_constraint('{"kind": "regex",\n "pattern": }')
    diagnostic = info.value.diagnostics[0]
    assert (diagnostic.line, diagnostic.column) == (2, 13)
    assert "^" in diagnostic.snippet
