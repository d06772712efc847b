"""Hostile input against the real server (uvicorn on 127.0.0.1, embedded model).

Each row: what is sent, the status expected, words the answer must hold; after each, the server
answers ``/health`` promptly. Time to answer is recorded and bounded generously (a 2-core machine
shared with other work): the point is "answers", not a benchmark.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

pytestmark = pytest.mark.model

JSON = {"Content-Type": "application/json"}
CHAT = "/v1/chat/completions"


def _deep_composite(n: int) -> dict:
    node: dict = {"kind": "literal", "text": "a"}
    for _ in range(n):
        node = {"kind": "composite", "op": "sequence", "parts": [node]}
    return node


def _deep_schema(n: int) -> dict:
    schema: dict = {"type": "string"}
    for _ in range(n):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


_LOOP = {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}
_REQUIRED_LOOP = {
    "$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}, "required": ["next"]}},
    "$ref": "#/$defs/n",
}

# (name, path, body: dict | raw bytes, status, words in the message (or pointer), bound on seconds to answer)
ROWS = [
    (
        "lone surrogate in prompt",
        "/generate_api",
        b'{"prompt": "hi \\ud800", "max_tokens": 2}',
        422,
        ["/prompt", "lone surrogate", "U+D800"],
        5,
    ),
    (
        "lone surrogate in chat message",
        CHAT,
        b'{"messages": [{"role": "user", "content": "\\udc00"}], "max_tokens": 2}',
        422,
        ["/messages/0/content", "lone surrogate"],
        5,
    ),
    (
        "lone surrogate in constraint",
        "/generate",
        b'{"prompt": "x", "constraint": {"kind": "literal", "text": "a\\ud800"}}',
        422,
        ["/constraint/text", "lone surrogate"],
        5,
    ),
    (
        "lone surrogate in validate",
        "/v1/constraints/validate",
        b'{"constraint": {"kind": "regex", "pattern": "\\ud800+"}}',
        422,
        ["/constraint/pattern"],
        5,
    ),
    (
        "surrogate pair is fine",
        "/v1/constraints/validate",
        b'{"constraint": {"kind": "literal", "text": "\\ud83d\\ude00"}}',
        200,
        [],
        5,
    ),
    (
        "composite nested 400 deep",
        "/generate_api",
        {"prompt": "x", "constraint": _deep_composite(400)},
        400,
        ["nests deeper than"],
        5,
    ),
    (
        "composite nested 70 deep",
        "/v1/constraints/compile",
        {"constraint": _deep_composite(70)},
        400,
        ["nests deeper than 64"],
        5,
    ),
    (
        "JSON Schema nested 400 deep",
        "/v1/constraints/compile",
        {"constraint": {"kind": "json_schema", "schema": _deep_schema(400)}},
        400,
        ["nests deeper than"],
        5,
    ),
    (
        "body nested 100000 deep",
        "/generate_api",
        b'{"prompt": "x", "context": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        400,
        ["nested too deeply"],
        5,
    ),
    (
        "$ref loop, no base case",
        "/v1/constraints/compile",
        {"constraint": {"kind": "json_schema", "schema": _LOOP}},
        400,
        ["no finite document", "/schema/$defs/a"],
        5,
    ),
    (
        "required $ref loop",
        "/generate_api",
        {"prompt": "x", "max_tokens": 4, "constraint": {"kind": "json_schema", "schema": _REQUIRED_LOOP}},
        400,
        ["no finite document"],
        5,
    ),
    (
        "a{1000000}",
        "/generate_api",
        {"prompt": "x", "max_tokens": 2, "constraint": {"kind": "regex", "pattern": "a{1000000}"}},
        400,
        ["unroll", "/pattern"],
        5,
    ),
    (
        "a{1000000} again (a failure stays a failure)",
        "/generate_api",
        {"prompt": "x", "max_tokens": 2, "constraint": {"kind": "regex", "pattern": "a{1000000}"}},
        400,
        ["unroll"],
        5,
    ),
    (
        "properties: 5",
        "/v1/constraints/compile",
        {"constraint": {"kind": "json_schema", "schema": {"type": "object", "properties": 5}}},
        400,
        ["/schema/properties", "not of type 'object'"],
        5,
    ),
    (
        "body not JSON",
        "/generate_api",
        b'{"prompt": "x",, }',
        400,
        ["malformed JSON", "line 1, column 16 (character 15)"],
        5,
    ),
    ("body not UTF-8", "/generate", b'{"prompt": "\xff\xfe"}', 400, ["not UTF-8", "byte 12"], 5),
    ("body not UTF-8 (openai)", CHAT, b'{"messages": [{"role": "user", "content": "\xc3"}]}', 400, ["not UTF-8"], 5),
    (
        "misspelled constraints",
        "/generate_api",
        {"prompt": "x", "constraintz": {"kind": "regex", "pattern": "a"}},
        422,
        ["unknown field 'constraintz'"],
        5,
    ),
    (
        "unknown Maze field",
        "/generate",
        {"prompt": "x", "constraint_spec": {"regex_patterns": ["a"]}},
        422,
        ["unknown field 'constraint_spec'"],
        5,
    ),
    (
        "unknown OpenAI field",
        CHAT,
        {"messages": [{"role": "user", "content": "x"}], "respose_format": {}},
        422,
        ["unknown field 'respose_format'", "response_format"],
        5,
    ),
    (
        "unimplemented OpenAI option",
        CHAT,
        {"messages": [{"role": "user", "content": "x"}], "frequency_penalty": 0.5},
        422,
        ["frequency_penalty", "not supported"],
        5,
    ),
    (
        "tools",
        CHAT,
        {"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}]},
        422,
        ["tools"],
        5,
    ),
    (
        "chat logprobs",
        CHAT,
        {"messages": [{"role": "user", "content": "x"}], "logprobs": True},
        422,
        ["logprobs is not supported"],
        5,
    ),
    ("completions logprobs", "/v1/completions", {"prompt": "x", "logprobs": 2}, 422, ["logprobs"], 5),
]


def _message(body: dict) -> str:
    if isinstance(body.get("error"), dict):
        return body["error"]["message"] + " " + json.dumps(body["error"].get("diagnostics"))
    if body.get("finish_reason") == "error":
        return body["metadata"]["error"] + " " + json.dumps(body["metadata"].get("diagnostics"))
    return json.dumps(body)


def _assert_healthy(live, headers) -> float:
    started = time.perf_counter()
    r = httpx.get(live.url + "/health", headers=headers, timeout=5)
    assert r.status_code == 200 and r.json()["status"] == "healthy"
    return time.perf_counter() - started


@pytest.mark.parametrize("name,path,body,status,words,bound_s", ROWS, ids=[r[0] for r in ROWS])
def test_hostile_input_table(http, live, name, path, body, status, words, bound_s):
    started = time.perf_counter()
    r = http.post(path, content=body, headers=JSON) if isinstance(body, bytes) else http.post(path, json=body)
    answer_s = time.perf_counter() - started
    assert r.status_code == status, (name, r.text[:500])
    data = r.json()  # always JSON, never a bare 500 page
    message = _message(data)
    for word in words:
        assert word in message, (name, message[:500])
    if path == "/generate_api" and status >= 400:  # the seed's body, with the 4xx status
        assert data["finish_reason"] == "error" and data["constraint_satisfied"] is False
        assert data["metadata"]["status"] == status and data["metadata"]["error_type"]
    assert answer_s < bound_s, f"{name}: answered in {answer_s:.2f} s"
    assert _assert_healthy(live, http.headers) < 5.0


def test_validate_agrees_with_generation(http):
    """What validation refuses, generation refuses with the same diagnostic, every time."""
    constraint = {"kind": "regex", "pattern": "a{1000000}"}
    report = http.post("/v1/constraints/validate", json={"constraint": constraint}).json()
    assert report["valid"] is False
    for _ in range(2):
        r = http.post("/generate_api", json={"prompt": "x", "max_tokens": 2, "constraint": constraint})
        assert r.status_code == 400
        assert r.json()["metadata"]["diagnostics"][0]["message"] == report["errors"][0]["message"]


def test_redos_regex_output_is_verified_in_linear_time(http, live):
    """``(a+)+b`` with a model made to write ``a``: the cut-off output is verified without
    backtracking, and ``/health`` answers throughout."""
    body = {
        "prompt": "Write the letter a, many times, with no spaces.",
        "max_tokens": 12,
        "temperature": 0,
        "constraint": {"kind": "regex", "pattern": "(a+)+b"},
    }
    result: dict = {}

    def generate() -> None:
        result["r"] = http.post("/generate_api", json=body)

    worker = threading.Thread(target=generate)
    worker.start()
    health = []
    while worker.is_alive():
        health.append(_assert_healthy(live, http.headers))
        time.sleep(0.2)
    worker.join()
    data = result["r"].json()
    assert result["r"].status_code == 200, data
    text = data["generated_text"]
    if data["finish_reason"] == "length":  # cut off: a run of a, no b: verification must say no
        assert set(text) == {"a"} and data["constraint_satisfied"] is False
        assert data["metadata"]["verification_errors"]
    else:
        assert text.endswith("b") and data["constraint_satisfied"] is True
    assert max(health) < 5.0
    assert _assert_healthy(live, http.headers) < 5.0


def test_seed_cli_constraint_spec_is_understood(http):
    r = http.post(
        CHAT,
        json={
            "messages": [{"role": "user", "content": "Say yes or no."}],
            "max_tokens": 4,
            "constraint_spec": {"regex_patterns": ["yes|no"]},
        },
    )
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["choices"][0]["message"]["content"] in ("yes", "no")
    assert data["ananke"]["constraint_satisfied"] is True and data["ananke"]["constraint_kinds"]


def test_neutral_openai_fields_are_accepted(http):
    r = http.post(
        CHAT,
        json={
            "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 2,
            "user": "u-1",
            "frequency_penalty": 0,
            "logprobs": False,
            "tool_choice": "none",
            "store": False,
        },
    )
    assert r.status_code == 200, r.text


def test_openapi_describes_errors_streams_and_bounds(http):
    spec = http.get("/openapi.json").json()
    for path in (
        "/generate_api",
        "/generate",
        "/generate/stream",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/constraints/validate",
        "/v1/constraints/compile",
    ):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"400", "401", "413", "422", "429", "503"} <= set(responses), path
    for path in ("/generate/stream", "/v1/chat/completions", "/v1/completions"):
        assert "text/event-stream" in spec["paths"][path]["post"]["responses"]["200"]["content"], path
    assert "503" in spec["paths"]["/health"]["get"]["responses"]
    seed = spec["components"]["schemas"]["SeedRequest"]["properties"]
    assert seed["max_tokens"]["minimum"] == 1 and seed["temperature"]["maximum"] == 2
    assert spec["components"]["schemas"]["SeedRequest"]["additionalProperties"] is False
