"""Braid's and Maze's documents exactly as their writers emit them, and plain JSON Schema files (issues #14, #18)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ananke
from ananke.core._normalize import constraint_provenance, is_unconstrained, maze_struct_to_schema
from ananke.errors import ConstraintError, UnknownKindError

RICH_CONTEXT = {
    "function_signatures": [
        {
            "name": "handler",
            "is_async": True,
            "is_public": True,
            "return_type": "Promise<void>",
            "params": [{"name": "req", "type": "Request"}],
            "has_error_handling": True,
        }
    ],
    "type_bindings": [{"name": "User", "kind": "interface", "fields": ["id", "name"]}, {"name": "Id", "kind": "alias"}],
    "imports": [{"module": "express", "is_wildcard": False, "items": ["Request"]}],
    "_populated": True,
}

# Braid's grammar writer: `statement` lists its alternatives as one rhs; identifier, params and expression
# are used but never defined.
BRAID_RULES = [
    {"lhs": "program", "rhs": ["statement_list"]},
    {"lhs": "statement_list", "rhs": ["statement", "statement_list_tail"]},
    {"lhs": "statement_list_tail", "rhs": ["statement", "statement_list_tail"]},
    {"lhs": "statement_list_tail", "rhs": []},
    {"lhs": "statement", "rhs": ["function_declaration", "expression_statement"]},
    {"lhs": "function_declaration", "rhs": ["FUNCTION", "identifier", "params", "LBRACE", "statement_list", "RBRACE"]},
    {"lhs": "expression_statement", "rhs": ["expression", "SEMICOLON"]},
]


def braid_ir(**fields):
    """A document as Braid's IR writer emits it: every field present, empty ones as null / [] / {}."""
    return {
        "json_schema": None,
        "grammar": None,
        "regex_patterns": [],
        "token_masks": {},
        "priority": 0,
        "feasibility_score": 0.75,
        "is_feasible": True,
        "rich_context": None,
        **fields,
    }


# -- Braid ------------------------------------------------------------------------------------------


def test_braid_document_with_every_field_keeps_provenance_in_metadata():
    doc = braid_ir(
        json_schema={"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        priority=5,
        rich_context=RICH_CONTEXT,
    )
    ir = ananke.load_constraint(doc)
    assert ir.constraint.kind == "json_schema"  # token_masks {} is no mask, not an empty token_mask node
    assert ir.metadata["rich_context"] == RICH_CONTEXT
    assert (ir.metadata["feasibility_score"], ir.metadata["is_feasible"], ir.metadata["priority"]) == (0.75, True, 5)
    assert ananke.matches(ir, '{"a":1}') and not ananke.matches(ir, '{"a":"x"}')


def test_json_schema_only_braid_document_is_not_taken_for_the_seed_format():
    ir = ananke.load_constraint(
        {
            "json_schema": {"type": "string", "maxLength": 3},
            "priority": 1,
            "feasibility_score": 1,
            "is_feasible": False,
            "rich_context": None,
        }
    )
    assert ir.metadata["format"] == "braid" and ir.metadata["is_feasible"] is False
    assert ananke.matches(ir, '"abc"') and not ananke.matches(ir, '"abcd"')


@pytest.mark.parametrize(
    "field, value",
    [("feasibility_score", "high"), ("feasibility_score", True), ("is_feasible", 1), ("rich_context", [1])],
)
def test_braid_provenance_fields_are_typed(field, value):
    with pytest.raises(ConstraintError) as info:
        ananke.load_constraint(braid_ir(regex_patterns=["a"], **{field: value}))
    assert info.value.diagnostics[0].pointer == f"/{field}"


def test_export_wrapper_carries_the_same_ir_and_resolves_rules_in_its_language():
    doc = {
        "language": "typescript",
        "constraint_ir": braid_ir(grammar={"start_symbol": "function_declaration", "rules": BRAID_RULES}),
        "function_signatures": RICH_CONTEXT["function_signatures"],
        "type_bindings": [],
        "imports": [],
    }
    compiled = ananke.compile(doc)
    assert compiled.ir.metadata["language"] == "typescript" and compiled.ir.metadata["is_feasible"] is True
    for text in ("function f(a, b) { x + 1; }", "function g() { h(1); y.z; }"):
        assert ananke.matches(compiled, text) and compiled.verify(text).satisfied, text
    for text in ("function f(a, b) { x + ; }", "function (a) { x; }", "function f(a) { x }"):
        assert not ananke.matches(compiled, text), text


def test_statement_alternatives_are_alternatives_not_a_sequence():
    ir = ananke.load_constraint(
        {"language": "typescript", "constraint_ir": braid_ir(grammar={"start_symbol": "program", "rules": BRAID_RULES})}
    )
    statement_rules = [rule.rhs for rule in ir.constraint.rules if rule.lhs == "statement"]
    assert statement_rules == [["function_declaration"], ["expression_statement"]]
    assert ananke.matches(ir, "x; y + 2;")


def test_undefined_rule_names_without_a_language_make_one_diagnostic_listing_them_all():
    with pytest.raises(ConstraintError) as info:
        ananke.compile(braid_ir(grammar={"start_symbol": "program", "rules": BRAID_RULES}))
    [diagnostic] = info.value.diagnostics
    assert "identifier, params, expression" in diagnostic.message
    assert "typescript" in diagnostic.message  # says how to resolve them


def test_language_without_builtin_grammar_lists_undefined_names_too():
    with pytest.raises(ConstraintError) as info:
        ananke.compile(
            {"language": "cobol", "constraint_ir": braid_ir(grammar={"start_symbol": "program", "rules": BRAID_RULES})}
        )
    assert len(info.value.diagnostics) == 1 and "identifier" in info.value.diagnostics[0].message


def test_names_the_language_lacks_are_still_named():
    rules = [{"lhs": "s", "rhs": ["expression", "no_such_rule_anywhere"]}]
    with pytest.raises(ConstraintError) as info:
        ananke.compile({"language": "python", "constraint_ir": braid_ir(grammar={"start_symbol": "s", "rules": rules})})
    [diagnostic] = info.value.diagnostics
    assert "no_such_rule_anywhere" in diagnostic.message and "expression" not in diagnostic.message.split(":")[1]


def test_llguidance_export_is_a_choice_of_its_patterns():
    export = {"type": "guidance", "version": "1.0", "patterns": ["[0-9]{3}", "v[a-z]+"], "priority": 4}
    ir = ananke.load_constraint(export)
    assert ir.metadata["priority"] == 4 and ir.metadata["format"] == "braid-guidance"
    assert ananke.matches(ir, "123") and ananke.matches(ir, "vabc") and not ananke.matches(ir, "12")


def test_llguidance_export_with_schema_and_unknown_field():
    ir = ananke.load_constraint(
        {"type": "guidance", "version": "1.0", "json_schema": {"type": "boolean"}, "priority": 0}
    )
    assert ananke.matches(ir, "true") and not ananke.matches(ir, "1")
    with pytest.raises(ConstraintError) as info:
        ananke.load_constraint({"type": "guidance", "version": "1.0", "patterns": ["a"], "bogus": 1})
    assert info.value.diagnostics[0].pointer == "/bogus"


def test_provenance_is_found_in_every_carrier():
    assert constraint_provenance(braid_ir(rich_context=RICH_CONTEXT))["rich_context"] == RICH_CONTEXT
    wrapped = {"language": "go", "constraint_ir": braid_ir()}
    assert constraint_provenance(wrapped) == {"feasibility_score": 0.75, "is_feasible": True, "rich_context": None}
    ir_doc = ananke.load_constraint(braid_ir(regex_patterns=["a"])).to_json()
    assert constraint_provenance(json.dumps(ir_doc))["feasibility_score"] == 0.75
    assert constraint_provenance({"kind": "regex", "pattern": "a"}) == {}


# -- Maze -------------------------------------------------------------------------------------------


def maze_request(properties=None, constraints=()):
    return {"type": "object", "properties": properties or {}, "constraints": list(constraints)}


def test_maze_entries_carry_names():
    doc = maze_request(
        constraints=[
            {"type": "grammar", "name": "syntax", "rules": [{"lhs": "s", "rhs": ["IDENTIFIER"]}], "start": "s"},
            {"type": "regex", "pattern": "[a-z]+", "flags": ""},
            {"type": "token_mask", "name": "security", "forbidden": [3]},
        ]
    )
    ir = ananke.load_constraint(doc)
    assert ir.metadata["names"] == ["syntax", "security"]
    compiled = ananke.compile(ir)
    assert compiled.token_mask.forbidden == [3]
    assert ananke.matches(compiled, "abc") and not ananke.matches(compiled, "ABC")


def test_maze_empty_skeleton_means_unconstrained_in_requests_and_is_refused_alone():
    skeleton = maze_request()
    assert is_unconstrained(skeleton) and is_unconstrained({}) and is_unconstrained(None)
    assert not is_unconstrained(maze_request(constraints=[{"type": "regex", "pattern": "a"}]))
    assert not is_unconstrained({"type": "object", "properties": {"a": {"type": "string"}}, "constraints": []})
    with pytest.raises(ConstraintError, match="unconstrained generation"):
        ananke.load_constraint(skeleton)


def test_maze_json_schema_struct_is_translated_and_enforced():
    struct = {
        "schema_type": "object",
        "properties": {
            "password": {"type": "string", "pattern": "^[a-z0-9]{8,}$"},
            "user": {
                "schema_type": "object",
                "properties": {"id": {"type": "integer"}},
                "required": ["id"],
                "additional_properties": False,
            },
        },
        "required": ["password", "user"],
        "additional_properties": False,
    }
    ir = ananke.load_constraint(maze_request({"credentials": struct}))
    assert ir.metadata["names"] == ["credentials"]
    compiled = ananke.compile(ir)
    assert ananke.matches(compiled, '{"password":"abcdefgh1","user":{"id":3}}')
    for bad in (
        '{"password":"💡💡","user":{"id":3}}',
        '{"password":"abcdefgh1"}',
        '{"password":"abcdefgh1","user":{"id":3},"x":1}',
        '{"password":"abcdefgh1","user":{"id":"3"}}',
    ):
        assert not ananke.matches(compiled, bad), bad


def test_maze_structs_each_hold_for_the_output():
    ir = ananke.load_constraint(
        maze_request(
            {
                "a": {
                    "schema_type": "object",
                    "properties": {"x": {"type": "integer"}},
                    "required": ["x"],
                    "additional_properties": True,
                },
                "b": {
                    "schema_type": "object",
                    "properties": {"x": {"type": "integer", "minimum": 10}},
                    "required": [],
                    "additional_properties": True,
                },
            }
        )
    )
    assert ananke.matches(ir, '{"x":12}') and not ananke.matches(ir, '{"x":3}') and not ananke.matches(ir, "{}")


@pytest.mark.parametrize(
    "struct, pointer",
    [
        ({"schema_type": "obj"}, "/properties/s/schema_type"),
        ({"schema_type": "object", "required": "a"}, "/properties/s/required"),
        ({"schema_type": "object", "additional_properties": "no"}, "/properties/s/additional_properties"),
        ({"schema_type": "object", "propertiez": {}}, "/properties/s/propertiez"),
    ],
)
def test_maze_struct_errors_point_at_the_field(struct, pointer):
    with pytest.raises(ConstraintError) as info:
        ananke.load_constraint(maze_request({"s": struct}))
    assert info.value.diagnostics[0].pointer == pointer


# Property: the translation means what serde's struct means. A reference checker of the struct's own
# semantics (type, required, closed unless additional_properties) agrees with jsonschema on the translation.
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))
KEYS = st.sampled_from(["a", "b", "c"])
LEAF_SCHEMAS = st.sampled_from([{"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {}])


def structs(depth=2):
    value = LEAF_SCHEMAS if depth == 0 else st.one_of(LEAF_SCHEMAS, st.deferred(lambda: structs(depth - 1)))
    return st.builds(
        lambda props, required, extra: {
            "schema_type": "object",
            "properties": props,
            "required": required,
            "additional_properties": extra,
        },
        st.dictionaries(KEYS, value, max_size=3),
        st.lists(KEYS, max_size=2, unique=True),
        st.booleans(),
    )


INSTANCES = st.recursive(SCALARS, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)
PYTHON_TYPES = {"string": str, "integer": int, "boolean": bool}


def struct_accepts(struct, value):
    if "schema_type" not in struct:  # a plain schema inside properties
        kind = struct.get("type")
        if kind is None:
            return True
        if kind == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, PYTHON_TYPES[kind])
    if not isinstance(value, dict):
        return False
    if any(name not in value for name in struct["required"]):
        return False
    if not struct["additional_properties"] and any(key not in struct["properties"] for key in value):
        return False
    return all(
        struct_accepts(struct["properties"][key], item) for key, item in value.items() if key in struct["properties"]
    )


@settings(max_examples=200, deadline=None)
@given(structs(), INSTANCES)
def test_maze_struct_translation_matches_struct_semantics(struct, instance):
    schema = maze_struct_to_schema(struct)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert jsonschema.Draft202012Validator(schema).is_valid(instance) == struct_accepts(struct, instance)


# -- plain JSON Schema --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "properties": {"name": {"type": "string"}}},
        {"type": ["string", "null"], "maxLength": 2},
        {"type": "array", "items": {"type": "integer"}},
    ],
)
def test_plain_json_schema_is_recognized_without_kind(schema):
    ir = ananke.load_constraint(schema)
    assert ir.constraint.kind == "json_schema" and ir.constraint.schema_ == schema
    assert ir.metadata["format"] == "json_schema"
    assert ananke.load_constraint(json.dumps(schema)).constraint == ir.constraint


def test_maze_and_typed_forms_are_not_taken_for_schemas():
    assert (
        ananke.load_constraint(maze_request(constraints=[{"type": "regex", "pattern": "a"}])).metadata["format"]
        == "maze"
    )
    assert ananke.load_constraint({"type": "json", "schema": {"type": "string"}}).metadata["format"] == "typed"


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "object", "grammar": 'start: "a"'},
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "regex_patterns": ["a"]},
        {"type": "string", "schema": {"type": "string"}},
    ],
)
def test_ambiguous_documents_are_refused_naming_kind(doc):
    with pytest.raises(UnknownKindError) as info:
        ananke.load_constraint(doc)
    message = info.value.diagnostics[0].message
    assert "ambiguous" in message and "--kind" in message and "`kind`" in message


def test_misspelled_type_next_to_schema_keywords_is_an_invalid_schema():
    with pytest.raises(ConstraintError) as info:
        ananke.compile({"type": "strin", "maxLength": 3})
    assert info.value.diagnostics[0].pointer == "/type" and "not one of" in info.value.diagnostics[0].message


def test_unrecognized_format_names_kind():
    with pytest.raises(UnknownKindError) as info:
        ananke.load_constraint({"properties": {"a": {}}})  # JSON Schema keywords but no type: not claimed
    assert "--kind" in info.value.diagnostics[0].message
