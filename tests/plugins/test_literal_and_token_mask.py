import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ananke
from ananke.errors import ConstraintError


@settings(max_examples=80, deadline=None)
@given(text=st.text(max_size=12), other=st.text(max_size=12))
def test_literal_accepts_exactly_its_text(text, other):
    compiled = ananke.compile({"kind": "literal", "text": text})
    assert ananke.matches(compiled, text)
    assert ananke.matches(compiled, other) == (other == text)
    assert compiled.verify(other).satisfied == (other == text)


def test_token_mask_is_a_static_set_checked_on_token_ids():
    compiled = ananke.compile({"kind": "token_mask", "allowed_tokens": [1, 2, 3], "forbidden_tokens": [3]})
    assert compiled.grammars == []
    assert compiled.token_mask.permits(1) and not compiled.token_mask.permits(3) and not compiled.token_mask.permits(9)
    assert compiled.verify("whatever", token_ids=[1, 2]).satisfied
    assert not compiled.verify("whatever", token_ids=[1, 3]).satisfied


@pytest.mark.parametrize(
    "node, words",
    [
        ({"kind": "token_mask"}, "allowed_tokens and/or forbidden_tokens"),
        ({"kind": "token_mask", "allowed_tokens": []}, "empty"),
        ({"kind": "token_mask", "forbidden_tokens": [-1]}, ">= 0"),
        ({"kind": "token_mask", "allowed_tokens": [1], "forbidden_tokens": [1]}, "also forbidden"),
        ({"kind": "token_mask", "allowed_tokens": ["a"]}, "integer"),
    ],
)
def test_token_mask_errors(node, words):
    with pytest.raises(ConstraintError, match=words):
        ananke.compile(node)


def test_all_of_intersects_token_sets():
    compiled = ananke.compile(
        {
            "kind": "composite",
            "op": "all_of",
            "parts": [
                {"kind": "token_mask", "allowed_tokens": [1, 2, 3]},
                {"kind": "token_mask", "allowed_tokens": [2, 3, 4], "forbidden_tokens": [3]},
            ],
        }
    )
    assert compiled.token_mask.allowed == [2, 3] and compiled.token_mask.forbidden == [3]
