"""AnankeLogitsProcessor inside a plain ``model.generate`` on the embedded model (real llguidance masks)."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

import ananke

pytestmark = pytest.mark.model

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}
YEAR = {"kind": "regex", "pattern": "(19|20)[0-9]{2}"}


def chat(tok, prompt: str) -> str:
    return tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)


def generate(engine, prompts: list[str], proc, max_new_tokens: int = 48) -> list[str]:
    from transformers import LogitsProcessorList

    model, tok = engine.loaded.model, engine.loaded.tokenizer
    inputs = tok([chat(tok, p) for p in prompts], return_tensors="pt", padding=True, padding_side="left")
    out = model.generate(
        **inputs,
        logits_processor=LogitsProcessorList([proc]),
        do_sample=False,
        max_new_tokens=max_new_tokens,
        pad_token_id=tok.pad_token_id or tok.eos_token_id,
    )
    new = out[:, inputs["input_ids"].shape[1] :]
    return tok.batch_decode(new, skip_special_tokens=True)


def processor(engine, constraint, **kw):
    from ananke.integrations.transformers import AnankeLogitsProcessor

    return AnankeLogitsProcessor(
        constraint, engine.loaded.tokenizer, model=engine.loaded.model, cache=engine.cache, **kw
    )


def test_json_schema(engine) -> None:
    proc = processor(engine, {"kind": "json_schema", "schema": PERSON})
    [text] = generate(engine, ["Describe a person as JSON with a name and an age."], proc)
    jsonschema.validate(json.loads(text), PERSON)
    assert proc.compiled.verify(text).satisfied
    assert proc.prompt_length and proc.rows[0].state.accepting()  # generation ended where the grammar may end


def test_regex(engine) -> None:
    proc = processor(engine, YEAR)
    [text] = generate(engine, ["In which year did the Berlin wall fall?"], proc, max_new_tokens=8)
    assert re.fullmatch(r"(19|20)[0-9]{2}", text), text
    assert ananke.matches(YEAR, text)


def test_batch_of_two_prompts_each_row_constrained(engine) -> None:
    proc = processor(engine, YEAR)
    texts = generate(
        engine,
        [
            "In which year did the Berlin wall fall?",
            "Write a year of the twenty-first century, please, and nothing else.",
        ],
        proc,
        8,
    )
    assert len(texts) == 2 and len(proc.rows) == 2
    for text in texts:
        assert ananke.matches(YEAR, text), texts


def test_one_processor_serves_two_generations(engine) -> None:
    proc = processor(engine, YEAR)
    first = generate(engine, ["In which year did the Berlin wall fall?"], proc, 8)
    second = generate(engine, ["Name a year of the French revolution.", "Name any year."], proc, 8)
    assert [ananke.matches(YEAR, t) for t in first + second] == [True, True, True]


def test_all_of_grammars_and_static_set_are_and_ed(engine) -> None:
    tok = engine.loaded.tokenizer
    with_one = [i for i in range(len(tok)) if "1" in tok.decode([i])]  # leaves 20xx: no dead end
    constraint = {
        "kind": "composite",
        "op": "all_of",
        "parts": [
            YEAR,
            {"kind": "regex", "pattern": "[0-9]*[02468]"},
            {"kind": "token_mask", "forbidden_tokens": with_one},
        ],
    }
    proc = processor(engine, constraint)
    assert proc.compiled.token_mask is not None
    [text] = generate(engine, ["In which year did the Berlin wall fall?"], proc, 8)
    assert re.fullmatch(r"20[02-9][02468]", text), text
    assert proc.compiled.verify(text).satisfied


def test_shares_the_engine_cache(engine) -> None:
    constraint = {"kind": "regex", "pattern": "[a-z]{3}-[0-9]{3}"}
    first = processor(engine, constraint)
    second = processor(engine, constraint)
    assert not first.cache_hit and second.cache_hit
    assert first.llg_tokenizer is engine.llg_tokenizer()  # same LLTokenizer as the built-in engine
    before = engine.cache.matchers.stats().hits
    processor(engine, constraint)
    assert engine.cache.matchers.stats().hits == before + 1


def test_import_ananke_does_not_load_transformers() -> None:
    import subprocess
    import sys

    code = "import sys, ananke, ananke.integrations; print('transformers' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_example_script() -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(ananke.__file__).resolve().parents[1]  # the ananke under test, not an installed copy
    script = Path(__file__).resolve().parents[2] / "examples" / "transformers_logits_processor.py"
    out = subprocess.run(
        [sys.executable, str(script), "--max-new-tokens", "48"],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert out.returncode == 0, out.stdout + out.stderr
    replies = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert len(replies) == 2 and all(r["satisfied"] for r in replies), replies
    assert all(18 <= json.loads(r["text"])["age"] <= 99 for r in replies)
