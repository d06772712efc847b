"""Compile once: deferred plugin checks and ready matchers agree with the eager pipeline."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ananke
from ananke.core._compiler import assemble_grammar, compile_with_matchers
from ananke.core._host import get_host
from ananke.core._llg import byte_tokenizer, validate_lark
from ananke.core._lowering import LoweringContext, defer_engine_check, deferring_engine_checks
from ananke.errors import ConstraintError
from ananke.runtime import ConstraintCache


def test_deferral_is_scoped_and_counted():
    assert defer_engine_check() is False
    with deferring_engine_checks() as outer:
        assert defer_engine_check() is True
        with deferring_engine_checks() as inner:
            assert defer_engine_check() is True
        assert defer_engine_check() is True
    assert (len(outer), len(inner)) == (2, 1)
    assert defer_engine_check() is False


def _eager(node: dict, lenient: bool) -> tuple[str, object]:
    """The reference: every plugin checks standalone, then every unvalidated grammar is validated."""
    host = get_host()
    ir = ananke.load_constraint(node)
    try:
        lowered = host.lower(ir.constraint, LoweringContext(host, lenient=lenient))
        grammars = [assemble_grammar(f) for f in lowered.fragments]
        for fragment, text in zip(lowered.fragments, grammars, strict=False):
            if not fragment.validated and validate_lark(text)[0] is not None:
                return "rejected", None
    except ConstraintError as exc:
        return "error", [(d.pointer, d.message) for d in exc.diagnostics]
    return "ok", (grammars, list(lowered.warnings), lowered.exact)


def _deferred(node: dict, lenient: bool, tokenizer=None) -> tuple[str, object]:
    try:
        compiled, matchers = compile_with_matchers(node, lenient=lenient, tokenizer=tokenizer)
    except ConstraintError as exc:
        return "error", [(d.pointer, d.message) for d in exc.diagnostics]
    if tokenizer is not None:
        assert matchers is not None and len(matchers) == len(compiled.grammars)
        assert not any(m.is_error() for m in matchers)
    return "ok", (compiled.grammars, compiled.warnings, compiled.exact)


LEAVES = st.sampled_from(
    [
        {"type": "string", "maxLength": 4},
        {"type": "integer", "minimum": 0},
        {"type": "string", "format": "date"},
        {"type": "string", "format": "no-such-format"},  # unknown format: strict refuses, lenient drops
        {"not": {"type": "string"}},  # rewritten exactly
        {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},  # not exact: refused / weakened
        {"oneOf": [{"type": "string"}, {"type": "integer"}]},  # disjoint: rewritten to anyOf
        {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 2}]},  # overlapping
        {"enum": ["a", "b"]},
    ]
)


@settings(max_examples=60, deadline=None)
@given(props=st.dictionaries(st.sampled_from(["a", "b", "c"]), LEAVES, min_size=1, max_size=3), lenient=st.booleans())
def test_deferred_compile_equals_eager_pipeline(props, lenient):
    node = {"kind": "json_schema", "schema": {"type": "object", "properties": props, "required": sorted(props)}}
    assert _deferred(node, lenient) == _eager(node, lenient)
    assert _deferred(node, lenient, byte_tokenizer()) == _eager(node, lenient)


def test_strict_refusal_still_names_the_json_pointer_when_building():
    node = {"kind": "json_schema", "schema": {"properties": {"x": {"type": "string", "format": "idn-hostname"}}}}
    with pytest.raises(ConstraintError) as info:
        compile_with_matchers(node, tokenizer=byte_tokenizer())
    assert info.value.diagnostics[0].pointer.startswith("/schema/properties/x")


def test_composite_with_a_deferred_schema_is_checked_as_a_whole():
    schema = {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}
    node = {
        "kind": "composite",
        "op": "choice",
        "parts": [{"kind": "json_schema", "schema": schema}, {"kind": "regex", "pattern": "x+"}],
    }
    with pytest.raises(ConstraintError) as info:
        ananke.compile(node)
    assert info.value.diagnostics[0].pointer.endswith("/uniqueItems")
    assert ananke.compile(node, lenient=True).exact is False


def test_ready_matchers_enforce_the_language():
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    tok = byte_tokenizer()
    compiled, (matcher,) = compile_with_matchers({"kind": "json_schema", "schema": schema}, tokenizer=tok)
    good = matcher.deep_copy()
    assert good.consume_tokens(list(b'{"n":12}')) and good.is_accepting()
    assert not matcher.deep_copy().consume_tokens(list(b'{"n":"x"}'))
    assert compile_with_matchers({"kind": "json_schema", "schema": schema}, build=False)[1] is None
    assert ananke.compile({"kind": "json_schema", "schema": schema}).fingerprint == compiled.fingerprint


def test_cache_keeps_the_matchers_its_compile_built():
    tok = byte_tokenizer()
    cache = ConstraintCache(maxsize=4)
    source = {"kind": "json_schema", "schema": {"type": "string", "maxLength": 3}}
    compiled, hit = cache.get_compiled(source, tokenizer=tok)
    assert not hit

    def must_not_build():
        raise AssertionError("the compile already built the matchers")

    matchers, mhit = cache.get_matchers(compiled, tok, must_not_build)
    assert mhit and len(matchers.templates) == 1
    (fork,) = matchers.fork()
    assert fork.consume_tokens(list(json.dumps("abc").encode())) and fork.is_accepting()


def test_cache_with_a_custom_compile_function_builds_matchers_itself():
    tok = byte_tokenizer()
    cache = ConstraintCache(maxsize=4, compile_fn=ananke.compile)
    compiled, _ = cache.get_compiled({"kind": "regex", "pattern": "a+"}, tokenizer=tok)
    built = []

    def factory():
        from ananke.runtime import build_matchers

        built.append(1)
        return build_matchers(compiled, tok)

    _, mhit = cache.get_matchers(compiled, tok, factory)
    assert not mhit and built == [1]
