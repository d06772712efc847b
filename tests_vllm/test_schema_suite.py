"""Every JSON-Schema-Test-Suite schema that Ananke compiles is accepted by vLLM's guidance path,
and vLLM's tokenized matcher agrees with Ananke's byte-level matcher on the suite's instances.

Reads the suite from ``$ANANKE_SCHEMA_SUITE`` or ``../shared/data/json-schema-test-suite``
(beside the repository, where CI puts shared/); skipped when neither exists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import ananke
from ananke.runtime._engine import GenerationParams
from ananke.runtime.engines._vllm import build_sampling_params

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("ANANKE_SCHEMA_SUITE") or ROOT.parent / "shared" / "data" / "json-schema-test-suite")
DRAFT = SUITE / "tests" / "draft2020-12"
# Files whose schemas need remote refs or exercise meta-schema machinery only.
_SKIP_FILES = {"refRemote.json", "vocabulary.json", "dynamicRef.json", "anchor.json", "defs.json"}


def _groups() -> list[tuple[str, dict[str, Any]]]:
    if not DRAFT.is_dir():
        return []
    out = []
    for path in sorted(DRAFT.glob("*.json")):
        if path.name in _SKIP_FILES:
            continue
        for index, group in enumerate(json.loads(path.read_text())):
            out.append((f"{path.stem}#{index}", group))
    return out


GROUPS = _groups()


@pytest.fixture(scope="module")
def compiled_groups(llg_tok: Any) -> list[tuple[str, dict[str, Any], Any]]:
    if not GROUPS:
        pytest.skip(f"JSON-Schema-Test-Suite not found at {SUITE}")
    out = []
    for name, group in GROUPS:
        try:
            compiled = ananke.compile({"kind": "json_schema", "schema": group["schema"]}, tokenizer=llg_tok)
        except ananke.ConstraintError:
            continue  # refused up front (unsupported keyword in strict mode): nothing reaches vLLM
        out.append((name, group, compiled))
    assert len(out) >= len(GROUPS) // 2, "the compiler should accept most of the suite's schemas"
    return out


def test_suite_schemas_pass_vllm_validation(
    compiled_groups: list, tokenizer: Any, model_config: Any, so_config: Any, vocab_size: int
) -> None:
    failures = []
    for name, _, compiled in compiled_groups:
        assert len(compiled.grammars) == 1, name
        sp = build_sampling_params(compiled, GenerationParams(max_tokens=8), vocab_size=vocab_size)
        try:
            sp.verify(model_config, None, so_config, tokenizer)
        except Exception as exc:  # collected and reported together
            failures.append(f"{name}: {exc}")
    assert not failures, "\n".join(failures[:20])


def test_vllm_matcher_agrees_with_ananke_on_suite_instances(
    compiled_groups: list, backend: Any, tokenizer: Any
) -> None:
    from vllm.v1.structured_output.backend_types import StructuredOutputOptions

    disagreements = []
    checked = 0
    for name, group, compiled in compiled_groups:
        for test in group["tests"]:
            text = json.dumps(test["data"], separators=(",", ":"), ensure_ascii=False)
            ids = list(tokenizer.encode(text, add_special_tokens=False))
            grammar = backend.compile_grammar(StructuredOutputOptions.GRAMMAR, compiled.grammars[0])
            theirs = grammar.accept_tokens("suite", ids) and grammar.ll_matcher.is_accepting()
            ours = ananke.matches({"kind": "json_schema", "schema": group["schema"]}, text)
            checked += 1
            if theirs != ours:
                disagreements.append(f"{name} {test['description']!r}: vLLM {theirs}, Ananke {ours}")
    assert checked > 100
    assert not disagreements, "\n".join(disagreements[:20])
