"""Maze's and Braid's requests as their clients send them, on the real server (issue #14)."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import jsonschema
import pytest

pytestmark = pytest.mark.model

API_KEY = "ananke-test-key"  # the shared server's (tests/server/conftest.py)
SKELETON = {"type": "object", "properties": {}, "constraints": []}
RICH_CONTEXT = {
    "function_signatures": [],
    "type_bindings": [{"name": "User", "kind": "struct", "fields": ["id"]}],
    "imports": [{"module": "os", "is_wildcard": False, "items": ["path"]}],
    "_populated": True,
}


def test_maze_skeleton_is_unconstrained(http):
    body = {"prompt": "Say hello.", "max_tokens": 4, "temperature": 0.0, "constraints": SKELETON}
    r = http.post("/generate", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["metadata"]["constraint_kinds"] == [] and data["metadata"]["fingerprint"] is None
    assert data["stats"]["constraint_checks"] == 0 and data["tokens_generated"] >= 1


def test_maze_named_entries_and_struct_are_enforced(http):
    struct = {
        "schema_type": "object",
        "properties": {"pin": {"type": "string", "pattern": "^[0-9]{4}$"}},
        "required": ["pin"],
        "additional_properties": False,
    }
    body = {
        "prompt": "Give a PIN as JSON.",
        "max_tokens": 40,
        "temperature": 0.0,
        "constraints": {
            "type": "object",
            "properties": {"pin_format": struct},
            "constraints": [{"type": "token_mask", "name": "security", "forbidden": [0]}],
        },
    }
    r = http.post("/generate", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert {"json_schema", "token_mask"} <= set(data["metadata"]["constraint_kinds"])
    assert data["finish_reason"] == "stop" and data["constraint_satisfied"] is True, data
    jsonschema.validate(
        json.loads(data["generated_text"]),
        {
            "type": "object",
            "properties": {"pin": {"type": "string", "pattern": "^[0-9]{4}$"}},
            "required": ["pin"],
            "additionalProperties": False,
        },
    )


def test_braid_provenance_comes_back_in_metadata(http):
    braid = {
        "json_schema": None,
        "grammar": None,
        "regex_patterns": [{"pattern": "(yes|no)", "flags": ""}],
        "token_masks": {},
        "priority": 2,
        "feasibility_score": 0.5,
        "is_feasible": True,
        "rich_context": RICH_CONTEXT,
    }
    r = http.post("/generate_api", json={"prompt": "Yes or no?", "max_tokens": 4, "constraint_ir": braid})
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["generated_text"] in ("yes", "no") and data["constraint_satisfied"] is True
    assert data["metadata"]["provenance"] == {
        "feasibility_score": 0.5,
        "is_feasible": True,
        "rich_context": RICH_CONTEXT,
    }
    plain = http.post(
        "/generate_api", json={"prompt": "Yes or no?", "max_tokens": 4, "constraints": {"regex_patterns": ["(yes|no)"]}}
    ).json()
    assert plain["metadata"]["provenance"] is None  # the cache never leaks another request's provenance


def test_plain_json_schema_validates_without_kind(http):
    r = http.post(
        "/v1/constraints/validate", json={"constraint": {"type": "object", "properties": {"a": {"type": "strin"}}}}
    )
    assert r.status_code == 200
    [error] = r.json()["errors"]
    assert error["pointer"] == "/properties/a/type" and "strin" in error["message"] and "string" in error["allowed"]
    ok = http.post("/v1/constraints/validate", json={"constraint": {"type": "object"}}).json()
    assert ok["valid"] is True and ok["kinds"] == ["json_schema"]


def _chunked_body(sock):
    """Read one chunked HTTP response from ``sock``; return its chunks as the server wrote them."""
    reader = sock.makefile("rb")
    while reader.readline() not in (b"\r\n", b""):  # status line and headers
        pass
    chunks = []
    while True:
        size = int(reader.readline().split(b";")[0], 16)
        if size == 0:
            return chunks
        chunks.append(reader.read(size).decode("utf-8"))
        reader.read(2)


def test_maze_stream_sends_one_sse_event_per_write(live):
    """Maze's Rust reader takes only the first ``data:`` line of each network read: one event per chunk."""
    host, port = urlsplit(live.url).hostname, urlsplit(live.url).port
    body = json.dumps(
        {
            "prompt": "Count: 1, 2, 3,",
            "max_tokens": 8,
            "temperature": 0.0,
            "constraints": {"type": "regex", "patterns": ["[0-9, ]{1,12}"]},
        }
    ).encode()
    request = (
        f"POST /generate/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection((host, port), timeout=120) as sock:
        sock.sendall(request)
        chunks = _chunked_body(sock)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert chunk.startswith("data: ") and chunk.endswith("\n\n") and chunk.count("data: ") == 1, chunk
    assert chunks[-1] == "data: [DONE]\n\n" and json.loads(chunks[-2][len("data: ") :])["done"] is True
