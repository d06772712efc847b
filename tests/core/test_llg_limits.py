"""``DEFAULT_LIMITS`` are llguidance's own defaults, written out (the comment in core/_llg.py says so)."""

import llguidance

from ananke.core._llg import DEFAULT_LIMITS, make_limits


def test_default_limits_equal_llguidance_defaults():
    upstream = llguidance.LLParserLimits()
    assert {name: getattr(upstream, name) for name in DEFAULT_LIMITS} == DEFAULT_LIMITS
    assert make_limits(max_grammar_size=10).max_grammar_size == 10
