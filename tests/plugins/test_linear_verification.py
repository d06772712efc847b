"""Verification of untrusted text never backtracks: ``(a+)+b`` against a long run of ``a``."""

from __future__ import annotations

import time

import pytest

import ananke
from ananke.core._linear_re import bounded_search, re2_compile
from ananke.plugins._schema import verify_instance
from ananke.plugins.regex import fullmatch_linear

RUN = "a" * 200_000


@pytest.mark.parametrize(
    "pattern,text,expected",
    [
        ("(a+)+b", RUN, False),
        ("(a+)+b", "a" * 5000 + "b", True),
        (r"\d{3}", "١٢٣", True),  # Python's Unicode digits: not RE2's ASCII \d (llguidance path)
        (r"\d{3}", "12x", False),
        (r"\u00e9t\u00e9", "été", True),  # \u escapes: RE2 refuses them (llguidance path)
        ("(?i)abc", "ABC", True),
        ("^ab$", "ab", True),
        ("ab", "abc", False),
    ],
)
def test_fullmatch_linear(pattern, text, expected):
    started = time.perf_counter()
    assert fullmatch_linear(pattern, text) is expected
    assert time.perf_counter() - started < 2.0


def test_regex_verification_rejects_a_cut_off_run_quickly():
    compiled = ananke.compile({"kind": "regex", "pattern": "(a+)+b"})
    started = time.perf_counter()
    result = compiled.verify(RUN)
    assert time.perf_counter() - started < 2.0
    assert not result.satisfied and "does not fully match" in result.errors[0]
    assert compiled.verify("aab").satisfied


def test_schema_patterns_are_matched_in_bounded_time():
    schema = {
        "type": "object",
        "properties": {"s": {"type": "string", "pattern": "^(a+)+b$"}},
        "patternProperties": {"^(a+)+b$": {"type": "integer"}},
        "additionalProperties": False,
    }
    started = time.perf_counter()
    errors = verify_instance(schema, {"s": RUN})
    errors_keys = verify_instance(schema, {RUN: 1})
    assert time.perf_counter() - started < 3.0
    assert any("does not match" in e for e in errors)
    assert any("Additional properties" in e for e in errors_keys)
    assert verify_instance(schema, {"s": "aab", "aab": 3}) == []
    assert verify_instance(schema, {"aab": "x"})  # patternProperties still apply


def test_re2_is_used_only_where_it_reads_like_python():
    assert re2_compile("(a+)+b") is not None
    assert re2_compile(r"\d+") is None and re2_compile("a{,3}") is None and re2_compile(r"\u00e9") is None
    assert bounded_search("b", "aaab") is True and bounded_search("^b", "ab") is False


def test_each_draft_keeps_its_own_semantics_when_verifiers_are_reused():
    """The bounded-regex validator class and format checker are built once per draft: verifying
    under one draft never leaks into another, however the calls interleave."""
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 5, "exclusiveMaximum": True}
    draft2020 = {"exclusiveMaximum": 5, "format": "email", "pattern": "^[0-9]+$"}
    for _ in range(2):
        assert verify_instance(draft4, 5) and not verify_instance(draft4, 4)
        assert verify_instance(draft2020, 5) and not verify_instance(draft2020, 4)
        assert verify_instance({"type": "string", "format": "email", "pattern": "^a"}, "abc")  # no @: format fails
        assert not verify_instance({"type": "string", "format": "email", "pattern": "^a"}, "a@b.co")
