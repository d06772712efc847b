"""The FastAPI app factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import ananke
from ananke._config import AnankeConfig, load_config
from ananke.server._errors import ApiError, api_error_from, error_body, seed_error_body, validation_error
from ananke.server._middleware import AnankeMiddleware
from ananke.server._routes import router
from ananke.server._schemas import publish_limits
from ananke.server._state import ServerState

__all__ = ["create_app"]

log = logging.getLogger("ananke.server")

_DESCRIPTION = """Constrained generation that provably follows a JSON Schema, grammar, regex or token mask.

* **seed** — `POST /generate_api`, `GET /health`
* **maze** — `POST /generate`, `POST /generate/stream` (SSE), `GET /models`
* **openai** — `POST /v1/chat/completions`, `POST /v1/completions`, `GET /v1/models`
  (`response_format`, `structured_outputs`, `guided_*`, `ananke_constraint`, `stream`)
* **constraints** — `POST /v1/constraints/validate`, `POST /v1/constraints/compile`

Errors: `{"error": {"type", "message", "param", "code", "diagnostics", "request_id"}}` with 400 (constraint,
malformed JSON), 401, 413, 422 (request out of bounds), 429 (queue full), 503 (loading, shutting down).
"""


def _is_factory(obj: Any) -> bool:
    return callable(obj) and not hasattr(obj, "generate")


def _error_response(request: Request, err: ApiError) -> JSONResponse:
    rid = request.scope.get("state", {}).get("request_id")
    if request.url.path == "/generate_api":
        state: ServerState = request.app.state.ananke
        body = seed_error_body(err, rid, state.model_name())
    else:
        body = error_body(err, rid)
    return JSONResponse(body, err.status, headers=err.headers or None)


def _publish_limits(app: FastAPI, config: AnankeConfig) -> None:
    """``/openapi.json`` states the served limits (``max_tokens`` cap, prompt length)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            cap, chars = int(config["limits.max_tokens_cap"]), int(config["limits.max_prompt_chars"])
            app.openapi_schema = publish_limits(build(), cap, chars)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    service_or_factory: Any = None, config: AnankeConfig | None = None, *, factory: Callable[[], Any] | None = None
) -> FastAPI:
    """The Ananke HTTP app over any object with the :class:`~ananke.runtime.GenerationService` interface.

    ``service_or_factory``: a service (``generate``, ``stream``, ``compile``, ``health``, ``stats``,
    ``aclose``, ``engine``) or a zero-argument callable returning one; a factory runs in a thread at
    startup, while ``/health`` answers ``loading`` (503) and the constraint routes already work.
    ``config``: an :class:`~ananke._config.AnankeConfig` (default: :func:`~ananke._config.load_config`).
    On shutdown the app refuses new generation, waits up to ``limits.shutdown_grace_s`` for requests in
    flight, and closes the service when it built it (a service passed in belongs to the caller).
    """
    config = config or load_config()
    if config["auth.require_api_key"] and not config["auth.api_key"]:
        raise ValueError("auth.require_api_key is set but no api key is configured (ANANKE_API_KEY)")
    if factory is None and _is_factory(service_or_factory):
        factory, service_or_factory = service_or_factory, None
    state = ServerState(service_or_factory, factory, config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import asyncio

        loader = asyncio.create_task(state.load()) if state.factory is not None else None
        try:
            yield
        finally:
            finished = await state.drain(float(config["limits.shutdown_grace_s"]))
            log.info("shutting down", extra={"in_flight": state.inflight, "drained": finished})
            if loader is not None and not loader.done():
                loader.cancel()
            if state.factory is not None and state.service is not None and hasattr(state.service, "aclose"):
                try:
                    await state.service.aclose()
                except Exception:  # shutdown must finish
                    log.exception("closing the service failed")
            state.close()

    app = FastAPI(title="Ananke", version=ananke.__version__, description=_DESCRIPTION, lifespan=lifespan)
    app.state.ananke = state
    app.include_router(router)
    _publish_limits(app, config)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error_response(request, validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {404: "not_found", 405: "method_not_allowed", 408: "request_timeout", 413: "payload_too_large"}
        err = ApiError(
            exc.status_code, kinds.get(exc.status_code, "http_error"), str(exc.detail), headers=dict(exc.headers or {})
        )
        return _error_response(request, err)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        return _error_response(request, api_error_from(exc))

    app.add_middleware(AnankeMiddleware, state=state)
    return app
