"""prepare_schema / verify_instance behaviour: strictness, pointers, lenient warnings, references."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ananke.plugins._schema import PreparedSchema, SchemaUnsupported, prepare_schema, verify_instance
from ananke.plugins._schema._check import engine_error

ROOT = Path(__file__).resolve().parents[3]


def test_supported_schema_passes_through_and_compiles():
    p = prepare_schema({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]})
    assert isinstance(p, PreparedSchema) and p.exact and p.warnings == []
    assert engine_error(p.schema) is None


def test_strict_error_names_pointer_and_keyword():
    schema = {"type": "object", "properties": {"a": {"type": "string", "not": {"pattern": "^x.*y"}}}}
    with pytest.raises(SchemaUnsupported) as info:
        prepare_schema(schema)
    assert info.value.pointer == "/properties/a/not" and info.value.keyword == "not"


def test_unenforceable_standard_format_is_an_error_in_strict_mode_and_a_warning_in_lenient():
    schema = {"type": "object", "properties": {"c": {"type": "string", "format": "idn-hostname"}}}
    with pytest.raises(SchemaUnsupported) as info:
        prepare_schema(schema)
    assert info.value.pointer == "/properties/c/format"
    lenient = prepare_schema(schema, strict=False)
    assert not lenient.exact and any("/properties/c/format" in w for w in lenient.warnings)
    assert engine_error(lenient.schema) is None


def test_format_on_non_strings_is_vacuous():
    # `not` forces the rewriting path (a schema llguidance compiles as-is is passed through)
    p = prepare_schema({"type": "integer", "format": "int32", "not": {"const": 3}})
    assert p.exact and "format" not in p.schema


def test_lenient_never_weakens_inside_not():
    p = prepare_schema({"type": "string", "not": {"format": "regex"}}, strict=False)
    assert not p.exact
    assert p.schema != False  # noqa: E712 - dropping inside `not` would have made it unsatisfiable


def test_definitions_id_and_relative_refs_are_bundled():
    schema = {
        "$id": "http://example.com/root.json",
        "type": "object",
        "properties": {"x": {"$ref": "item.json"}, "y": {"$ref": "#/definitions/pos"}},
        "definitions": {
            "item": {"$id": "item.json", "type": "string", "minLength": 2},
            "pos": {"type": "integer", "minimum": 1, "not": {"const": 3}},
        },
    }
    p = prepare_schema(schema)
    assert engine_error(p.schema) is None
    assert "definitions" not in json.dumps(p.schema)


def test_remote_refs_resolve_from_given_documents_only():
    schema = {"$ref": "http://localhost:1234/integer.json"}
    with pytest.raises(SchemaUnsupported) as info:
        prepare_schema(schema)
    assert info.value.keyword == "$ref"
    p = prepare_schema(schema, remotes={"http://localhost:1234/integer.json": {"type": "integer"}})
    assert engine_error(p.schema) is None


def test_verify_instance_checks_enforced_formats_and_legacy_drafts():
    assert verify_instance({"type": "string", "format": "json-pointer"}, "/a/b") == []
    assert verify_instance({"type": "string", "format": "json-pointer"}, "a/b")
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 2, "exclusiveMinimum": True}
    assert verify_instance(draft4, 2) and verify_instance(draft4, 3) == []
    assert verify_instance({"items": [{"type": "integer"}]}, ["x"])  # legacy form without $schema


def test_boolean_schemas():
    assert prepare_schema(True).schema is True
    assert prepare_schema(False).schema is False


def test_conformance_script_runs_on_a_tiny_corpus(tmp_path):
    mb = tmp_path / "dev"
    mb.mkdir()
    case = {
        "description": "t",
        "meta": {},
        "schema": {"type": "object", "properties": {"k": {"type": "number", "not": {"const": 1.5}}}, "required": ["k"]},
        "tests": [
            {"description": "ok", "valid": True, "data": {"k": 1}},
            {"description": "bad", "valid": False, "data": {"k": 1.5}},
        ],
    }
    (mb / "Tiny---one.json").write_text(json.dumps(case))
    out = tmp_path / "report.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "conformance.py"),
            "--maskbench",
            str(mb),
            "--out",
            str(out),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = out.read_text()
    assert "| Tiny | 1 | 0 (0.0%)" in report and "1 (100.0%) | 1/1 (100.0%) | 1 (100.0%) | 0/1 |" in report


def test_legacy_ref_siblings_detection():
    from ananke.plugins._schema._refs import legacy_ref_siblings

    d7 = "http://json-schema.org/draft-07/schema#"
    nested = {
        "$schema": d7,
        "properties": {"a": {"items": {"$ref": "#/definitions/x", "enum": ["k"]}}},
        "definitions": {"x": {"type": "string"}},
    }
    assert legacy_ref_siblings(nested)
    assert not legacy_ref_siblings({**nested, "$schema": "https://json-schema.org/draft/2020-12/schema"})
    assert not legacy_ref_siblings({"properties": {"a": {"$ref": "#/$defs/x", "enum": ["k"]}}})  # 2020-12 default
    assert not legacy_ref_siblings(
        {"$schema": d7, "properties": {"a": {"$ref": "#/definitions/x", "title": "t", "description": "d"}}}
    )


def test_draft7_ref_siblings_do_not_constrain():
    # the sibling ``enum`` is ignored under draft-07 (an object is a valid `secret`); llguidance alone would
    # have intersected it and rejected the object
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"property": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
        "type": "object",
        "properties": {"secret": {"$ref": "#/definitions/property", "enum": ["key"]}},
    }
    import ananke

    node = {"kind": "json_schema", "schema": schema}
    assert ananke.matches(node, '{"secret":{"key":"v"}}') and ananke.matches(node, '{"secret":"other"}')
    assert not ananke.matches(node, '{"secret":3}')
    assert verify_instance(schema, {"secret": {"key": "v"}}) == []


def test_conformance_only_selects_cases(tmp_path):
    mb = tmp_path / "dev"
    mb.mkdir()
    for name, const in (("Tiny---a.json", 1), ("Tiny---b.json", 2)):
        case = {"schema": {"const": const}, "tests": [{"valid": True, "data": const}, {"valid": False, "data": 0}]}
        (mb / name).write_text(json.dumps(case))
    out, rows = tmp_path / "report.md", tmp_path / "rows.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "conformance.py"),
            "--maskbench",
            str(mb),
            "--only",
            "maskbench:*---b.json",
            "--out",
            str(out),
            "--json",
            str(rows),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in rows.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["maskbench:Tiny---b.json"]
    assert lines[0]["ours"]["valid_rejected"] == [] and lines[0]["ours"]["invalid_accepted"] == []


def test_valid_rejections_names_the_cause(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("valid_rejections", ROOT / "benchmarks" / "valid_rejections.py")
    vr = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vr)
    # `not` sends both schemas down the rewriting passes, which keep the declared order a, b
    obj = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "not": {"required": ["c"]},
    }
    assert vr.cause(obj, prepare_schema(obj).schema, {"b": 1, "a": 2}, 1000) == "key order (instance)"
    num = {"type": "integer", "not": {"const": 3}}
    assert vr.cause(num, prepare_schema(num).schema, 2.0, 1000) == "number spelling"
    assert vr.weakened({"not": {"const": 1}, "properties": {"not": {"format": "x"}}}) == {"properties": {"not": {}}}
