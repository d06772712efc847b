"""The json_schema plugin: strict by default, whitespace modes, lenient mode, independent verification."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ananke
from ananke.errors import ConstraintError, UnsupportedFeatureError

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3},
        "email": {"type": "string", "format": "email"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def node(schema, **kw):
    return {"kind": "json_schema", "schema": schema, **kw}


PERSONS = st.fixed_dictionaries(
    # llguidance 1.9 rejects a raw DEL (U+007F) inside JSON strings: an over-restriction, not unsound.
    # (no lone surrogates: they are not text, and JSON documents are UTF-8)
    {
        "name": st.text(
            st.characters(blacklist_characters="\x7f", blacklist_categories=("Cs",)), min_size=1, max_size=12
        ),
        "age": st.integers(0, 150),
    },
    optional={
        "tags": st.lists(st.sampled_from(["a", "b", "c"]), max_size=3),
        "email": st.sampled_from(["ada@example.com", "x.y@host.org"]),
    },
)


@pytest.fixture(scope="module")
def person():
    return ananke.compile(node(PERSON))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instance=PERSONS)
def test_accepts_instances_generated_from_the_schema(person, instance):
    # The engine emits properties in schema order (like llguidance, XGrammar and Outlines).
    ordered = {key: instance[key] for key in PERSON["properties"] if key in instance}
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)
    assert ananke.matches(person, text)
    assert person.verify(text).satisfied


MUTATIONS = [
    lambda d: {k: v for k, v in d.items() if k != "name"},
    lambda d: {**d, "age": -1},
    lambda d: {**d, "age": str(d["age"])},
    lambda d: {**d, "extra": True},
    lambda d: {**d, "name": ""},
    lambda d: {**d, "tags": ["z"]},
    lambda d: {**d, "email": "not an email"},
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instance=PERSONS, mutate=st.sampled_from(MUTATIONS))
def test_rejects_mutated_instances(person, instance, mutate):
    text = json.dumps(mutate(instance), separators=(",", ":"))
    assert not ananke.matches(person, text)
    assert not person.verify(text).satisfied


def test_whitespace_compact_by_default_flexible_on_request():
    compact = ananke.compile(node({"type": "object"}))
    flexible = ananke.compile(node({"type": "object"}, whitespace="flexible"))
    assert ananke.matches(compact, '{"a":1}') and not ananke.matches(compact, '{"a": 1}')
    assert ananke.matches(flexible, '{ "a" : 1 }')


def test_unenforceable_standard_format_is_an_error_naming_its_pointer():
    with pytest.raises(UnsupportedFeatureError) as info:
        ananke.compile(node({"type": "object", "properties": {"x": {"type": "string", "format": "idn-email"}}}))
    assert info.value.diagnostics[0].pointer.startswith("/schema/properties/x")


def test_unknown_format_is_an_annotation_compiled_with_a_warning_naming_it():
    compiled = ananke.compile(node({"type": "object", "properties": {"x": {"type": "string", "format": "bogus"}}}))
    assert compiled.exact and any("'bogus'" in w and "/properties/x/format" in w for w in compiled.warnings)
    assert ananke.matches(compiled, '{"x":"anything at all"}')


def test_lenient_mode_warns_and_verification_catches_what_was_dropped():
    schema = {"type": "string", "format": "idn-email", "maxLength": 3}
    compiled = ananke.compile(node(schema), lenient=True)
    assert compiled.warnings and not compiled.exact
    assert ananke.matches(compiled, '"abc"')


def test_x_guidance_is_reserved():
    with pytest.raises(ConstraintError) as info:
        ananke.compile(node({"type": "object", "x-guidance": {"lenient": True}}))
    assert info.value.diagnostics[0].pointer == "/schema/x-guidance"


def test_false_schema_accepts_nothing():
    with pytest.raises(ConstraintError):
        ananke.compile(node(False))


def test_verification_reports_parse_errors():
    compiled = ananke.compile(node({"type": "integer"}))
    problems = compiled.verify("12 13").errors
    assert problems and "not a JSON document" in problems[0]
