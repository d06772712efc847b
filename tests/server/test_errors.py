"""Bad input gets a 4xx naming the problem; overload, timeouts and shutdown are handled cleanly."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from ananke.server._live import LiveServer

pytestmark = pytest.mark.model

JSON = {"Content-Type": "application/json"}
BAD_GRAMMAR = 'start: item+\nitem: "a" @@ "b"\n'

# (name, path, body (dict) or raw bytes, status, words the message must contain)
CASES = [
    ("malformed JSON", "/generate_api", b'{"prompt": "x", "max_tokens": ', 400, ["malformed JSON"]),
    ("malformed JSON (openai)", "/v1/chat/completions", b"{'messages': []}", 400, ["malformed JSON"]),
    ("body not an object", "/generate", b'["prompt"]', 422, ["JSON object"]),
    (
        "unknown kind",
        "/generate_api",
        {"prompt": "x", "constraint": {"kind": "mystery"}},
        400,
        ["unknown constraint kind 'mystery'"],
    ),
    ("unknown format", "/generate", {"prompt": "x", "constraints": {"shape": 1}}, 400, ["unrecognized"]),
    (
        "invalid schema",
        "/generate_api",
        {"prompt": "x", "constraints": {"json_schema": {"type": "nonsense"}}},
        400,
        ["nonsense"],
    ),
    (
        "grammar syntax error",
        "/generate_api",
        {"prompt": "x", "constraint": {"kind": "grammar", "lark": BAD_GRAMMAR}},
        400,
        ["line 2, column"],
    ),
    ("bad regex", "/v1/completions", {"prompt": "x", "structured_outputs": {"regex": "(a"}}, 400, ["regex"]),
    # the JSON Schema `false` is a schema, never "no constraint"
    (
        "json schema false",
        "/v1/completions",
        {"prompt": "x", "structured_outputs": {"json": False}},
        400,
        ["no finite"],
    ),
    (
        "two constraints",
        "/v1/chat/completions",
        {
            "messages": [{"role": "user", "content": "x"}],
            "response_format": {"type": "json_object"},
            "structured_outputs": {"regex": "a"},
        },
        400,
        ["at most one"],
    ),
    ("negative max_tokens", "/generate_api", {"prompt": "x", "max_tokens": -5}, 422, ["max_tokens", "-5"]),
    ("max_tokens over cap", "/generate", {"prompt": "x", "max_tokens": 10**6}, 422, ["max_tokens", "at most"]),
    ("temperature 9", "/generate_api", {"prompt": "x", "temperature": 9}, 422, ["temperature", "9"]),
    ("top_p 0", "/v1/completions", {"prompt": "x", "top_p": 0}, 422, ["top_p"]),
    ("missing prompt", "/generate_api", {"max_tokens": 4}, 422, ["prompt", "required"]),
    ("missing messages", "/v1/chat/completions", {"max_tokens": 4}, 422, ["messages"]),
    ("wrong type", "/generate", {"prompt": 12}, 422, ["prompt"]),
    ("n=2", "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}], "n": 2}, 422, ["n=1"]),
    ("unknown route", "/v2/nothing", {"prompt": "x"}, 404, ["Not Found"]),
]


def _message(body):
    if "error" in body and isinstance(body["error"], dict):
        return body["error"]["message"] + " " + str(body["error"].get("diagnostics"))
    return body["metadata"]["error"] + " " + str(body["metadata"].get("diagnostics"))


@pytest.mark.parametrize("name,path,body,status,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_table(http, name, path, body, status, words):
    r = http.post(path, content=body, headers=JSON) if isinstance(body, bytes) else http.post(path, json=body)
    assert r.status_code == status, r.text
    data = r.json()
    message = _message(data)
    for word in words:
        assert word in message, (name, message)
    assert r.headers["x-request-id"]
    if path == "/generate_api":  # the seed's body, with a 4xx status
        assert data["finish_reason"] == "error" and data["constraint_satisfied"] is False
        assert data["metadata"]["request_id"] == r.headers["x-request-id"]


def test_grammar_error_has_line_column_snippet(http):
    r = http.post("/generate", json={"prompt": "x", "constraints": {"type": "grammar", "grammar": BAD_GRAMMAR}})
    assert r.status_code == 400
    diag = r.json()["error"]["diagnostics"][0]
    assert diag["line"] == 2 and diag["column"] >= 10 and "^" in diag["snippet"]


def test_huge_body_is_413(http):
    big = b'{"prompt": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    r = http.post("/generate_api", content=big, headers=JSON)
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"]


def test_chunked_huge_body_is_413(http):
    def chunks():
        yield b'{"prompt": "'
        for _ in range(80):
            yield b"a" * 65536
        yield b'"}'

    r = http.post("/v1/completions", content=chunks(), headers=JSON)
    assert r.status_code == 413


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_wrong_api_key_is_401(live, headers):
    r = httpx.post(live.url + "/generate_api", json={"prompt": "x"}, headers=headers)
    assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
    assert r.headers["www-authenticate"] == "Bearer"


def test_health_and_validation_do_not_wait_behind_generation(http, live):
    done = threading.Event()

    def long_generation():
        http.post("/generate_api", json={"prompt": "Write a long story.", "max_tokens": 96, "temperature": 0})
        done.set()

    worker = threading.Thread(target=long_generation)
    worker.start()
    time.sleep(0.3)
    with httpx.Client(base_url=live.url, headers=http.headers, timeout=10) as side:
        started = time.perf_counter()
        assert side.get("/health").status_code == 200
        health_s = time.perf_counter() - started
        started = time.perf_counter()
        v = side.post("/v1/constraints/validate", json={"constraint": {"kind": "regex", "pattern": "x{2,9}"}})
        validate_s = time.perf_counter() - started
    busy = not done.is_set()
    worker.join()
    assert v.json()["valid"] is True
    assert busy, "the generation finished before the probes; make it longer"
    assert health_s < 0.5 and validate_s < 1.0


def test_queue_full_is_429(service):
    server = _server(service, **{"limits.max_queue": 1})
    try:
        with httpx.Client(base_url=server.url, headers=_auth(server), timeout=60) as client:
            with client.stream("POST", "/generate/stream", json={"prompt": "Tell a story", "max_tokens": 48}) as first:
                assert first.status_code == 200
                r = client.post("/generate", json={"prompt": "x", "max_tokens": 2})
                assert r.status_code == 429 and r.headers["retry-after"]
                assert "queue is full" in r.json()["error"]["message"]
                first.read()
            assert client.post("/generate", json={"prompt": "x", "max_tokens": 2}).status_code == 200
            assert 'ananke_rejected_total{reason="queue_full"} 1.0' in client.get("/metrics").text
    finally:
        server.stop()


def test_compile_timeout(service):
    server = _server(service, **{"limits.compile_timeout_s": 1e-6})
    try:
        schema = {
            "type": "object",
            "properties": {f"p{i}": {"type": "string", "pattern": f"[a-z]{{{i}}}"} for i in range(1, 40)},
        }
        with httpx.Client(base_url=server.url, headers=_auth(server), timeout=60) as client:
            r = client.post("/generate", json={"prompt": "x", "constraints": {"type": "json", "schema": schema}})
            assert r.status_code == 400 and r.json()["error"]["type"] == "compile_timeout"
            assert "limits.compile_timeout_s" in r.json()["error"]["message"]
            assert client.get("/health").status_code == 200
    finally:
        server.stop()


def test_graceful_shutdown_finishes_in_flight(service):
    # in-flight work gets limits.shutdown_grace_s, then a 503 (test_slow_clients.py): give it plenty
    server = _server(service, **{"limits.shutdown_grace_s": 120})
    result = {}

    def request():
        with httpx.Client(base_url=server.url, headers=_auth(server), timeout=180) as client:
            result["r"] = client.post("/generate_api", json={"prompt": "Count to ten.", "max_tokens": 8})

    worker = threading.Thread(target=request)
    worker.start()
    time.sleep(0.3)
    server.stop()  # uvicorn stops accepting, the app drains in-flight work
    worker.join()
    assert result["r"].status_code == 200 and result["r"].json()["tokens_generated"] > 0
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/health", timeout=2)
    # the shared service was passed in, so it belongs to the caller and still works
    assert service.generate_sync({"prompt": "hi", "max_tokens": 2}).tokens_generated >= 1


def _auth(server):
    return {"Authorization": f"Bearer {server.app.state.ananke.api_key}"}


def _server(service, **settings):
    from ananke._config import load_config
    from ananke.server import create_app

    config = load_config(env={}, overrides={"auth.api_key": "other-key", **settings})
    return LiveServer(create_app(service, config)).start()
