"""The CLI contract, through the real console entry point in a subprocess."""

import json
import sys
import time
from pathlib import Path

import pytest

REGEX = {"kind": "regex", "pattern": "v[0-9]+"}


@pytest.fixture
def regex_file(tmp_path):
    path = tmp_path / "version.cir"
    path.write_text(json.dumps(REGEX))
    return path


def test_validate_exit_codes_and_json(ananke_cli, regex_file, tmp_path):
    ok = ananke_cli("validate", "--json", str(regex_file))
    assert ok.returncode == 0
    report = json.loads(ok.stdout)
    assert report["valid"] and report["kinds"] == ["regex"] and len(report["fingerprint"]) == 32
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "grammar", "lark": "start: a\\n"}')
    failed = ananke_cli("validate", "--json", str(bad))
    assert failed.returncode == 1
    error = json.loads(failed.stdout)["errors"][0]
    assert set(error) >= {"message", "pointer", "line", "column"} and error["pointer"] == "/lark"
    human = ananke_cli("validate", str(bad))
    assert human.returncode == 1 and "unknown name" in human.stderr and "^" in human.stderr
    assert ananke_cli("validate", str(tmp_path / "missing.json")).returncode == 2
    assert ananke_cli("validate", "--kind", "yaml", str(regex_file)).returncode == 2


def test_validate_reads_stdin_and_kind_flag(ananke_cli):
    assert ananke_cli("validate", "-", input=json.dumps(REGEX)).returncode == 0
    assert ananke_cli("validate", "--kind", "gbnf", "-", input='root ::= "a"+').returncode == 0


def test_match_exit_codes(ananke_cli, regex_file, tmp_path):
    assert ananke_cli("match", str(regex_file), "--text", "v12").returncode == 0
    assert ananke_cli("match", str(regex_file), "--text", "v1.2").returncode == 1
    text = tmp_path / "t.txt"
    text.write_text("v7")
    assert ananke_cli("match", str(regex_file), "--text-file", str(text)).returncode == 0
    invalid = tmp_path / "invalid.json"
    invalid.write_text('{"kind": "regex", "pattern": "(a"}')
    assert ananke_cli("match", str(invalid), "--text", "a").returncode == 3
    assert ananke_cli("match", str(regex_file)).returncode == 2


def test_match_batch(ananke_cli, tmp_path):
    cases = [
        {"id": i, "constraint": {"kind": "regex", "pattern": f"a{{{i}}}"}, "texts": ["a" * i, "a" * (i + 1)]}
        for i in range(1, 300)
    ]
    cases.append({"id": "bad", "constraint": {"kind": "nope"}, "texts": ["x"]})
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in cases) + "\nnot json\n")
    started = time.perf_counter()
    result = ananke_cli("match", "--batch", str(path))
    assert result.returncode == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(cases) + 1
    assert all(line["accepted"] == [True, False] for line in lines[:-2])
    assert lines[-2]["id"] == "bad" and not lines[-2]["valid"] and lines[-2]["errors"]
    assert not lines[-1]["valid"] and "line" in lines[-1]["errors"][0]["message"]
    assert time.perf_counter() - started < 60


def test_compile_prints_the_compiled_constraint(ananke_cli, regex_file):
    result = ananke_cli("compile", str(regex_file))
    data = json.loads(result.stdout)
    assert data["grammars"][0].startswith("start: RE_") and data["ir"]["constraint"] == REGEX


def test_schema_command_matches_the_committed_copy(ananke_cli):
    root = Path(__file__).resolve().parents[1]
    committed = json.loads((root / "docs" / "constraint-ir-v1.schema.json").read_text())
    assert json.loads(ananke_cli("schema").stdout) == committed


def test_ir_schema_describes_real_documents():
    import jsonschema

    from ananke.core._schema_doc import ir_json_schema

    schema = ir_json_schema()
    good = {
        "ir_version": "1",
        "constraint": {
            "kind": "composite",
            "op": "sequence",
            "parts": [{"kind": "literal", "text": "x"}, {"kind": "json_schema", "schema": {"type": "integer"}}],
        },
    }
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"constraint": {"kind": "regex"}}, schema)


def test_validate_does_not_import_heavy_modules():
    import subprocess

    code = (
        "import sys, ananke.cli; ananke.cli.main(['plugins']);"
        "print(sorted(m for m in ('torch', 'transformers', 'vllm', 'modal', 'fastapi', 'pydantic_settings') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
