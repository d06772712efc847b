"""Bounded load: 200 requests, 16 at a time, on the real server — zero errors, every answer verified."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest

pytestmark = pytest.mark.model

N_REQUESTS = 200
CONCURRENCY = 16
CHOICES = ["red", "green", "blue", "cyan"]


def _case(i: int) -> tuple[str, dict, object]:
    """Rotate routes and constraint kinds; return (path, body, checker of the generated text)."""
    if i % 4 == 0:
        return (
            "/generate_api",
            {
                "prompt": f"Number {i}:",
                "max_tokens": 4,
                "seed": i,
                "chat": False,
                "constraint": {"kind": "regex", "pattern": "[0-9]{1,3}"},
            },
            lambda t: re.fullmatch("[0-9]{1,3}", t),
        )
    if i % 4 == 1:
        return (
            "/generate",
            {
                "prompt": f"Color {i}?",
                "max_tokens": 4,
                "chat": False,
                "constraints": {"type": "regex", "patterns": ["(red|green|blue|cyan)"]},
            },
            lambda t: t in CHOICES,
        )
    if i % 4 == 2:
        return (
            "/v1/completions",
            {"prompt": f"Flag {i}:", "max_tokens": 4, "seed": i, "structured_outputs": {"choice": ["true", "false"]}},
            lambda t: t in ("true", "false"),
        )
    return (
        "/v1/chat/completions",
        {
            "messages": [{"role": "user", "content": f"Digit {i}"}],
            "max_tokens": 4,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "d", "schema": {"type": "integer", "minimum": 0, "maximum": 9}},
            },
        },
        lambda t: 0 <= json.loads(t) <= 9,
    )


def _text(path: str, body: dict) -> tuple[str, bool]:
    if path == "/generate_api":
        return body["generated_text"], body["constraint_satisfied"]
    if path == "/generate":
        return body["generated_text"], body["constraint_satisfied"]
    if path == "/v1/completions":
        return body["choices"][0]["text"], body["ananke"]["constraint_satisfied"]
    return body["choices"][0]["message"]["content"], body["ananke"]["constraint_satisfied"]


def test_load_200_requests_16_concurrent(live):
    auth = {"Authorization": f"Bearer {live.app.state.ananke.api_key}"}
    results: dict[int, tuple[int, dict]] = {}

    async def one(client: httpx.AsyncClient, sem: asyncio.Semaphore, i: int) -> None:
        path, body, _check = _case(i)
        async with sem:
            r = await client.post(path, json=body, headers={**auth, "X-Request-ID": f"load-{i}"})
        results[i] = (r.status_code, r.json())

    async def main() -> None:
        sem = asyncio.Semaphore(CONCURRENCY)
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(base_url=live.url, timeout=300, limits=limits) as client:
            await asyncio.gather(*(one(client, sem, i) for i in range(N_REQUESTS)))

    asyncio.run(main())
    assert sorted(results) == list(range(N_REQUESTS))  # nothing lost
    errors = {i: r for i, r in results.items() if r[0] != 200}
    assert not errors, list(errors.items())[:3]
    for i, (_status, body) in results.items():
        path, _req, check = _case(i)
        text, satisfied = _text(path, body)
        assert check(text), (i, path, text)
        assert satisfied is True, (i, path, body)
    metrics = httpx.get(live.url + "/metrics", headers=auth).text
    assert "ananke_queue_depth 0.0" in metrics
