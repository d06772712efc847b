"""``oneOf``/``not``/``if`` rewrites that negate one subschema relative to another (``_given.py``) and
the disjointness proofs they rely on: the rewritten schema accepts exactly what the original accepts
under ``jsonschema``, and the compiled grammar (llguidance) accepts an instance iff ``jsonschema``
validates it (in some key order: llguidance fixes the declared order)."""

from __future__ import annotations

import itertools
import json
import re

import jsonschema
import llguidance as llg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ananke.core._llg import byte_tokenizer
from ananke.plugins._schema import SchemaUnsupported, prepare_schema
from ananke.plugins._schema._algebra import Ctx, literal_prefix
from ananke.plugins._schema._counts import rewrite_property_counts
from ananke.plugins._schema._given import negate_given
from ananke.plugins._schema._logic import rewrite_not, rewrite_one_of

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = ["a", "b", "c"]
CTX = Ctx({})
TOK = byte_tokenizer()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.sampled_from([0.5, -1.5]),
    st.sampled_from(["", "a", "ab", "ab1", "ac", "b", "b-2", "xyz"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=6,
)
leaf = st.one_of(
    st.builds(lambda t: {"type": t}, st.sampled_from(["string", "integer", "boolean", "null", "number"])),
    st.builds(lambda v: {"const": v}, scalars),
    st.builds(lambda vs: {"enum": vs}, st.lists(scalars, min_size=1, max_size=3)),
    st.just({"type": "string", "minLength": 2}),
    st.just({"type": "integer", "minimum": 0}),
    st.just({"type": "string", "pattern": "^a"}),
)


def _object(closed: bool):
    return st.builds(
        lambda props, req, typed: {
            **({"type": "object"} if typed else {}),
            "properties": dict(sorted(props.items())),
            **({"additionalProperties": False} if closed else {}),
            **({"required": sorted(set(req) & set(props))} if set(req) & set(props) else {}),
        },
        st.dictionaries(st.sampled_from(KEYS), leaf, min_size=1, max_size=3),
        st.lists(st.sampled_from(KEYS), max_size=2),
        st.booleans(),
    )


arrays = st.builds(
    lambda item, lo: {"type": "array", "items": item, **({"minItems": lo} if lo else {})}, leaf, st.integers(0, 1)
)
prefixed = st.builds(
    lambda head, tail: {"type": "string", "pattern": "^" + head + tail},
    st.sampled_from(["a", "ab", "ac", "b", "b\\-", "x"]),
    st.sampled_from(["", "$", "[0-9]", "[0-9]?$", ".*"]),
)
branch = st.one_of(_object(True), _object(False), arrays, prefixed, leaf)


def valid(schema, instance) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(instance)


def _writings(x) -> list[str]:
    """``x`` as compact JSON with its objects' keys in every order (the engine fixes one order)."""
    if isinstance(x, list):
        return ["[" + ",".join(p) + "]" for p in itertools.product(*(_writings(v) for v in x))]
    if isinstance(x, dict):
        out = []
        for keys in itertools.permutations(x):
            for vals in itertools.product(*(_writings(x[k]) for k in keys)):
                out.append("{" + ",".join(json.dumps(k) + ":" + v for k, v in zip(keys, vals, strict=True)) + "}")
        return out
    return [json.dumps(x)]


def engine_accepts(schema, instance) -> bool:
    """Accepted in some key order (every writing is tried: an invalid instance must fail them all)."""
    grammar = llg.grammar_from("json", json.dumps(schema))
    for text in _writings(instance):
        m = llg.LLMatcher(TOK, grammar, log_level=0)
        if not m.is_error() and m.consume_tokens(list(text.encode())) and m.is_accepting():
            return True
    return False


def assert_exact(original, rewritten, instances):
    for x in instances:
        assert valid(original, x) == valid(rewritten, x), (original, rewritten, x)


def assert_engine_iff_valid(original, instances) -> None:
    """Compiled grammar accepts x (in some key order) iff jsonschema validates x."""
    try:
        prepared = prepare_schema(original)
    except SchemaUnsupported:
        return
    for x in instances:
        assert engine_accepts(prepared.schema, x) == valid(original, x), (original, prepared.schema, x)


@SETTINGS
@given(st.lists(branch, min_size=2, max_size=3), st.lists(values, min_size=6, max_size=12))
def test_one_of_with_relative_negation_is_exact(branches, xs):
    original = {"oneOf": branches}
    try:
        rewritten = rewrite_one_of(original, CTX, "")
    except SchemaUnsupported:
        return
    assert "oneOf" not in json.dumps(rewritten)
    assert_exact(original, rewritten, xs)
    assert_engine_iff_valid(original, xs)


@SETTINGS
@given(_object(True), st.one_of(_object(True), _object(False), leaf), st.lists(values, min_size=6, max_size=12))
def test_not_next_to_a_closed_object_is_exact(rest, inner, xs):
    original = {**rest, "not": inner}
    try:
        rewritten = rewrite_not(original, CTX, "")
    except SchemaUnsupported:
        return
    assert "not" not in json.dumps(rewritten)
    assert_exact(original, rewritten, xs)
    assert_engine_iff_valid(original, xs)


@SETTINGS
@given(branch, branch, st.lists(values, min_size=6, max_size=12))
def test_negate_given_is_the_complement_inside_the_given_schema(node, known, xs):
    try:
        neg = negate_given(node, known, CTX)
    except Exception as exc:  # only the documented refusal may escape
        assert type(exc).__name__ == "CannotNegate"
        return
    for x in xs:
        if valid(known, x):
            assert valid(neg, x) == (not valid(node, x)), (node, known, neg, x)


@SETTINGS
@given(leaf, leaf, st.lists(values, min_size=6, max_size=12))
def test_not_and_a_schema_requiring_its_operand_are_disjoint(inner, other, xs):
    original = {"oneOf": [{"not": inner}, {"allOf": [inner, other]}]}
    rewritten = rewrite_one_of(original, CTX, "")  # provably disjoint: never refused
    assert rewritten == {"allOf": [{"anyOf": original["oneOf"]}]}
    assert_exact(original, rewritten, xs)


PIECES = ["a", "b", "\\-", "/", "[0-9]", "x?", "y*", "(c|d)", ".", "$"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=5), st.data())
def test_literal_prefix_starts_every_match(pieces, data):
    pattern = "^" + "".join(pieces)
    prefix = literal_prefix(pattern)
    assert prefix is not None
    text = data.draw(st.from_regex(pattern))
    assert re.search(pattern, text)
    assert text.startswith(prefix), (pattern, prefix, text)


@pytest.mark.parametrize("pattern", ["abc", "^a|b", "^(a)|b", "(?i)^abc", 7])
def test_no_literal_prefix_without_an_anchor_or_with_a_top_level_alternation(pattern):
    assert literal_prefix(pattern) is None


def test_closed_objects_with_disjoint_keys_compile_as_one_of():
    schema = {
        "oneOf": [
            {"properties": {"value": {"type": "string"}, "unit": {"type": "string"}}, "additionalProperties": False},
            {"properties": {"text": {"type": "string"}}, "additionalProperties": False},
        ]
    }
    prepared = prepare_schema(schema)
    for x in ({}, {"value": "1"}, {"text": "1"}, {"value": "1", "text": "x"}, 3, "s"):
        assert engine_accepts(prepared.schema, x) == valid(schema, x), x


def test_overlap_that_needs_a_non_integer_number_stays_refused():
    schema = {
        "oneOf": [
            {"type": "object", "required": ["a"]},
            {"type": "object", "required": ["b"], "properties": {"b": {"type": "integer"}}},
        ]
    }
    with pytest.raises(SchemaUnsupported) as err:
        prepare_schema(schema)
    assert err.value.keyword == "oneOf" and "non-integer" in err.value.message


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(KEYS), leaf, min_size=1, max_size=3),
    st.lists(st.sampled_from(KEYS), max_size=2),
    st.sampled_from([None, False, {"type": "integer"}]),
    st.one_of(st.none(), st.integers(0, 4)),
    st.one_of(st.none(), st.integers(0, 3)),
    st.lists(values, min_size=6, max_size=12),
)
def test_property_counts_next_to_optional_properties_are_exact(props, req, extra, lo, hi, xs):
    schema = {"type": "object", "properties": dict(sorted(props.items()))}
    if req:
        schema["required"] = sorted(set(req))
    if extra is not None:
        schema["additionalProperties"] = extra
    schema.update({k: v for k, v in (("minProperties", lo), ("maxProperties", hi)) if v is not None})
    rewritten = rewrite_property_counts(schema, CTX, "")
    assert_exact(schema, rewritten, xs)
    assert_engine_iff_valid(schema, xs)


def test_at_least_one_of_the_listed_keys_compiles():
    schema = {"type": "object", "properties": {"include": {"type": "string"}, "exclude": {}}, "minProperties": 1}
    prepared = prepare_schema(schema)
    for x in ({}, {"include": "a"}, {"other": 1}, {"include": 3}, {"exclude": None, "include": "a"}):
        assert engine_accepts(prepared.schema, x) == valid(schema, x), x


ATOMS_RE = ["a", "[ab]", "[^a]", "\\d", "[a-c\\d]", "\\.", "\\w", "\\s", "\\S", "[^:]", "[x-]", "\\D"]
QUANTS = ["", "+", "*", "{2}", "{1,3}", "{2,}"]
patterns = st.one_of(
    st.builds(lambda a, q: "^" + a + q + "$", st.sampled_from(ATOMS_RE), st.sampled_from(QUANTS)),
    st.builds(lambda a, g: g.format(a), st.sampled_from(ATOMS_RE), st.sampled_from(["{}", "({})", "(?:{})"])),
)


@settings(max_examples=120, deadline=None)
@given(patterns, st.lists(st.text(alphabet="ab:.1 -x\n", max_size=6), min_size=8, max_size=16))
def test_negated_class_pattern_is_exact_against_pythons_re(pattern, texts):
    """``not: {pattern}`` accepts a string iff Python's ``re.search`` (jsonschema's oracle) finds no match,
    trailing newlines included (Python's ``$`` also matches before one)."""
    schema = {"type": "string", "not": {"pattern": pattern}}
    try:
        prepared = prepare_schema(schema)
    except SchemaUnsupported:
        assert pattern.startswith("^\\S"), pattern  # non-whitespace minus the newline needs a set difference
        return
    for text in texts:
        assert engine_accepts(prepared.schema, text) == (re.search(pattern, text) is None), (pattern, text)


compound = st.one_of(st.lists(values, max_size=3), st.dictionaries(st.sampled_from(KEYS), values, max_size=3))


@SETTINGS
@given(st.lists(st.one_of(compound, scalars), min_size=1, max_size=3), st.lists(values, min_size=4, max_size=10))
def test_negated_array_and_object_constants_are_exact(members, xs):
    schema = {"not": {"enum": members}}
    instances = [*members, *xs]
    try:
        rewritten = rewrite_not(schema, CTX, "")
    except SchemaUnsupported as exc:
        assert "would accept" in exc.message  # only the engine's range gap (test below) is refused
        return
    assert "not" not in json.dumps(rewritten)
    assert_exact(schema, rewritten, instances)
    assert_engine_iff_valid(schema, instances)


def test_escapes_that_are_assertions_in_rust_end_the_literal_prefix():
    assert literal_prefix("^\\.\\/ab") == "./ab"
    assert literal_prefix("^\\<ab") == ""  # a word boundary in Rust's regex, a literal `<` in Python's


def test_excluding_an_integer_and_a_fraction_just_above_it_is_refused():
    """llguidance 1.9.1 accepts ``0`` for ``exclusiveMinimum: 0`` with an upper bound below 1 (and ``-1``
    for ``exclusiveMaximum: -1`` above -2), so such a gap between excluded values has no exact engine form
    (found by the property test above)."""
    with pytest.raises(SchemaUnsupported) as err:
        prepare_schema({"not": {"enum": [0, 0.5]}})
    assert "would accept 0" in err.value.message
    with pytest.raises(SchemaUnsupported, match="would accept -1"):
        prepare_schema({"not": {"enum": [-1, -1.5]}})
    prepared = prepare_schema({"not": {"enum": [0, 1.5]}})
    assert not engine_accepts(prepared.schema, 0) and engine_accepts(prepared.schema, 0.5)


quarters = st.integers(-10, 10).map(lambda q: q // 4 if q % 4 == 0 else q / 4)


@settings(max_examples=150, deadline=None)
@given(
    quarters,
    quarters,
    st.sampled_from(["minimum", "exclusiveMinimum"]),
    st.sampled_from(["maximum", "exclusiveMaximum"]),
    st.sampled_from(["node", "allOf", "anyOf"]),
)
def test_number_ranges_compile_only_where_the_engine_enforces_them(lo, hi, lo_key, hi_key, shape):
    """Every prepared number range accepts exactly the numbers jsonschema accepts (llguidance 1.9.1 leaks
    the integer bound of some open ranges: those schemas must be refused, wherever the bounds meet)."""
    if shape == "node":
        schema = {"type": "number", lo_key: lo, hi_key: hi}
    elif shape == "allOf":
        schema = {"type": "number", "allOf": [{lo_key: lo}, {hi_key: hi}]}
    else:
        schema = {"type": "number", lo_key: lo, "anyOf": [{hi_key: hi}, {"const": 99}]}
    try:
        prepared = prepare_schema(schema)
    except SchemaUnsupported as exc:
        assert "would accept" in exc.message or "Unsatisfiable" in exc.message, exc.message
        return
    for x in [*range(-3, 4), -2.5, -1.5, -0.75, -0.5, 0.25, 0.5, 1.5, 2.75, 99]:
        assert engine_accepts(prepared.schema, x) == valid(schema, x), (schema, x)
