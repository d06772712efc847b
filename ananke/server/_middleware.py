"""One pure-ASGI middleware: request id, bearer API key, body size and time limits, metrics, access log.

Pure ASGI (not ``BaseHTTPMiddleware``) so that a request pays a few microseconds here, and so
that streaming responses pass straight through.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
import uuid
from typing import Any

from fastapi import HTTPException

from ananke.server._errors import ApiError, error_body
from ananke.server._logging import request_id_var

__all__ = ["BODY_TIMEOUT_S", "PUBLIC_PATHS", "AnankeMiddleware", "BodySlow", "BodyTooLarge"]

log = logging.getLogger("ananke.server.access")

#: paths served without the API key
PUBLIC_PATHS = frozenset({"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
_RID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


#: seconds a client has to send a request's whole body once its headers arrived (slowloris)
BODY_TIMEOUT_S = 30.0


class BodySlow(HTTPException):
    """Raised from ``receive`` when a body is not complete within the body time limit."""

    def __init__(self, limit: float) -> None:
        super().__init__(408, f"the request body did not arrive within {limit:g} s")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a body without Content-Length grows past the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes (limits.max_body_bytes)")


async def _send_json(
    send: Any, status: int, body: dict[str, Any], rid: str, headers: dict[str, str] | None = None
) -> None:
    payload = json.dumps(body).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"x-request-id", rid.encode()),
    ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _route_paths(routes: Any) -> frozenset[str]:
    """Paths of ``routes``, with those of included routers (one lazy route each in recent FastAPI)."""
    paths: set[str] = set()
    for route in routes:
        if isinstance(getattr(route, "path", None), str):
            paths.add(route.path)
        inner = getattr(getattr(route, "original_router", None), "routes", None)
        paths |= _route_paths(inner) if inner else set()
    return frozenset(paths)


class AnankeMiddleware:
    def __init__(self, app: Any, state: Any) -> None:
        self.app = app
        self.state = state
        self.routes: frozenset[str] | None = None  # metrics labels: the app's route paths, read on first use

    def _route_label(self, scope: dict[str, Any], path: str) -> str:
        """The matched route's path (set by the router), else ``path`` if the app has it, else ``other``."""
        matched = getattr(scope.get("route"), "path", None)
        if isinstance(matched, str):
            return matched
        if self.routes is None:
            self.routes = _route_paths(scope["app"].routes)
        return path if path in self.routes else "other"

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        key = self.state.api_key.encode()
        auth = headers.get(b"authorization", b"")
        scheme, _, token = auth.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), key):
            return True
        return hmac.compare_digest(headers.get(b"x-api-key", b""), key)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _RID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        path = scope["path"]
        status = [500]
        response_started = [False]

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                response_started[0] = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self._dispatch(scope, receive, send_wrapper, headers, path, rid, status)
        except (BodyTooLarge, BodySlow) as exc:
            if not response_started[0]:
                status[0] = exc.status_code
                kind = "payload_too_large" if exc.status_code == 413 else "request_timeout"
                await _send_json(
                    send,
                    exc.status_code,
                    error_body(ApiError(exc.status_code, kind, exc.detail), rid),
                    rid,
                    {"Connection": "close"},
                )
        finally:
            request_id_var.reset(token)
            elapsed = time.perf_counter() - started
            route = self._route_label(scope, path)
            self.state.metrics.observe_request(route, scope["method"], status[0], elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "%s %s %d",
                    scope["method"],
                    path,
                    status[0],
                    extra={
                        "request_id": rid,
                        "method": scope["method"],
                        "path": path,
                        "status": status[0],
                        "duration_ms": round(elapsed * 1000.0, 3),
                    },
                )

    async def _dispatch(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        headers: dict[bytes, bytes],
        path: str,
        rid: str,
        status: list[int],
    ) -> None:
        if self.state.api_key and path not in PUBLIC_PATHS and not self._authorized(headers):
            status[0] = 401
            err = ApiError(401, "unauthorized", "missing or wrong API key (send Authorization: Bearer <key>)")
            await _send_json(send, 401, error_body(err, rid), rid, {"WWW-Authenticate": "Bearer"})
            return
        limit = int(self.state.config["limits.max_body_bytes"])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                too_big = False
            if too_big:
                status[0] = 413
                err = ApiError(
                    413,
                    "payload_too_large",
                    f"request body is {int(length)} bytes; the limit is {limit} (limits.max_body_bytes)",
                )
                await _send_json(send, 413, error_body(err, rid), rid)
                return
        received = [0]
        timeout = float(getattr(self.state, "body_timeout_s", BODY_TIMEOUT_S))
        deadline: float | None = None  # when the body must be complete
        complete = False

        async def receive_limited() -> dict[str, Any]:
            nonlocal deadline, complete
            if complete:  # later receives wait for a disconnect, unbounded
                return await receive()
            if deadline is None:
                deadline = time.monotonic() + timeout
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.0))
            except asyncio.TimeoutError:
                raise BodySlow(timeout) from None
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > limit:
                    raise BodyTooLarge(limit)
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, receive_limited, send)
