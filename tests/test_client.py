"""AnankeClient / AsyncAnankeClient against a real server (embedded model)."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import jsonschema
import pytest

import ananke
from ananke.client import AnankeClient, AsyncAnankeClient, AuthenticationError, HTTPError, StreamEvent

pytestmark = pytest.mark.model

KEY = "ananke-test-key"
SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def live():
    from ananke.server._live import shared_embedded_server

    return shared_embedded_server(api_key=KEY)  # the same server as tests/server when run together


@pytest.fixture
def client(live):
    with AnankeClient(live.url, api_key=KEY, timeout=120) as c:
        yield c


def test_health(client):
    assert client.health()["status"] == "healthy"


def test_generate_helpers(client):
    resp = client.generate_with_json_schema("Is water wet? Answer as JSON.", SCHEMA, max_tokens=16, temperature=0)
    jsonschema.validate(json.loads(resp.generated_text), SCHEMA)
    assert resp.constraint_satisfied and resp.metadata.constraint_kinds == ["json_schema"]
    resp = client.generate_with_regex("A year:", "(19|20)[0-9]{2}", max_tokens=6, seed=3)
    assert re.fullmatch("(19|20)[0-9]{2}", resp.generated_text) and resp.constraint_satisfied
    resp = client.generate_with_grammar("Yes or no?", 'start: "yes" | "no"', max_tokens=4)
    assert resp.generated_text in ("yes", "no")
    resp = client.generate_with_grammar("Yes or no?", 'root ::= "yes" | "no"', max_tokens=4)
    assert resp.generated_text in ("yes", "no")


def test_stream(client):
    events = list(client.stream("Count:", constraint={"kind": "regex", "pattern": "[0-9]{1,5}"}, max_tokens=6))
    assert all(isinstance(e, StreamEvent) for e in events)
    final = events[-1]
    assert final.done and final.response is not None and final.response.constraint_satisfied
    assert "".join(e.token for e in events[:-1]) == final.response.generated_text


def test_validate_and_compile(client):
    assert client.validate({"kind": "regex", "pattern": "a+"}).valid is True
    report = client.validate('start: "a" @@', kind="lark")
    assert report.valid is False and report.errors[0]["line"] == 1
    compiled = client.compile({"kind": "regex", "pattern": "a+"})
    assert compiled.grammars and len(compiled.fingerprint) == 32
    assert client.compile({"kind": "regex", "pattern": "a+"}).cache_hit is True


def test_errors_are_typed(client, live):
    with pytest.raises(ananke.ConstraintError) as info:
        client.generate("x", constraint={"kind": "grammar", "lark": 'start: "a" @@'}, max_tokens=2)
    assert info.value.diagnostics[0].line == 1
    with pytest.raises(ananke.ConstraintError):
        client.compile({"kind": "nope"})
    with pytest.raises(ananke.RequestError) as info:
        client.generate("x", temperature=9)
    assert info.value.field == "temperature"
    with AnankeClient(live.url, api_key="wrong") as bad, pytest.raises(AuthenticationError):
        bad.validate({"kind": "regex", "pattern": "a"})


class _FailFirst(httpx.BaseTransport):
    """Fault injection in front of the real server: the first ``n`` calls get ``status`` (or a connect error)."""

    def __init__(self, n: int, status: int | None) -> None:
        self.n, self.status, self.calls = n, status, 0
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.n:
            if self.status is None:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(self.status, headers={"Retry-After": "0"}, json={"error": {"message": "busy"}})
        return self.real.handle_request(request)


@pytest.mark.parametrize("status", [429, 503, None])
def test_retries_then_succeeds(live, status):
    transport = _FailFirst(2, status)
    with AnankeClient(live.url, api_key=KEY, transport=transport, max_retries=3, backoff=0.01) as c:
        assert c.health()["status"] == "healthy"
    assert transport.calls == 3


def test_retries_give_up(live):
    transport = _FailFirst(10, 503)
    with AnankeClient(live.url, api_key=KEY, transport=transport, max_retries=2, backoff=0.01) as c:
        with pytest.raises(HTTPError) as info:
            c.health()
    assert info.value.status == 503 and transport.calls == 3
    with AnankeClient("http://127.0.0.1:9", max_retries=1, backoff=0.01, timeout=2) as c:
        with pytest.raises(HTTPError) as info:
            c.health()
    assert info.value.status == 0 and "cannot reach" in str(info.value)


def test_timeout(live):
    with AnankeClient(live.url, api_key=KEY, timeout=0.05, max_retries=0) as c:
        with pytest.raises(httpx.TimeoutException):
            c.generate("Write a long essay.", max_tokens=12, chat=False)


def test_async_client(live):
    async def main():
        async with AsyncAnankeClient(live.url, api_key=KEY, timeout=120) as c:
            health, a, b = await asyncio.gather(
                c.health(),
                c.generate_with_regex("n:", "[0-9]{2}", max_tokens=4),
                c.generate_with_json_schema("JSON:", SCHEMA, max_tokens=16, temperature=0),
            )
            events = [e async for e in c.stream("Hi", max_tokens=3)]
            report = await c.validate({"kind": "regex", "pattern": "("})
            return health, a, b, events, report

    health, a, b, events, report = asyncio.run(main())
    assert health["status"] == "healthy"
    assert re.fullmatch("[0-9]{2}", a.generated_text) and a.constraint_satisfied
    assert json.loads(b.generated_text)["ok"] in (True, False)
    assert events[-1].done and events[-1].response.tokens_generated >= 1
    assert report.valid is False


class _Inject(httpx.BaseTransport):
    """The first ``n`` calls get ``response`` (status, json, headers) or raise ``error``; then the real server."""

    def __init__(
        self,
        n: int,
        *,
        status: int = 500,
        body: dict | None = None,
        headers: dict | None = None,
        error: type[Exception] | None = None,
    ) -> None:
        self.n, self.status, self.body, self.headers, self.error, self.calls = n, status, body, headers, error, 0
        self.real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls <= self.n:
            if self.error is not None:
                raise self.error("injected", request=request)
            return httpx.Response(self.status, headers=self.headers or {}, json=self.body or {"error": {}})
        return self.real.handle_request(request)


@pytest.mark.parametrize(
    "inject",
    [
        {"status": 500, "body": {"error": {"type": "engine_error", "message": "boom"}}},
        {"status": 503, "body": {"error": {"type": "unavailable", "message": "down"}}},
        {"status": 503, "body": {"error": {"type": "interrupted", "message": "stopped mid-generation"}}},
        {"status": 429, "body": {"error": {"type": "queue_full", "message": "full"}}},  # no Retry-After
        {"error": httpx.ReadError},
        {"error": httpx.RemoteProtocolError},
    ],
)
def test_generation_is_not_retried_when_it_may_have_run(live, inject):
    transport = _Inject(1, **inject)
    with AnankeClient(live.url, api_key=KEY, transport=transport, max_retries=3, backoff=0.01) as c:
        with pytest.raises(HTTPError):
            c.generate("x", max_tokens=2)
    assert transport.calls == 1


@pytest.mark.parametrize(
    "inject",
    [
        {"status": 503, "body": {"error": {"type": "loading", "message": "loading"}}, "headers": {"Retry-After": "0"}},
        {"status": 503, "body": {"error": {"type": "shutting_down", "message": "bye"}}},
        {"status": 429, "body": {"error": {"type": "queue_full", "message": "full"}}, "headers": {"Retry-After": "0"}},
        {"error": httpx.ConnectError},
    ],
)
def test_generation_is_retried_when_it_never_started(live, inject):
    transport = _Inject(1, **inject)
    with AnankeClient(live.url, api_key=KEY, transport=transport, max_retries=3, backoff=0.01) as c:
        resp = c.generate_with_regex("n:", "[0-9]", max_tokens=2)
    assert transport.calls == 2 and resp.constraint_satisfied


def test_validation_is_retried_on_read_errors(live):
    transport = _Inject(1, error=httpx.ReadError)
    with AnankeClient(live.url, api_key=KEY, transport=transport, max_retries=3, backoff=0.01) as c:
        assert c.validate({"kind": "regex", "pattern": "a"}).valid
    assert transport.calls == 2


def test_server_url_with_the_seed_route_appended(live):
    from ananke.client import server_root

    assert server_root("http://h:1/generate_api/") == "http://h:1" and server_root("http://h:1/") == "http://h:1"
    with AnankeClient(live.url + "/generate_api", api_key=KEY) as c:
        assert c.generate_with_regex("n:", "[0-9]", max_tokens=2).constraint_satisfied
