"""The regex plugin agrees with Python's re.fullmatch, and refuses what it cannot enforce."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ananke
from ananke.errors import ConstraintError, UnsupportedFeatureError

ATOMS = ["a", "b", "[ab]", "[^a]", ".", "\\d", "[0-9]", "x", "\\.", "(?:ab)", "[a-c]"]
QUANTIFIERS = ["", "", "*", "+", "?", "{2}", "{1,3}", "*?"]


@st.composite
def patterns(draw, depth=1):
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        if depth and draw(st.booleans()):
            inner = draw(patterns(depth=depth - 1))
            alternative = draw(patterns(depth=depth - 1)) if draw(st.booleans()) else None
            atom = f"({inner}|{alternative})" if alternative else f"({inner})"
        else:
            atom = draw(st.sampled_from(ATOMS))
        pieces.append(atom + draw(st.sampled_from(QUANTIFIERS)))
    return "".join(pieces)


def regex(pattern):
    return ananke.compile({"kind": "regex", "pattern": pattern})


@settings(max_examples=150, deadline=None)
@given(pattern=patterns(), text=st.text(alphabet="ab.x0\n1c", max_size=8))
def test_agrees_with_python_on_arbitrary_text(pattern, text):
    assert ananke.matches(regex(pattern), text) == bool(re.fullmatch(pattern, text))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), pattern=patterns())
def test_accepts_strings_generated_from_the_pattern(data, pattern):
    text = data.draw(st.from_regex(re.compile(pattern), fullmatch=True).filter(lambda s: len(s) < 40))
    compiled = regex(pattern)
    assert ananke.matches(compiled, text)
    assert compiled.verify(text).satisfied


@pytest.mark.parametrize(
    "pattern, sample",
    [
        ("^abc$", "abc"),
        (r"\Aabc\Z", "abc"),
        ("(?i)abc", "ABC"),
        ("(?P<year>[0-9]{4})-[0-9]{2}", "2026-11"),
        ("a/b", "a/b"),
    ],
)
def test_outer_anchors_flags_and_named_groups(pattern, sample):
    assert ananke.matches(regex(pattern), sample)


@pytest.mark.parametrize(
    "pattern, words",
    [
        ("(?=a)a", "lookahead"),
        ("(?<!a)b", "lookbehind"),
        (r"(a)\1", "backreferences"),
        (r"(a)?(?(1)b|c)", "conditional"),
        (r"\bword", "word boundaries"),
        ("a^b", "anchors"),
        ("[[:alpha:]]", "POSIX"),
    ],
)
def test_unenforceable_constructs_are_refused_by_name(pattern, words):
    with pytest.raises(UnsupportedFeatureError) as info:
        regex(pattern)
    assert words in info.value.diagnostics[0].message
    assert info.value.diagnostics[0].pointer == "/pattern"


def test_syntax_error_points_at_the_column():
    with pytest.raises(ConstraintError) as info:
        regex("ab(c")
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.column == 3 and "missing )" in diagnostic.message
