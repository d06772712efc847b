"""Unknown formats as annotations, OpenAPI formats enforced, and JSON string escapes in matching."""

from __future__ import annotations

import base64
import json
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ananke
from ananke.plugins._schema import prepare_schema
from ananke.plugins._schema._escapes import unescape_strings
from ananke.plugins._schema._formats import FORMATS_NATIVE, INT_RANGES, OPENAPI_REGEXES, STANDARD_FORMATS


def _compile(schema):
    return ananke.compile({"kind": "json_schema", "schema": schema})


BYTE = _compile({"type": "string", "format": "byte"})
INT32 = _compile({"type": "integer", "format": "int32"})
UINT8_NUMBER = _compile({"type": "number", "format": "uint8", "maximum": 100})


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=40))
def test_byte_accepts_base64(data):
    assert ananke.matches(BYTE, json.dumps(base64.b64encode(data).decode()))


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ABCab09+/=-_ ", max_size=12))
def test_byte_accepts_only_what_a_base64_decoder_accepts(text):
    accepted = ananke.matches(BYTE, json.dumps(text))
    try:
        decoded = base64.b64decode(text, validate=True)
        valid = len(text) % 4 == 0
    except ValueError:
        decoded, valid = None, False
    if accepted:
        assert valid
    if valid and base64.b64encode(decoded).decode() == text:  # canonical spelling
        assert accepted


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-(2**40), max_value=2**40) | st.sampled_from([2**31, 2**31 - 1, -(2**31), -(2**31) - 1]))
def test_int32_is_the_32_bit_range(value):
    assert ananke.matches(INT32, str(value)) == (-(2**31) <= value < 2**31)


@pytest.mark.parametrize("text,ok", [("0", True), ("100", True), ("100.5", False), ("101", False), ("-1", False)])
def test_unsigned_range_meets_the_schemas_own_bounds(text, ok):
    assert ananke.matches(UINT8_NUMBER, text) == ok


def test_openapi_formats_stay_annotations_where_the_schema_negates():
    # `not {format: byte}` asserts nothing under JSON Schema (so rejects every string); enforcing
    # base64 inside the `not` would accept non-base64 strings.
    schema = {"anyOf": [{"type": "integer"}, {"type": "string", "not": {"format": "byte"}}]}
    prepared = prepare_schema(schema)
    assert prepared.exact and "format 'byte'" in " ".join(prepared.warnings)
    compiled = _compile(schema)
    assert ananke.matches(compiled, "3") and not ananke.matches(compiled, '"***"')


_KNOWN = STANDARD_FORMATS | FORMATS_NATIVE | set(OPENAPI_REGEXES) | set(INT_RANGES)


@settings(max_examples=25, deadline=None)
@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
    st.text(st.characters(min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=("Cs",)), max_size=8),
)
def test_unknown_format_compiles_with_a_warning_naming_it(fmt, value):
    assume(fmt not in _KNOWN)
    compiled = _compile({"type": "object", "properties": {"v": {"type": "string", "format": fmt}}})
    assert compiled.exact
    assert any(f"'{fmt}'" in w and "/properties/v/format" in w for w in compiled.warnings)
    assert ananke.matches(compiled, json.dumps({"v": value}, ensure_ascii=False, separators=(",", ":")))


def test_unenforceable_standard_format_is_still_refused():
    with pytest.raises(ananke.ConstraintError):
        _compile({"type": "string", "format": "regex"})


# -- escapes -------------------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_unescaping_keeps_the_value(value):
    text = json.dumps(value, separators=(",", ":"))
    out = unescape_strings(text)
    assert json.loads(out if out is not None else text) == value
    if out is not None:
        assert not re.search(r"(?<!\\)(?:\\\\)*\\u(?!00[01][0-9a-fA-F]|0022|005[cC]|007f|[dD][89a-fA-F])", out)


STRING_MAP = _compile(
    {"type": "object", "additionalProperties": {"type": "string", "maxLength": 4}, "propertyNames": {"maxLength": 3}}
)
PATTERNED = _compile({"type": "array", "items": {"type": "string", "pattern": "^[a-zé😀]*$"}})


@settings(max_examples=120, deadline=None)
@given(st.dictionaries(st.text(max_size=5), st.text(max_size=6), max_size=3))
def test_json_dumps_ascii_output_is_matched_like_the_raw_document(value):
    valid = all(len(k) <= 3 for k in value) and all(len(v) <= 4 for v in value.values())
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    escaped = json.dumps(value, separators=(",", ":"))
    assume(not any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in raw))
    assert ananke.matches(STRING_MAP, escaped) == ananke.matches(STRING_MAP, raw) == valid


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet="abzéE😀/", max_size=4), max_size=3))
def test_escaped_strings_meet_patterns(items):
    valid = all(re.fullmatch("[a-zé😀]*", s) for s in items)
    assert ananke.matches(PATTERNED, json.dumps(items, separators=(",", ":"))) == bool(valid)


def test_escapes_that_must_stay_escaped():
    quote = _compile({"enum": ['a"b', "a\\b", "\n"]})
    assert ananke.matches(quote, '"a\\u0022b"') and ananke.matches(quote, '"a\\u005cb"')
    assert ananke.matches(quote, '"\\u000a"') or ananke.matches(quote, '"\\n"')
    assert not ananke.matches(_compile({"type": "string"}), '"\\ud83d"')  # a lone surrogate
    assert ananke.matches(_compile({"type": "string"}), '"\\u007f"')  # DEL stays escaped


def test_int64_is_an_annotation_the_engine_can_compile():
    compiled = _compile({"type": "object", "properties": {"n": {"type": "integer", "format": "int64"}}})
    assert compiled.exact and any("'int64'" in w for w in compiled.warnings)
    assert ananke.matches(compiled, '{"n":-9223372036854775808}')
