"""`ananke serve --engine vllm` as clients see it: a real uvicorn server over the CPU vLLM engine."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_health_names_the_vllm_engine_on_cpu(served: Any) -> None:
    body = httpx.get(served.url + "/health", timeout=30).json()
    assert body["status"] == "healthy" and body["engine"] == "vllm"


def test_seed_route_json_schema(served: Any) -> None:
    body = httpx.post(
        served.url + "/generate_api",
        timeout=300,
        json={
            "prompt": "A person as JSON.",
            "constraints": {"json_schema": PERSON},
            "max_tokens": 48,
            "temperature": 0.0,
        },
    ).json()
    assert body["constraint_satisfied"] and body["finish_reason"] == "stop", body
    assert set(json.loads(body["generated_text"])) == {"name", "age"}


def test_sse_stream_one_event_per_token_then_done(served: Any) -> None:
    events: list[dict[str, Any]] = []
    with httpx.stream(
        "POST",
        served.url + "/generate/stream",
        timeout=300,
        json={
            "prompt": "Name a colour.",
            "max_tokens": 8,
            "temperature": 0.0,
            "constraints": {"type": "regex", "patterns": ["(red|green|blue)"]},
        },
    ) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                events.append(json.loads(line[6:]))
    text = "".join(e.get("token", "") for e in events if not e.get("done"))
    assert text in ("red", "green", "blue")
    assert events[-1]["done"] is True and not events[-1].get("error")


def test_openai_client_streams_a_json_schema(served: Any) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=served.url + "/v1", api_key="unused")
    stream = client.chat.completions.create(
        model="ananke",
        messages=[{"role": "user", "content": "A person as JSON."}],
        max_tokens=48,
        temperature=0.0,
        stream=True,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert set(json.loads(text)) == {"name", "age"}
    reply = client.chat.completions.create(
        model="ananke",
        messages=[{"role": "user", "content": "Pick one."}],
        max_tokens=8,
        temperature=0.0,
        extra_body={"structured_outputs": {"choice": ["alpha", "beta"]}},
    )
    assert reply.choices[0].message.content in ("alpha", "beta")


def test_client_disconnect_aborts_the_vllm_request(served: Any) -> None:
    """A stream dropped after a few tokens frees its slot in vLLM at once, not after max_tokens."""
    assert served.engine.running_requests() == 0
    with httpx.stream(
        "POST",
        served.url + "/generate/stream",
        timeout=300,
        json={
            "prompt": "Tell a very long story about the sea.",
            "max_tokens": 2000,
            "temperature": 0.8,
            "constraints": {
                "type": "object",
                "properties": {},
                "constraints": [{"type": "regex", "pattern": "[a-z ]+"}],
            },
        },
    ) as resp:
        seen = 0
        for line in resp.iter_lines():
            if line.startswith("data: "):
                seen += 1
                if seen == 5:
                    assert served.engine.running_requests() == 1
                    break
    dropped_at = time.monotonic()
    while served.engine.running_requests() and time.monotonic() - dropped_at < 20:
        time.sleep(0.05)
    assert served.engine.running_requests() == 0  # 2 000 tokens would take over a minute here
    freed_s = time.monotonic() - dropped_at
    assert freed_s < 20


def test_constraint_errors_come_back_as_400_before_any_generation(served: Any) -> None:
    resp = httpx.post(
        served.url + "/generate_api",
        timeout=60,
        json={"prompt": "x", "constraint": {"kind": "grammar", "lark": "start: <|no_such_special_token|>"}},
    )
    assert resp.status_code == 400
    assert served.engine.running_requests() == 0


@pytest.mark.parametrize("route", ["/v1/constraints/validate"])
def test_validate_route_checks_against_the_served_tokenizer(served: Any, route: str) -> None:
    resp = httpx.post(
        served.url + route, timeout=60, json={"constraint": {"kind": "grammar", "lark": 'start: <|endoftext|> "a"'}}
    )
    assert resp.status_code == 200 and resp.json()["valid"] is True
