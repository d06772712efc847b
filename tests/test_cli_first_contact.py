"""First contact through the real CLI (issue #18): a plain JSON Schema file just works, bad schemas are
called bad, and ``generate`` reports unsatisfied output in its exit code."""

from __future__ import annotations

import json

import pytest

KEY = "ananke-test-key"
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


@pytest.fixture(scope="module")
def live():
    from ananke.server._live import shared_embedded_server

    return shared_embedded_server(api_key=KEY)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_validate_plain_schema_without_kind(ananke_cli, tmp_path):
    out = ananke_cli("validate", write(tmp_path, "person.schema.json", PERSON))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("valid (json_schema;")


def test_match_plain_schema_without_kind(ananke_cli, tmp_path):
    path = write(tmp_path, "person.schema.json", PERSON)
    assert ananke_cli("match", path, "--text", '{"name":"Ada","age":36}').returncode == 0
    assert ananke_cli("match", path, "--text", '{"name":"Ada"}').returncode == 1


def test_invalid_schema_is_called_invalid(ananke_cli, tmp_path):
    path = write(tmp_path, "bad.schema.json", {"type": "object", "properties": {"a": {"type": "strin"}}})
    out = ananke_cli("validate", path)
    assert out.returncode == 1
    assert (
        "error: /properties/a/type: invalid JSON Schema (draft 2020-12): 'strin' is not one of 'array', 'boolean'"
    ) in out.stderr
    assert "allowed: array, boolean, integer, null, number, object, string" in out.stderr
    assert "llguidance" not in out.stderr and "cannot" not in out.stderr
    report = json.loads(ananke_cli("validate", path, "--json").stdout)
    assert report["errors"][0]["pointer"] == "/properties/a/type"


def test_ambiguous_document_names_kind(ananke_cli, tmp_path):
    out = ananke_cli("validate", write(tmp_path, "odd.json", {"type": "string", "grammar": 'start: "a"'}))
    assert out.returncode == 1 and "ambiguous" in out.stderr and "--kind" in out.stderr


def test_validate_braid_and_maze_documents(ananke_cli, tmp_path):
    braid = {
        "json_schema": {"type": "boolean"},
        "grammar": None,
        "regex_patterns": [],
        "token_masks": {},
        "priority": 1,
        "feasibility_score": 0.9,
        "is_feasible": True,
        "rich_context": None,
    }
    assert ananke_cli("validate", write(tmp_path, "braid.json", braid)).returncode == 0
    export = {"type": "guidance", "version": "1.0", "patterns": ["[a-z]+"], "priority": 1}
    assert ananke_cli("match", write(tmp_path, "export.json", export), "--text", "abc").returncode == 0


@pytest.mark.model
def test_generate_cut_off_by_max_tokens_exits_4(ananke_cli, live, tmp_path):
    path = write(tmp_path, "person.schema.json", PERSON)
    out = ananke_cli(
        "generate",
        "A person as JSON.",
        "--constraint",
        path,
        "--url",
        live.url,
        "--max-tokens",
        "3",
        "--temperature",
        "0",
        env={"ANANKE_API_KEY": KEY},
    )
    assert out.returncode == 4, out.stderr
    assert "does not satisfy the constraint" in out.stderr and "cut off by --max-tokens 3" in out.stderr
    assert out.stdout.strip()  # the partial output is still printed


@pytest.mark.model
def test_generate_satisfied_exits_0(ananke_cli, live, tmp_path):
    path = write(tmp_path, "answer.schema.json", {"type": "boolean"})
    out = ananke_cli(
        "generate",
        "True or false?",
        "--constraint",
        path,
        "--url",
        live.url,
        "--max-tokens",
        "4",
        "--temperature",
        "0",
        "--json",
        env={"ANANKE_API_KEY": KEY},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["generated_text"] in ("true", "false")
