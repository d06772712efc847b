"""Python client of the Ananke HTTP service (blocking and asyncio), on httpx.

    from ananke.client import AnankeClient

    with AnankeClient("http://127.0.0.1:8000") as client:
        resp = client.generate_with_json_schema("A person as JSON", {"type": "object", ...}, max_tokens=64)
        resp.generated_text, resp.constraint_satisfied
        for event in client.stream("Count to five", max_tokens=16):
            print(event.token, end="")            # the last event has .done and .response

Errors come back as Ananke's exceptions: :class:`ananke.ConstraintError` (400, with the server's
diagnostics), :class:`ananke.RequestError` (422), :class:`AuthenticationError` (401),
:class:`HTTPError` (anything else).

Retries (exponential backoff with jitter, ``Retry-After`` honoured, up to ``max_retries``) only where
a repeat cannot run a generation twice: a connection that was never made, 503 ``loading`` /
``shutting_down`` (refused before it started) and 429 with ``Retry-After``; requests without side
effects (``GET``, ``/v1/constraints/*``) are also retried on 502/503/504 and read errors. A 500 or a
connection lost during ``POST /generate_api`` is not retried: the generation may have run.
The SSE stream is parsed with ``httpx-sse`` (multi-line ``data:`` fields, comments, ``event:``).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from httpx_sse import EventSource
from pydantic import BaseModel, ConfigDict, Field

from ananke.errors import AnankeError, ConstraintError, Diagnostic, RequestError
from ananke.runtime._service import GenerationResponse

__all__ = [
    "AnankeClient",
    "AsyncAnankeClient",
    "AuthenticationError",
    "CompileResult",
    "GenerationResponse",
    "HTTPError",
    "StreamEvent",
    "ValidationResult",
    "server_root",
    "should_retry",
]

DEFAULT_URL = "http://127.0.0.1:8000"
#: statuses retried for requests without side effects
SAFE_RETRY_STATUS = frozenset({429, 502, 503, 504})
#: 503 error types answered before the request started (safe to repeat a generation)
_NOT_STARTED = frozenset({"loading", "shutting_down"})
#: route suffixes a server URL may carry by mistake (the seed's release notes write ``.../generate_api``)
_ROUTE_SUFFIXES = ("/generate_api",)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
_TRANSPORT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def server_root(url: str) -> str:
    """The server's base URL: without a trailing slash or a route the user appended."""
    url = url.rstrip("/")
    for suffix in _ROUTE_SUFFIXES:
        if url.endswith(suffix):
            url = url[: -len(suffix)].rstrip("/")
    return url


def _safe(method: str, path: str) -> bool:
    """Requests without side effects: repeating them costs nothing but time."""
    return method == "GET" or path.startswith("/v1/constraints/")


def should_retry(method: str, path: str, response: httpx.Response | None, exc: Exception | None) -> bool:
    """May this failed attempt be repeated without running a generation twice?"""
    if exc is not None:
        return isinstance(exc, _NOT_SENT) or _safe(method, path)
    assert response is not None
    status = response.status_code
    if status == 429 and response.headers.get("retry-after"):
        return True
    if status == 503 and _error_type(response) in _NOT_STARTED:
        return True
    return _safe(method, path) and status in SAFE_RETRY_STATUS


def _error_type(response: httpx.Response) -> str | None:
    try:
        info = _error_info(response.json())
    except ValueError:
        return None
    return info.get("type")


class HTTPError(AnankeError):
    """The server answered with an error status (``status``, ``body``)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        self.status = status
        self.body = body
        super().__init__(f"HTTP {status}: {message}")


class AuthenticationError(HTTPError):
    """401: missing or wrong API key."""


class ValidationResult(BaseModel):
    """``/v1/constraints/validate``: ``valid``, ``errors`` (diagnostics), ``warnings``, ``fingerprint``, ``kinds``."""

    model_config = ConfigDict(extra="allow")

    valid: bool
    errors: list[dict[str, Any]] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    fingerprint: str | None = None
    kinds: list[str] = Field(default_factory=list)


class CompileResult(BaseModel):
    """``/v1/constraints/compile``: the lowered Lark grammars, static token set and provenance."""

    model_config = ConfigDict(extra="allow")

    fingerprint: str
    grammars: list[str]
    token_mask: Any = None
    warnings: list[str] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=list)
    cache_hit: bool = False
    compile_ms: float = 0.0


class StreamEvent(BaseModel):
    """One streamed piece: ``token`` text, or (``done``) the final ``response``."""

    token: str = ""
    done: bool = False
    response: GenerationResponse | None = None


# -- shared request / response logic -------------------------------------------------------------


def _body(prompt: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"prompt": prompt, **{k: v for k, v in fields.items() if v is not None}}


def _schema_fields(schema: Any) -> dict[str, Any]:
    return {"constraint": {"kind": "json_schema", "schema": schema}}


def _grammar_fields(grammar: str, syntax: str | None) -> dict[str, Any]:
    syntax = syntax or ("gbnf" if "::=" in grammar else "lark")
    if syntax not in ("lark", "gbnf"):
        raise ValueError("syntax must be 'lark' or 'gbnf'")
    return {"constraint": {"kind": "grammar", syntax: grammar}}


def _regex_fields(pattern: str) -> dict[str, Any]:
    return {"constraint": {"kind": "regex", "pattern": pattern}}


def _error_info(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):
            return body["error"]
        if body.get("finish_reason") == "error" and isinstance(body.get("metadata"), dict):
            meta = body["metadata"]
            return {
                "type": meta.get("error_type"),
                "message": meta.get("error"),
                "param": meta.get("param"),
                "diagnostics": meta.get("diagnostics") or [],
            }
    return {"message": str(body)[:500]}


def _diagnostic(data: dict[str, Any]) -> Diagnostic:
    pointer, severity = data.get("pointer"), data.get("severity")
    return Diagnostic(
        str(data.get("message", "")),
        pointer="" if pointer is None else pointer,
        line=data.get("line"),
        column=data.get("column"),
        snippet=data.get("snippet"),
        allowed=tuple(data["allowed"]) if data.get("allowed") else None,
        severity="error" if severity is None else severity,
    )


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = response.text
    info = _error_info(body)
    message = str(info.get("message") or response.reason_phrase)
    status = response.status_code
    if status == 401:
        raise AuthenticationError(status, message, body)
    if status == 400 and str(info.get("type", "")).startswith(("constraint", "compile")):
        diagnostics = [_diagnostic(d) for d in info.get("diagnostics") or []] or [Diagnostic(message)]
        raise ConstraintError(diagnostics)
    if status == 422:
        raise RequestError(message, field=info.get("param"))
    raise HTTPError(status, message, body)


def _retry_delay(attempt: int, backoff: float, response: httpx.Response | None) -> float:
    if response is not None:
        after = response.headers.get("retry-after")
        if after:
            try:
                return min(float(after), 30.0)
            except ValueError:
                pass
    return min(backoff * (2**attempt), 10.0) * (0.5 + random.random() / 2)


def _sse_payload(data: str) -> dict[str, Any] | None:
    """The JSON object of one SSE event's data, or None (empty data, ``[DONE]``)."""
    data = data.strip()
    if not data or data == "[DONE]":
        return None
    return json.loads(data)


def _stream_event(data: dict[str, Any]) -> StreamEvent:
    if data.get("error"):
        raise HTTPError(500, str(data["error"]), data)
    if data.get("done"):
        return StreamEvent(done=True, response=GenerationResponse.model_validate(data["response"]))
    return StreamEvent(token=data.get("token", ""))


class _Base:
    def __init__(
        self, base_url: str | None, api_key: str | None, timeout: float, max_retries: int, backoff: float
    ) -> None:
        from ananke._config import env_setting

        self.base_url = server_root(base_url or env_setting("client.url") or DEFAULT_URL)
        key = api_key if api_key is not None else env_setting("auth.api_key")
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self.max_retries = max_retries
        self.backoff = backoff


class AnankeClient(_Base):
    """Blocking client.  ``timeout`` (s) bounds each HTTP call; ``max_retries`` bounds the retries of
    what is safe to repeat (see the module docstring)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 300.0,
        max_retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, max_retries, backoff)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, transport=transport
        )

    def __enter__(self) -> AnankeClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        attempt = 0
        while True:
            response = None
            try:
                response = self._http.request(method, path, json=body)
                if (
                    response.status_code < 400
                    or attempt >= self.max_retries
                    or not should_retry(method, path, response, None)
                ):
                    _raise_for(response)
                    return response.json()
            except _TRANSPORT as exc:
                if attempt >= self.max_retries or not should_retry(method, path, None, exc):
                    raise HTTPError(0, f"cannot reach {self.base_url}: {exc}") from exc
            time.sleep(_retry_delay(attempt, self.backoff, response))
            attempt += 1

    # -- API --------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self._request("GET", "/health")

    def generate(self, prompt: str, **fields: Any) -> GenerationResponse:
        """``fields``: ``constraint`` | ``constraints`` | ``constraint_ir``, ``max_tokens``, ``temperature``,
        ``top_p``, ``top_k``, ``seed``, ``stop_sequences``, ``context``, ``lenient``, ``chat``."""
        return GenerationResponse.model_validate(self._request("POST", "/generate_api", _body(prompt, fields)))

    def generate_with_json_schema(self, prompt: str, schema: Any, **fields: Any) -> GenerationResponse:
        return self.generate(prompt, **_schema_fields(schema), **fields)

    def generate_with_grammar(
        self, prompt: str, grammar: str, *, syntax: str | None = None, **fields: Any
    ) -> GenerationResponse:
        return self.generate(prompt, **_grammar_fields(grammar, syntax), **fields)

    def generate_with_regex(self, prompt: str, pattern: str, **fields: Any) -> GenerationResponse:
        return self.generate(prompt, **_regex_fields(pattern), **fields)

    def stream(self, prompt: str, **fields: Any) -> Iterator[StreamEvent]:
        """Token events, then one ``done`` event carrying the whole :class:`GenerationResponse`."""
        body = _body(prompt, fields)
        attempt = 0
        while True:
            with self._http.stream("POST", "/generate/stream", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                if (
                    response.status_code >= 400
                    and attempt < self.max_retries
                    and should_retry("POST", "/generate/stream", response, None)
                ):
                    delay = _retry_delay(attempt, self.backoff, response)
                else:
                    _raise_for(response)
                    for sse in EventSource(response).iter_sse():
                        data = _sse_payload(sse.data)
                        if data is not None:
                            yield _stream_event(data)
                    return
            time.sleep(delay)
            attempt += 1

    def validate(self, constraint: Any, *, kind: str | None = None, lenient: bool = False) -> ValidationResult:
        body = {"constraint": constraint, "kind": kind, "lenient": lenient}
        return ValidationResult.model_validate(self._request("POST", "/v1/constraints/validate", body))

    def compile(self, constraint: Any, *, kind: str | None = None, lenient: bool = False) -> CompileResult:
        body = {"constraint": constraint, "kind": kind, "lenient": lenient}
        return CompileResult.model_validate(self._request("POST", "/v1/constraints/compile", body))


class AsyncAnankeClient(_Base):
    """The asyncio twin of :class:`AnankeClient` (same methods, awaitable; ``stream`` is an async iterator)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 300.0,
        max_retries: int = 3,
        backoff: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout, max_retries, backoff)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, timeout=self.timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncAnankeClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        attempt = 0
        while True:
            response = None
            try:
                response = await self._http.request(method, path, json=body)
                if (
                    response.status_code < 400
                    or attempt >= self.max_retries
                    or not should_retry(method, path, response, None)
                ):
                    _raise_for(response)
                    return response.json()
            except _TRANSPORT as exc:
                if attempt >= self.max_retries or not should_retry(method, path, None, exc):
                    raise HTTPError(0, f"cannot reach {self.base_url}: {exc}") from exc
            await asyncio.sleep(_retry_delay(attempt, self.backoff, response))
            attempt += 1

    async def health(self) -> dict[str, Any]:
        return await self._request("GET", "/health")

    async def generate(self, prompt: str, **fields: Any) -> GenerationResponse:
        return GenerationResponse.model_validate(await self._request("POST", "/generate_api", _body(prompt, fields)))

    async def generate_with_json_schema(self, prompt: str, schema: Any, **fields: Any) -> GenerationResponse:
        return await self.generate(prompt, **_schema_fields(schema), **fields)

    async def generate_with_grammar(
        self, prompt: str, grammar: str, *, syntax: str | None = None, **fields: Any
    ) -> GenerationResponse:
        return await self.generate(prompt, **_grammar_fields(grammar, syntax), **fields)

    async def generate_with_regex(self, prompt: str, pattern: str, **fields: Any) -> GenerationResponse:
        return await self.generate(prompt, **_regex_fields(pattern), **fields)

    async def stream(self, prompt: str, **fields: Any) -> AsyncIterator[StreamEvent]:
        body = _body(prompt, fields)
        attempt = 0
        while True:
            async with self._http.stream("POST", "/generate/stream", json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                if (
                    response.status_code >= 400
                    and attempt < self.max_retries
                    and should_retry("POST", "/generate/stream", response, None)
                ):
                    delay = _retry_delay(attempt, self.backoff, response)
                else:
                    _raise_for(response)
                    async for sse in EventSource(response).aiter_sse():
                        data = _sse_payload(sse.data)
                        if data is not None:
                            yield _stream_event(data)
                    return
            await asyncio.sleep(delay)
            attempt += 1

    async def validate(self, constraint: Any, *, kind: str | None = None, lenient: bool = False) -> ValidationResult:
        body = {"constraint": constraint, "kind": kind, "lenient": lenient}
        return ValidationResult.model_validate(await self._request("POST", "/v1/constraints/validate", body))

    async def compile(self, constraint: Any, *, kind: str | None = None, lenient: bool = False) -> CompileResult:
        body = {"constraint": constraint, "kind": kind, "lenient": lenient}
        return CompileResult.model_validate(await self._request("POST", "/v1/constraints/compile", body))
