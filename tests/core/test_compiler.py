"""The compiler: fingerprints, composition, limits, diagnostics, verification."""

import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ananke
from ananke.core._lark_text import defined_names, rename_names, tokenize_lark
from ananke.errors import ConstraintError, ConstraintLimitError, UnsupportedFeatureError

DIGITS = {"kind": "regex", "pattern": "[0-9]+"}
WORD = {"kind": "regex", "pattern": "[a-z]+"}


def lit(text):
    return {"kind": "literal", "text": text}


def test_fingerprint_is_stable_and_semantic():
    a = ananke.compile({"ir_version": "1", "name": "a", "constraint": DIGITS})
    b = ananke.compile({"ir_version": "1", "name": "b", "constraint": DIGITS, "metadata": {"k": 1}})
    assert a.fingerprint == b.fingerprint
    assert ananke.compile(DIGITS, lenient=True).fingerprint != a.fingerprint
    assert ananke.compile(WORD).fingerprint != a.fingerprint


def test_compiled_constraint_contract_fields():
    compiled = ananke.compile(
        {"kind": "composite", "op": "all_of", "parts": [DIGITS, {"kind": "token_mask", "forbidden_tokens": [3]}]}
    )
    data = compiled.to_json()
    assert set(data) >= {"fingerprint", "grammars", "token_mask", "warnings", "compile_ms", "kinds"}
    assert data["token_mask"] == {"allowed": None, "forbidden": [3]}
    assert compiled.grammars[0].startswith("start: ")


def test_all_of_of_grammars_stays_separate_and_regexes_fold():
    grammar = {"kind": "grammar", "lark": "start: /[a-z0-9]+/"}
    separate = ananke.compile({"kind": "composite", "op": "all_of", "parts": [grammar, DIGITS]})
    assert len(separate.grammars) == 2
    folded = ananke.compile({"kind": "composite", "op": "all_of", "parts": [WORD, {"kind": "regex", "pattern": "a.*"}]})
    assert len(folded.grammars) == 1 and " & " in folded.grammars[0]
    assert ananke.matches(folded, "abc") and not ananke.matches(folded, "bc")
    assert ananke.matches(separate, "123") and not ananke.matches(separate, "12a")


def test_grammars_with_the_same_rule_names_compose_without_collision():
    g1 = {"kind": "grammar", "lark": 'start: item\nitem: "a" | "b"'}
    g2 = {"kind": "grammar", "lark": 'start: item "!"\nitem: /[0-9]/'}
    compiled = ananke.compile({"kind": "composite", "op": "sequence", "parts": [g1, lit("-"), g2]})
    assert ananke.matches(compiled, "a-7!") and not ananke.matches(compiled, "7-a!")


def test_all_of_of_grammars_inside_a_sequence_is_refused_not_dropped():
    g = {"kind": "grammar", "lark": 'start: "x"'}
    with pytest.raises(UnsupportedFeatureError) as info:
        ananke.compile(
            {
                "kind": "composite",
                "op": "sequence",
                "parts": [lit("a"), {"kind": "composite", "op": "all_of", "parts": [g, DIGITS]}],
            }
        )
    assert info.value.diagnostics[0].pointer == "/parts/1"


def test_token_mask_inside_sequence_is_refused():
    with pytest.raises(UnsupportedFeatureError):
        ananke.compile(
            {"kind": "composite", "op": "sequence", "parts": [lit("a"), {"kind": "token_mask", "allowed_tokens": [1]}]}
        )


def test_token_ids_checked_against_a_tokenizer():
    from ananke.core._llg import byte_tokenizer

    with pytest.raises(ConstraintError, match="outside the tokenizer's vocabulary"):
        ananke.compile({"kind": "token_mask", "allowed_tokens": [5, 100000]}, tokenizer=byte_tokenizer())


def test_grammar_errors_carry_line_column_and_caret():
    with pytest.raises(ConstraintError) as info:
        ananke.compile({"kind": "grammar", "lark": 'start: a\na: "x"\n  | b\n'})
    diagnostic = info.value.diagnostics[0]
    assert diagnostic.pointer == "/lark"
    assert diagnostic.line in (2, 3) and diagnostic.column >= 1
    assert "unknown name" in diagnostic.message and diagnostic.snippet.rstrip().endswith("^")


def test_unknown_start_rule_lists_the_rules():
    with pytest.raises(ConstraintError) as info:
        ananke.compile({"kind": "grammar", "lark": 'start: a\na: "x"', "start": "b"})
    assert info.value.diagnostics[0].allowed == ("start", "a")


@pytest.mark.parametrize(
    "node",
    [
        {"kind": "regex", "pattern": "(a|aa)*" * 400},
        {"kind": "regex", "pattern": "[a-z]{1000}[0-9]{1000}(x{1,1000}){1000}"},
        {
            "kind": "grammar",
            "lark": "start: "
            + " ".join(f"r{i}" for i in range(3000))
            + "\n"
            + "\n".join(f'r{i}: "a" | "b"' for i in range(3000)),
        },
    ],
)
def test_pathological_input_is_refused_quickly(node):
    started = time.perf_counter()
    with contextlib.suppress(ConstraintError):
        ananke.compile(node)
    assert time.perf_counter() - started < 5  # generous: the point is that it never hangs


def test_oversized_constraint_is_a_limit_error():
    with pytest.raises(ConstraintLimitError):
        ananke.compile({"kind": "literal", "text": "x" * 3_000_000})


def test_deep_nesting_is_a_limit_error():
    node = lit("x")
    for _ in range(80):
        node = {"kind": "composite", "op": "choice", "parts": [node]}
    with pytest.raises(ConstraintLimitError):
        ananke.compile(node)


def test_validate_never_raises_for_bad_constraints():
    report = ananke.validate({"kind": "regex", "pattern": "(?<=x)y"})
    assert not report.valid and "lookahead/lookbehind" in report.errors[0]["message"]


@st.composite
def composites(draw, depth=2):
    leaves = st.sampled_from([lit("a"), lit("bb"), DIGITS, WORD, {"kind": "regex", "pattern": "x?"}])
    if depth == 0:
        return draw(leaves)
    op = draw(st.sampled_from(["sequence", "choice"]))
    parts = draw(st.lists(st.one_of(leaves, composites(depth=depth - 1)), min_size=1, max_size=3))
    return {"kind": "composite", "op": op, "parts": parts}


@settings(max_examples=60, deadline=None)
@given(node=composites(), text=st.text(alphabet="ab0x1z", max_size=8))
def test_engine_and_independent_verification_agree(node, text):
    compiled = ananke.compile(node)
    assert ananke.matches(compiled, text) == compiled.verify(text).satisfied


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(st.sampled_from(["a", "bb", "[0-9]+", "[a-z]+", "x?", "a.*"]), min_size=1, max_size=3),
    text=st.text(alphabet="ab0x1z", max_size=6),
)
def test_composite_semantics(parts, text):
    import re

    nodes = [{"kind": "regex", "pattern": p} for p in parts]
    sequence = ananke.matches({"kind": "composite", "op": "sequence", "parts": nodes}, text)
    choice = ananke.matches({"kind": "composite", "op": "choice", "parts": nodes}, text)
    all_of = ananke.matches({"kind": "composite", "op": "all_of", "parts": nodes}, text)
    assert sequence == bool(re.fullmatch("".join(f"(?:{p})" for p in parts), text))
    assert choice == any(re.fullmatch(p, text) for p in parts)
    assert all_of == all(re.fullmatch(p, text) for p in parts)


def test_lark_renaming_leaves_literals_alone():
    text = 'start: item "item" /item/ %json {"item": 1}\nitem: ITEM\nITEM: "x" // item\n'
    renamed = rename_names(text, {n: f"p_{n}" for n in defined_names(text)})
    assert renamed.startswith('p_start: p_item "item" /item/ %json {"item": 1}')
    assert 'p_ITEM: "x"' in renamed


def test_lark_tokenizer_leaves_non_ascii_letters_to_the_grammar_check():
    tokens = tokenize_lark("start: é _a")
    assert [(t.kind, t.text) for t in tokens if t.text.strip()] == [
        ("ident", "start"),
        ("other", ":"),
        ("other", "é"),
        ("ident", "_a"),
    ]
