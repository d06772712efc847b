"""Each rewriting pass on its own: the rewritten schema accepts exactly the instances the original
accepts (checked with ``jsonschema`` on generated and mutated instances), and end to end llguidance
never accepts an instance the original schema rejects."""

from __future__ import annotations

import json

import jsonschema
import llguidance as llg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ananke.core._llg import byte_tokenizer
from ananke.plugins._schema import SchemaUnsupported, prepare_schema
from ananke.plugins._schema._algebra import Ctx
from ananke.plugins._schema._arrays import rewrite_contains, rewrite_unique
from ananke.plugins._schema._dependent import rewrite_dependent
from ananke.plugins._schema._drafts import normalize_legacy
from ananke.plugins._schema._formats import rewrite_format
from ananke.plugins._schema._logic import rewrite_if, rewrite_not, rewrite_one_of
from ananke.plugins._schema._names import rewrite_property_names

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = ["a", "b", "c"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.5, 2.0, -2.5]),
    st.sampled_from(["", "a", "b", "ab", "ba", "abc", "a\n", "xyz"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=6,
)
simple = st.one_of(
    st.builds(
        lambda t: {"type": t}, st.sampled_from(["string", "integer", "number", "boolean", "null", "object", "array"])
    ),
    st.builds(lambda v: {"const": v}, scalars),
    st.builds(lambda vs: {"enum": vs}, st.lists(scalars, min_size=1, max_size=3)),
    st.builds(lambda ks: {"required": ks}, st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True)),
    st.builds(lambda n: {"minLength": n}, st.integers(0, 3)),
    st.builds(lambda n: {"maximum": n}, st.integers(-2, 2)),
    st.builds(lambda n: {"exclusiveMinimum": n}, st.integers(-2, 2)),
    st.builds(lambda n: {"maxItems": n}, st.integers(0, 2)),
    st.builds(
        lambda k, s: {"properties": {k: s}},
        st.sampled_from(KEYS),
        st.builds(lambda t: {"type": t}, st.sampled_from(["string", "integer"])),
    ),
)
combined = st.one_of(
    simple,
    st.builds(lambda xs: {"anyOf": xs}, st.lists(simple, min_size=1, max_size=2)),
    st.builds(lambda xs: {"allOf": xs}, st.lists(simple, min_size=1, max_size=2)),
)


def valid(schema, instance) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(instance)


def _trailing_newline(x) -> bool:
    if isinstance(x, str):
        return x.endswith("\n")
    if isinstance(x, list):
        return any(_trailing_newline(v) for v in x)
    return isinstance(x, dict) and any(_trailing_newline(v) or k.endswith("\n") for k, v in x.items())


def assert_same(original, rewritten, instances):
    """Same verdicts under jsonschema. Strings ending in a newline are left to the end-to-end check:
    Python's ``$`` matches before a final newline, ECMA's and llguidance's do not, so the generated
    (engine-semantics) regexes cannot be judged by Python ``re`` there."""
    for x in instances:
        if _trailing_newline(x):
            continue
        assert valid(original, x) == valid(rewritten, x), (original, rewritten, x)


TOK = byte_tokenizer()


def engine_accepts(schema, instance) -> bool:
    m = llg.LLMatcher(TOK, llg.grammar_from("json", json.dumps(schema)), log_level=0)
    text = json.dumps(instance, separators=(",", ":"), ensure_ascii=False)
    return not m.is_error() and m.consume_tokens(list(text.encode())) and m.is_accepting()


def assert_sound_end_to_end(original, instances):
    try:
        prepared = prepare_schema(original)
    except SchemaUnsupported:
        return
    for x in instances:
        if engine_accepts(prepared.schema, x):
            assert valid(original, x), (original, prepared.schema, x)


CTX = Ctx({})


@SETTINGS
@given(combined, st.lists(values, min_size=5, max_size=12))
def test_not_pass_is_exact(inner, xs):
    original = {"not": inner}
    try:
        rewritten = rewrite_not(original, CTX, "")
    except SchemaUnsupported:
        return
    assert "not" not in json.dumps(rewritten)
    assert_same(original, rewritten, xs)
    assert_sound_end_to_end(original, xs)


@SETTINGS
@given(
    st.lists(simple, min_size=2, max_size=3),
    st.sampled_from([None, "object", "string", "number"]),
    st.lists(values, min_size=5, max_size=12),
)
def test_one_of_pass_is_exact(branches, parent_type, xs):
    original = {"oneOf": branches, **({"type": parent_type} if parent_type else {})}
    try:
        rewritten = rewrite_one_of(original, CTX, "")
    except SchemaUnsupported:
        return
    assert "oneOf" not in rewritten
    assert_same(original, rewritten, xs)
    assert_sound_end_to_end(original, xs)


@SETTINGS
@given(simple, st.one_of(st.none(), simple), st.one_of(st.none(), simple), st.lists(values, min_size=5, max_size=12))
def test_if_then_else_pass_is_exact(cond, then, other, xs):
    original = {"if": cond, **({"then": then} if then else {}), **({"else": other} if other else {})}
    try:
        rewritten = rewrite_if(original, CTX, "")
    except SchemaUnsupported:
        return
    assert not {"if", "then", "else"} & set(rewritten)
    assert_same(original, rewritten, xs)
    assert_sound_end_to_end(original, xs)


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(KEYS), st.lists(st.sampled_from(KEYS), max_size=2), max_size=2),
    st.dictionaries(st.sampled_from(KEYS), simple, max_size=2),
    st.lists(values, min_size=5, max_size=12),
)
def test_dependent_pass_is_exact(req, schemas, xs):
    original = {"dependentRequired": req, "dependentSchemas": schemas}
    rewritten = rewrite_dependent(original, CTX, "")
    assert_same(original, rewritten, [*xs, {k: 1 for k in KEYS}, {"a": "x"}, {"b": 2, "c": None}])
    assert_sound_end_to_end(original, xs)


@SETTINGS
@given(
    st.one_of(
        st.builds(lambda vs: {"enum": vs}, st.lists(scalars, min_size=1, max_size=3)),
        st.just({"type": "boolean"}),
        st.just({"type": "null"}),
    ),
    st.integers(0, 2),
    st.one_of(st.none(), st.integers(0, 4)),
    st.lists(values, min_size=5, max_size=12),
)
def test_unique_items_pass_is_exact(items, lo, hi, xs):
    original = {"uniqueItems": True, "items": items, "minItems": lo, **({"maxItems": hi} if hi is not None else {})}
    try:
        rewritten = rewrite_unique(original, CTX, "")
    except SchemaUnsupported:
        return
    probes = xs + [[v, v] for v in items.get("enum", [True, None])] + [list(items.get("enum", [True, False]))]
    assert_same(original, rewritten, probes)
    assert_sound_end_to_end(original, probes)


@SETTINGS
@given(
    simple,
    st.integers(0, 2),
    st.one_of(st.none(), st.integers(0, 2)),
    st.integers(0, 3),
    st.lists(st.lists(scalars, max_size=3), min_size=5, max_size=12),
)
def test_contains_pass_is_exact(cond, lo, hi, max_items, xs):
    original = {
        "contains": cond,
        "minContains": lo,
        "maxItems": max_items,
        **({"maxContains": hi} if hi is not None else {}),
    }
    try:
        rewritten = rewrite_contains(original, CTX, "")
    except SchemaUnsupported:
        return
    assert_same(original, rewritten, xs)
    assert_sound_end_to_end(original, xs)


@SETTINGS
@given(
    st.one_of(
        st.builds(lambda p: {"pattern": p}, st.sampled_from(["^a", "b", "^[ab]+$"])),
        st.builds(lambda vs: {"enum": vs}, st.lists(st.sampled_from(KEYS), min_size=1, max_size=2)),
        st.builds(lambda n: {"maxLength": n}, st.integers(0, 2)),
    ),
    st.dictionaries(st.sampled_from([*KEYS, "ab"]), simple, max_size=2),
    st.one_of(st.just(True), st.just(False), simple),
    st.lists(
        st.dictionaries(st.sampled_from([*KEYS, "ab", "ba", "xyz"]), scalars, max_size=3), min_size=5, max_size=12
    ),
)
def test_property_names_pass_is_exact(names, props, extra, xs):
    original = {"propertyNames": names, "properties": props, "additionalProperties": extra}
    try:
        rewritten = rewrite_property_names(original, CTX, "")
    except SchemaUnsupported:
        return
    assert_same(original, rewritten, [*xs, "not an object", 3])
    assert_sound_end_to_end(original, xs)


FORMAT_SAMPLES = [
    "",
    "a",
    "/a/b",
    "/a~1b",
    "/a~2",
    "0",
    "1/a",
    "0#",
    "2#/x",
    "http://x.y/z?q#f",
    "//host/p",
    "a b",
    "%41",
    "%4",
    "{var}",
    "{+x,y*}",
    "{",
    "mailto:a@b",
    "../x",
    "1:x",
    "é/ü",
]


@pytest.mark.parametrize(
    "fmt", ["json-pointer", "relative-json-pointer", "uri-reference", "iri", "iri-reference", "uri-template"]
)
def test_format_regexes_are_subsets_of_the_format(fmt):
    from ananke.plugins._schema._verify import _format_checker

    checker = _format_checker(jsonschema.Draft202012Validator)
    original = {"type": "string", "format": fmt}
    rewritten = rewrite_format(original, CTX, "")
    assert "format" not in rewritten and "pattern" in rewritten
    lib = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for s in FORMAT_SAMPLES:
        if engine_accepts(prepare_schema(original).schema, s):
            assert checker.conforms(s, fmt), (fmt, s)
            if fmt in lib.checkers:  # an independent checker where jsonschema has one installed
                assert lib.conforms(s, fmt), (fmt, s)


@SETTINGS
@given(st.booleans(), st.integers(-2, 2), st.lists(st.one_of(st.integers(-4, 4), st.floats(-4, 4)), min_size=3))
def test_draft4_exclusive_bounds(flag, bound, xs):
    original = {"$schema": "http://json-schema.org/draft-04/schema#", "minimum": bound, "exclusiveMinimum": flag}
    rewritten = normalize_legacy(original)
    for x in xs:
        assert jsonschema.Draft4Validator(original).is_valid(x) == valid(
            {k: v for k, v in rewritten.items() if k != "$schema"}, x
        )


def test_draft7_dependencies_and_items_arrays():
    original = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "dependencies": {"a": ["b"], "c": {"required": ["a"]}},
        "items": [{"type": "integer"}],
        "additionalItems": {"type": "string"},
    }
    rewritten = normalize_legacy(original)
    assert rewritten["dependentRequired"] == {"a": ["b"]}
    assert rewritten["prefixItems"] == [{"type": "integer"}] and rewritten["items"] == {"type": "string"}
    for x in [{"a": 1}, {"a": 1, "b": 2}, {"c": 1}, {"c": 1, "a": 1, "b": 1}, [1, "x"], [1, 2], ["x"], []]:
        assert jsonschema.Draft7Validator(original).is_valid(x) == valid(
            {k: v for k, v in rewritten.items() if k != "$schema"}, x
        )


MAP_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "a", "xyz"]))
MAP_SCHEMAS = st.sampled_from(
    [True, {"type": "integer"}, {"type": "string"}, {"minLength": 1}, {"enum": ["a", None, 1]}]
)


@SETTINGS
@given(
    st.lists(st.sampled_from([*KEYS, "$ref", "a-b", "é"]), min_size=2, max_size=4, unique=True), MAP_SCHEMAS, st.data()
)
def test_property_names_enum_keeps_a_map_in_any_key_order(names, extra, data):
    """``propertyNames: {enum}`` over a map: the engine's verdict is the schema's, whatever the key order
    (the members go under ``patternProperties``, which the engine accepts in any order)."""
    keys = data.draw(st.lists(st.sampled_from([*names, "ab"]), min_size=2, max_size=4, unique=True))
    instance = {k: data.draw(MAP_VALUES) for k in keys}
    original = {"type": "object", "propertyNames": {"enum": names}, "additionalProperties": extra}
    prepared = prepare_schema(original).schema
    expected = valid(original, instance)
    items = list(instance.items())
    for order in (items, items[::-1], items[1:] + items[:1]):
        assert engine_accepts(prepared, dict(order)) == expected, (original, prepared, order)


def _integral_float(x) -> bool:
    if isinstance(x, float):
        return x.is_integer()
    if isinstance(x, list):
        return any(_integral_float(v) for v in x)
    return isinstance(x, dict) and any(_integral_float(v) for v in x.values())


TARGETS = st.sampled_from(
    [
        {"type": "string"},
        {"type": "object", "properties": {"a": {"type": "integer"}}},
        {"enum": ["a", "b", 1]},
        {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    ]
)


@SETTINGS
@given(
    st.sampled_from(
        [
            "http://json-schema.org/draft-04/schema#",
            "http://json-schema.org/draft-06/schema#",
            "http://json-schema.org/draft-07/schema#",
        ]
    ),
    TARGETS,
    simple,
    st.lists(values, min_size=5, max_size=12),
)
def test_legacy_ref_siblings_are_ignored_as_the_draft_says(dialect, target, sibling, xs):
    """Draft-04..07 ignore keywords next to ``$ref``; llguidance alone would intersect them (stricter)."""
    original = {
        "$schema": dialect,
        "definitions": {"t": target},
        "properties": {"p": {"$ref": "#/definitions/t", **sibling}},
    }
    draft = jsonschema.validators.validator_for(original)
    prepared = prepare_schema(original).schema
    for x in xs:
        inst = {"p": x}
        if engine_accepts(prepared, inst):
            assert draft(original).is_valid(inst), (original, prepared, inst)
        # draft-04 does not count 2.0 as an integer (the engine never takes 2.0 for one either)
        if _trailing_newline(inst) or ("draft-04" in dialect and _integral_float(x)):
            continue
        assert draft(original).is_valid(inst) == valid(prepared, inst), (original, prepared, inst)


def test_property_names_enum_next_to_size_bounds_stays_enforceable():
    # with listed optional properties the engine bounds object size only without patternProperties
    original = {
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "propertyNames": {"enum": ["a", "b"]},
        "maxProperties": 1,
    }
    prepared = prepare_schema(original).schema
    for x in [{}, {"a": 1}, {"b": None}, {"a": 1, "b": 2}, {"c": 1}, {"a": "x"}]:
        assert engine_accepts(prepared, x) == valid(original, x), (prepared, x)
