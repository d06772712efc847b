"""The runtime's LLTokenizer: identifier slices change how masks are computed, never what they are."""

from __future__ import annotations

import json

import llguidance
import llguidance.hf
import pytest

from ananke.grammars import grammar_text
from ananke.runtime import llg_tokenizer_for
from ananke.runtime._tokenizer import token_slices

PYTHON = '''def area(width: float, height: float = 1.0) -> float:
    """Area of a rectangle."""  # a comment with identifiers_like_this
    total = width * height
    return round(total, 2) if total > 0 else 0.0
'''
RECORD = {"name": "ada_lovelace", "tags": ["math", "engines"], "born": 1815, "note": "wrote the first program"}
RECORD_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z_]+$"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "born": {"type": "integer"},
        "note": {"type": "string", "maxLength": 40},
    },
}


def test_identifier_slices_come_first() -> None:
    slices = token_slices()
    assert slices[:2] == [r"[A-Za-z0-9_]{1,30}", r" [A-Za-z_][A-Za-z0-9_]{0,29}"]
    assert slices[2:] == list(llguidance.LLTokenizer.general_slices())


@pytest.mark.parametrize(
    ("grammar", "text"),
    [
        (llguidance.grammar_from("lark", grammar_text("python")), PYTHON),
        (llguidance.grammar_from("json_schema", json.dumps(RECORD_SCHEMA)), json.dumps(RECORD, indent=1)),
    ],
    ids=["python", "json_schema"],
)
def test_sliced_masks_equal_llguidance_default_masks(engine, grammar, text) -> None:
    hf = engine.loaded.tokenizer
    ours = llguidance.LLMatcher(llg_tokenizer_for(hf, eos_ids=engine.eos_ids), grammar, log_level=0)
    plain = llguidance.LLMatcher(llguidance.hf.from_tokenizer(hf, eos_token=engine.eos_ids), grammar, log_level=0)
    ids = hf.encode(text, add_special_tokens=False)
    for step, tok in enumerate(ids):
        assert ours.compute_bitmask() == plain.compute_bitmask(), f"masks differ before token {step}"
        assert ours.consume_token(tok) and plain.consume_token(tok), (step, ours.get_error())
    assert ours.compute_bitmask() == plain.compute_bitmask()
    assert ours.is_accepting() and plain.is_accepting()
