"""Invalid schemas are called invalid (meta-schema, pointer, allowed values); valid ones the engine
cannot enforce keep "cannot be enforced" (issue #18)."""

from __future__ import annotations

import pytest

import ananke
from ananke.errors import ConstraintError, UnsupportedFeatureError

JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


def diagnostics_of(source, **kw):
    with pytest.raises(ConstraintError) as info:
        ananke.compile(source, **kw)
    return info.value


def test_misspelled_type_is_invalid_with_pointer_and_allowed_values():
    error = diagnostics_of({"type": "object", "properties": {"a": {"type": "strin"}}})
    [diagnostic] = error.diagnostics
    assert diagnostic.pointer == "/properties/a/type"  # a plain schema: the pointer is into the file
    assert "invalid JSON Schema (draft 2020-12)" in diagnostic.message
    assert "'strin' is not one of 'array', 'boolean'" in diagnostic.message
    assert diagnostic.allowed == JSON_TYPES
    assert "llguidance" not in diagnostic.message and not isinstance(error, UnsupportedFeatureError)


def test_invalid_schema_inside_a_node_points_under_schema():
    [diagnostic] = diagnostics_of({"kind": "json_schema", "schema": {"type": "strin"}}).diagnostics
    assert diagnostic.pointer == "/schema/type"


def test_invalid_even_when_lenient():
    [diagnostic] = diagnostics_of({"type": "string", "minLength": -1}, lenient=True).diagnostics
    assert diagnostic.pointer == "/minLength" and "invalid JSON Schema" in diagnostic.message


@pytest.mark.parametrize(
    "schema, pointer",
    [
        ({"type": "object", "required": "a"}, "/required"),
        ({"type": "object", "properties": {"a": 3}}, "/properties/a"),
        ({"type": ["string", "nope"]}, "/type/1"),
        ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "strin"}, "/type"),
    ],
)
def test_other_invalid_schemas(schema, pointer):
    assert diagnostics_of(schema).diagnostics[0].pointer == pointer


def test_draft_is_named():
    [diagnostic] = diagnostics_of({"$schema": "http://json-schema.org/draft-04/schema#", "type": "strin"}).diagnostics
    assert "draft-04" in diagnostic.message


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "number", "minimum": 1, "exclusiveMinimum": True},  # draft-04 syntax without $schema
        {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "type": "integer",
            "exclusiveMaximum": True,
            "maximum": 3,
        },
        {"type": "array", "items": [{"type": "string"}], "additionalItems": False},
    ],
)
def test_legacy_syntax_still_compiles(schema):
    assert ananke.compile(schema).fingerprint


def test_valid_but_unenforceable_keeps_cannot_enforce():
    error = diagnostics_of({"type": "string", "format": "idn-email"})
    assert isinstance(error, UnsupportedFeatureError)
    assert "invalid" not in error.diagnostics[0].message and error.diagnostics[0].pointer == "/format"
