"""Seed, Maze and compile-only routes on a real server with the embedded model."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

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
SEED_KEYS = {
    "generated_text",
    "tokens_generated",
    "generation_time_ms",
    "constraint_satisfied",
    "model_name",
    "finish_reason",
    "metadata",
}


def test_health_shape(http):
    r = http.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy" and body["service"] == "ananke-inference"
    assert {"version", "model", "engine"} <= set(body)
    assert body["model"] == "SmolLM2-135M-Instruct"


def test_health_is_public_and_echoes_request_id(live):
    import httpx

    r = httpx.get(live.url + "/health", headers={"X-Request-ID": "trace-123"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-123"


def test_seed_generate_api_json_schema(http):
    r = http.post(
        "/generate_api",
        json={
            "prompt": "Give a person as JSON.",
            "max_tokens": 48,
            "temperature": 0,
            "constraints": {"json_schema": PERSON},
        },
        headers={"X-Request-ID": "seed-1"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == SEED_KEYS
    assert isinstance(body["generation_time_ms"], int)  # the seed sent an integer
    meta = body["metadata"]
    assert meta["request_id"] == "seed-1" and meta["prompt_tokens"] > 0 and "tokens_per_sec" in meta
    assert meta["constraint_kinds"] == ["json_schema"] and meta["fingerprint"]
    if body["finish_reason"] == "stop":
        jsonschema.validate(json.loads(body["generated_text"]), PERSON)
        assert body["constraint_satisfied"] is True
    else:
        assert body["constraint_satisfied"] is False


def test_seed_accepts_ir_and_braid(http):
    ir = {"ir_version": "1", "constraint": {"kind": "regex", "pattern": "(yes|no)"}}
    r = http.post("/generate_api", json={"prompt": "Yes or no?", "max_tokens": 4, "constraint": ir})
    assert r.status_code == 200 and r.json()["generated_text"] in ("yes", "no")
    braid = {
        "json_schema": None,
        "grammar": None,
        "regex_patterns": [{"pattern": "[0-9]{2}", "flags": ""}],
        "token_masks": None,
        "priority": 1,
    }
    r = http.post("/generate_api", json={"prompt": "A number:", "max_tokens": 4, "constraint_ir": braid})
    assert r.status_code == 200 and re.fullmatch("[0-9]{2}", r.json()["generated_text"])
    assert r.json()["constraint_satisfied"] is True


def test_seed_cache_hit_on_repeat(http):
    body = {"prompt": "Pick.", "max_tokens": 3, "constraints": {"regex_patterns": ["(left|right)"]}}
    first = http.post("/generate_api", json=body).json()
    second = http.post("/generate_api", json=body).json()
    assert second["metadata"]["cache_hit"] is True
    assert first["metadata"]["fingerprint"] == second["metadata"]["fingerprint"]


def test_maze_generate_shape(http):
    r = http.post(
        "/generate",
        json={
            "prompt": "Yes or no?",
            "constraints": {"type": "regex", "patterns": ["(yes|no)"]},
            "max_tokens": 4,
            "temperature": 0.7,
            "model": "meta-llama/Llama-3.1-8B-Instruct",
            "context": {"file": "a.rs"},
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["generated_text"] in ("yes", "no") and body["tokens_generated"] >= 1
    assert body["model"] == "SmolLM2-135M-Instruct"
    stats = body["stats"]
    assert set(stats) == {"total_time_ms", "time_per_token_us", "constraint_checks", "avg_constraint_check_us"}
    assert all(isinstance(v, int) and v >= 0 for v in stats.values())  # Maze's Rust client reads u64
    assert stats["constraint_checks"] == body["tokens_generated"]


def test_maze_empty_constraints_is_unconstrained(http):
    r = http.post("/generate", json={"prompt": "Hi", "constraints": {}, "max_tokens": 3, "temperature": 0})
    assert r.status_code == 200 and r.json()["stats"]["constraint_checks"] == 0


def test_maze_models(http):
    assert http.get("/models").json() == ["SmolLM2-135M-Instruct"]


def _sse(lines):
    events = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_maze_stream(http):
    body = {"prompt": "Say a number.", "max_tokens": 6, "constraints": {"type": "regex", "patterns": ["[0-9]{1,4}"]}}
    with http.stream("POST", "/generate/stream", json=body) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _sse(list(r.iter_lines()))
    tokens = [e for e in events if not e["done"]]
    final = events[-1]
    assert all(set(e) == {"token", "done", "error"} and e["error"] is None for e in tokens)
    assert final["done"] is True and final["error"] is None
    assert "".join(e["token"] for e in tokens) == final["generated_text"]
    assert re.fullmatch("[0-9]{1,4}", final["generated_text"])
    assert final["response"]["constraint_satisfied"] is True


def test_stream_bad_constraint_is_4xx_not_stream(http):
    body = {"prompt": "x", "max_tokens": 4, "constraints": {"type": "regex", "patterns": ["(unclosed"]}}
    r = http.post("/generate/stream", json=body)
    assert r.status_code == 400 and r.json()["error"]["type"] == "constraint_error"


def test_validate_route(http):
    ok = http.post("/v1/constraints/validate", json={"constraint": {"kind": "json_schema", "schema": PERSON}})
    assert ok.status_code == 200 and ok.json()["valid"] is True and ok.json()["kinds"] == ["json_schema"]
    bad = http.post("/v1/constraints/validate", json={"constraint": 'start: "a" @@ "b"', "kind": "lark"})
    assert bad.status_code == 200
    report = bad.json()
    assert report["valid"] is False and report["errors"][0]["line"] == 1 and report["errors"][0]["column"]


def test_compile_route(http):
    r = http.post("/v1/constraints/compile", json={"constraint": {"kind": "regex", "pattern": "[a-f]{3}"}})
    assert r.status_code == 200
    body = r.json()
    assert body["grammars"] and "[a-f]{3}" in body["grammars"][0] and len(body["fingerprint"]) == 32
    bad = http.post("/v1/constraints/compile", json={"constraint": {"kind": "nope"}})
    assert bad.status_code == 400
    diag = bad.json()["error"]["diagnostics"][0]
    assert diag["pointer"] == "/kind" and "regex" in diag["allowed"]


def test_metrics_after_traffic(http):
    http.post("/generate_api", json={"prompt": "Hi", "max_tokens": 2})
    text = http.get("/metrics").text
    assert 'ananke_http_requests_total{method="POST",route="/generate_api",status="200"}' in text
    assert "ananke_http_request_duration_seconds_bucket" in text
    assert re.search(r"^ananke_tokens_generated_total [1-9]", text, re.M)
    assert "ananke_queue_depth 0.0" in text
    assert 'ananke_constraint_cache_hits_total{cache="compiled"}' in text


def test_docs_and_openapi(http):
    assert http.get("/docs").status_code == 200
    paths = http.get("/openapi.json").json()["paths"]
    for route in (
        "/generate_api",
        "/generate",
        "/generate/stream",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/constraints/validate",
        "/v1/constraints/compile",
        "/health",
        "/models",
        "/v1/models",
    ):
        assert route in paths
