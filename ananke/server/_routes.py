"""The routes: seed service, Maze, OpenAI-compatible, compile-only constraints, health, metrics."""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

import ananke
from ananke.errors import RequestError
from ananke.runtime._engine import StartSignal, StreamDelta, watch_start
from ananke.runtime._service import GenerationRequest, GenerationResponse
from ananke.server import _openai as oai
from ananke.server._body import CheckedJSONRoute
from ananke.server._errors import ApiError, api_error_from, error_body, seed_error_body
from ananke.server._schemas import (
    ERROR_RESPONSES,
    OPENAI_NEUTRAL,
    SEED_RESPONSES,
    SSE_RESPONSE,
    STREAMABLE,
    ChatCompletionRequest,
    CompletionRequest,
    ConstraintRequest,
    MazeRequest,
    SeedRequest,
)
from ananke.server._state import ServerState

__all__ = ["router"]

router = APIRouter(route_class=CheckedJSONRoute)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _state(request: Request) -> ServerState:
    return request.app.state.ananke


def _rid(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id") or "-"


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn any exception of a handler into an :class:`ApiError` (answered by the app's handler)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except ApiError:
            raise
        except Exception as exc:  # every error becomes an HTTP answer
            raise api_error_from(exc) from exc

    return wrapper


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")), status_code=status, media_type="application/json"
    )


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


# -- generation plumbing ------------------------------------------------------------------------


def _no_constraint(value: Any) -> bool:
    return value is None or value == {}


def build_request(
    state: ServerState,
    rid: str,
    *,
    prompt: str,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    **fields: Any,
) -> GenerationRequest:
    """A :class:`GenerationRequest` with the configured defaults for omitted sampling fields."""
    cfg = state.config
    max_tokens = cfg["generation.max_tokens"] if max_tokens is None else max_tokens
    cap = cfg["limits.max_tokens_cap"]
    if max_tokens > cap:  # the server's limits hold whatever limits the service was built with
        raise RequestError(f"max_tokens must be at most {cap}; got {max_tokens}", field="max_tokens")
    chars = len(prompt) + len(fields.get("context") or "")
    if chars > cfg["limits.max_prompt_chars"]:
        raise RequestError(
            f"prompt is {chars} characters; the limit is {cfg['limits.max_prompt_chars']}", field="prompt"
        )
    return GenerationRequest(
        prompt=prompt,
        max_tokens=max_tokens,
        temperature=cfg["generation.temperature"] if temperature is None else temperature,
        top_p=cfg["generation.top_p"] if top_p is None else top_p,
        top_k=cfg["generation.top_k"] if top_k is None else top_k,
        request_id=fields.pop("request_id", None) or rid,
        **{k: v for k, v in fields.items() if v is not None},
    )


async def _disconnected(request: Request) -> None:
    """Return when the client has gone away (the body was read already: only a disconnect comes)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


def _stopped_by_shutdown(state: ServerState, signal: StartSignal | None) -> ApiError:
    """503 for a request the shutdown grace ran out on: ``shutting_down`` when the engine never
    started it (safe to retry), ``interrupted`` when it was generating (a retry may run it twice).
    ``signal`` is None while the request has not reached the engine (it was still compiling)."""
    engine = getattr(state.service, "engine", None)
    if signal is not None and (signal.started or not getattr(engine, "reports_start", False)):
        state.metrics.rejected.labels("interrupted").inc()
        return ApiError(
            503,
            "interrupted",
            "the server shut down while this request was generating; it was stopped, and retrying "
            "it is not known to be safe (it may have had effects)",
        )
    state.metrics.rejected.labels("shutting_down").inc()
    return ApiError(
        503,
        "shutting_down",
        "the server shut down before this request started; it never ran, retry",
        headers={"Retry-After": "5"},
    )


async def _unless_abandoned(request: Request | None, state: ServerState, work: Any, signal: StartSignal | None) -> Any:
    """Await ``work`` (an awaitable); cancel it — which stops the engine at its next token, or drops
    it from the engine's queue — when the client disconnects (499) or when the shutdown grace runs
    out first (503, :func:`_stopped_by_shutdown`)."""
    task = asyncio.ensure_future(work)
    watchers = {asyncio.ensure_future(state.shutdown_deadline())}
    if request is not None:
        watchers.add(asyncio.ensure_future(_disconnected(request)))
    try:
        done, _ = await asyncio.wait({task, *watchers}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for watcher in watchers:
            watcher.cancel()
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    if state.draining:
        raise _stopped_by_shutdown(state, signal)
    state.metrics.rejected.labels("client_disconnected").inc()
    raise ApiError(499, "client_disconnected", "the client closed the connection; the generation was stopped")


async def generate(
    state: ServerState, req: GenerationRequest, route: str, request: Request | None = None
) -> GenerationResponse:
    """Admission → compile (bounded, off the loop) → the service → metrics.

    The generation stops when the client disconnects or the shutdown grace period ends.
    """
    service = state.require_service()
    state.acquire()
    try:
        source = req.constraint_source()
        compiled_info = None
        if source is not None:  # not yet in the engine: a shutdown here answers shutting_down
            compiled_info = await _unless_abandoned(
                request, state, state.precompile(service, source, req.lenient), None
            )
        limit = float(state.config["limits.request_timeout_s"])
        with watch_start() as signal:  # the task made inside copies it, and hands it to the engine
            work = asyncio.wait_for(service.generate(req), timeout=limit)
            resp = await _unless_abandoned(request, state, work, signal)
    finally:
        state.release()
    if compiled_info is not None:  # the service's own compile hit the cache we just filled
        resp.metadata.cache_hit, resp.metadata.compile_ms = compiled_info
    state.metrics.observe_generation(route, resp)
    return resp


async def open_stream(
    state: ServerState, req: GenerationRequest, route: str
) -> AsyncIterator[StreamDelta | GenerationResponse]:
    """Start a stream; bad input raises here, before any byte of the response is sent — and so does
    a shutdown that comes before the first piece. A shutdown later ends the stream with the error
    of :func:`_stopped_by_shutdown` (the routes send it as the last event)."""
    service = state.require_service()
    state.acquire()
    agen = None
    try:
        source = req.constraint_source()
        compiled_info = None
        if source is not None:
            compiled_info = await _unless_abandoned(None, state, state.precompile(service, source, req.lenient), None)
        with watch_start() as signal:
            agen = service.stream(req)
            first = await _unless_abandoned(None, state, agen.__anext__(), signal)
    except BaseException:
        if agen is not None:
            await agen.aclose()
        state.release()
        raise

    async def items() -> AsyncIterator[StreamDelta | GenerationResponse]:
        deadline = asyncio.ensure_future(state.shutdown_deadline())
        try:
            item = first
            while True:
                if isinstance(item, GenerationResponse):
                    if compiled_info is not None:
                        item.metadata.cache_hit, item.metadata.compile_ms = compiled_info
                    state.metrics.observe_generation(route, item)
                yield item
                step = asyncio.ensure_future(agen.__anext__())
                await asyncio.wait({step, deadline}, return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    step.cancel()
                    await asyncio.gather(step, return_exceptions=True)
                    raise _stopped_by_shutdown(state, signal)
                try:
                    item = step.result()
                except StopAsyncIteration:
                    return
        finally:
            deadline.cancel()
            await agen.aclose()
            state.release()

    return items()


def _stream_response(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


# -- health, models, metrics ----------------------------------------------------------------------


_METRICS_200: dict[int | str, dict[str, Any]] = {
    200: {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
}
# explicit JSON: a "model" entry would take the route's media type (text/plain for /metrics)
_AUTH_401: dict[int | str, dict[str, Any]] = {
    401: {
        "description": ERROR_RESPONSES[401]["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
}
_HEALTH_503: dict[int | str, dict[str, Any]] = {
    503: {"description": "loading, unhealthy or draining (same body, `status` says which)"}
}


@router.get(
    "/health", responses=_HEALTH_503, tags=["service"], summary="Liveness and readiness (never waits behind generation)"
)
async def health(request: Request) -> Response:
    state = _state(request)
    body: dict[str, Any] = {
        "status": "healthy",
        "service": "ananke-inference",
        "version": ananke.__version__,
        "model": state.model_name(),
        "engine": state.config["engine"],
    }
    if state.service is not None:
        try:
            body.update(state.service.health())
        except Exception as exc:  # health must answer
            body["health_error"] = f"{type(exc).__name__}: {exc}"
    status = 200
    if state.service is None:
        body["status"], status = ("unhealthy", 503) if state.load_error else ("loading", 503)
        if state.load_error:
            body["error"] = state.load_error
    elif state.draining:
        body["status"], status = "draining", 503
    body["queue"] = {"in_flight": state.inflight, "max": state.config["limits.max_queue"]}
    body["uptime_s"] = round(time.time() - state.started, 1)
    body["auth"] = bool(state.api_key)
    return _json(body, status)


@router.get("/models", responses=_AUTH_401, tags=["maze"], summary="Maze: served model names")
async def maze_models(request: Request) -> list[str]:
    return [_state(request).model_name()]


@router.get("/v1/models", responses=_AUTH_401, tags=["openai"], summary="OpenAI: list models")
async def openai_models(request: Request) -> dict[str, Any]:
    state = _state(request)
    return {
        "object": "list",
        "data": [{"id": state.model_name(), "object": "model", "created": int(state.started), "owned_by": "ananke"}],
    }


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={**_METRICS_200, **_AUTH_401},
    tags=["service"],
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    payload, content_type = _state(request).metrics.render()
    return Response(payload, media_type=content_type)


# -- seed service ------------------------------------------------------------------------------------


def seed_body(resp: GenerationResponse) -> dict[str, Any]:
    body = resp.model_dump(mode="json")
    body["generation_time_ms"] = round(resp.generation_time_ms)  # the seed sent an integer
    return body


@router.post("/generate_api", responses=SEED_RESPONSES, tags=["seed"], summary="Seed service: constrained generation")
async def generate_api(body: SeedRequest, request: Request) -> Response:
    state = _state(request)
    rid = _rid(request)
    try:
        req = build_request(
            state,
            rid,
            prompt=body.prompt,
            constraints=None if _no_constraint(body.constraints) else body.constraints,
            constraint=body.constraint,
            constraint_ir=body.constraint_ir,
            max_tokens=body.max_tokens,
            temperature=body.temperature,
            top_p=body.top_p,
            top_k=body.top_k,
            seed=body.seed,
            stop_sequences=body.stop_sequences,
            context=body.context,
            lenient=body.lenient,
            chat=body.chat,
            request_id=body.request_id,
        )
        resp = await generate(state, req, "/generate_api", request)
    except Exception as exc:  # the seed body carries every error
        err = api_error_from(exc)
        return JSONResponse(
            seed_error_body(err, body.request_id or rid, state.model_name()), err.status, headers=err.headers
        )
    return _json(seed_body(resp))


# -- Maze ---------------------------------------------------------------------------------------------


def _maze_request(state: ServerState, body: MazeRequest, rid: str) -> GenerationRequest:
    return build_request(
        state,
        rid,
        prompt=body.prompt,
        constraints=None if _no_constraint(body.constraints) else body.constraints,
        max_tokens=body.max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        top_k=body.top_k,
        seed=body.seed,
        stop_sequences=body.stop_sequences,
        lenient=body.lenient,
        chat=body.chat,
        constraint=body.constraint,
        constraint_ir=body.constraint_ir,
        context=body.context if isinstance(body.context, str) else None,
    )


def maze_body(resp: GenerationResponse) -> dict[str, Any]:
    """Maze's ``InferenceResponse`` (integers where its Rust client has ``u64``) plus Ananke's fields."""
    n = resp.tokens_generated
    meta = resp.metadata
    gen_ms = meta.generate_ms or resp.generation_time_ms
    checks = n if meta.constraint_kinds else 0
    return {
        "generated_text": resp.generated_text,
        "tokens_generated": n,
        "model": resp.model_name,
        "stats": {
            "total_time_ms": round(resp.generation_time_ms),
            "time_per_token_us": round(gen_ms * 1000.0 / n) if n else 0,
            "constraint_checks": checks,
            "avg_constraint_check_us": round(meta.mask_us_per_token) if checks else 0,
        },
        "constraint_satisfied": resp.constraint_satisfied,
        "finish_reason": resp.finish_reason,
        "metadata": meta.model_dump(mode="json"),
    }


@router.post("/generate", responses=ERROR_RESPONSES, tags=["maze"], summary="Maze: constrained generation")
@guarded
async def maze_generate(body: MazeRequest, request: Request) -> Response:
    state = _state(request)
    resp = await generate(state, _maze_request(state, body, _rid(request)), "/generate", request)
    return _json(maze_body(resp))


@router.post(
    "/generate/stream",
    responses={**ERROR_RESPONSES, **SSE_RESPONSE},
    tags=["maze"],
    summary='Maze: SSE stream of data: {"token", "done", "error"} events, then data: [DONE]',
)
@guarded
async def maze_stream(body: MazeRequest, request: Request) -> StreamingResponse:
    state = _state(request)
    items = await open_stream(state, _maze_request(state, body, _rid(request)), "/generate/stream")

    async def events() -> AsyncIterator[str]:
        try:
            async for item in items:
                if isinstance(item, GenerationResponse):
                    yield _sse(
                        {"token": "", "done": True, "error": None, **maze_body(item), "response": seed_body(item)}
                    )
                elif item.text:
                    yield _sse({"token": item.text, "done": False, "error": None})
        except Exception as exc:  # reported in the stream; the headers are already sent
            err = api_error_from(exc)
            yield _sse({"token": "", "done": True, "error": err.message, "error_type": err.type})
        yield "data: [DONE]\n\n"

    return _stream_response(events())


# -- OpenAI-compatible ------------------------------------------------------------------------------


def _stops(stop: str | list[str] | None) -> list[str] | None:
    if stop is None:
        return None
    return [stop] if isinstance(stop, str) else stop


def _check_openai(body: Any) -> Any:
    if body.n not in (None, 1):
        raise ApiError(422, "invalid_request", "only n=1 is supported", param="n")
    if getattr(body, "logprobs", None):
        raise ApiError(
            422,
            "invalid_request",
            "logprobs is not supported",
            param="logprobs",
            diagnostics=[{"message": "logprobs is not supported", "pointer": "/logprobs"}],
        )
    oai.check_extra_fields(body.model_extra or {}, OPENAI_NEUTRAL)
    return oai.constraint_from_openai(body)


def _openai_request(
    state: ServerState, body: Any, rid: str, prompt: str, max_tokens: int | None, chat: bool
) -> GenerationRequest:
    constraint = _check_openai(body)
    return build_request(
        state,
        rid,
        prompt=prompt,
        constraint=constraint,
        max_tokens=max_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        top_k=body.top_k,
        seed=body.seed,
        stop_sequences=_stops(body.stop),
        lenient=body.lenient,
        chat=chat,
    )


def _openai_error_event(exc: Exception, rid: str) -> str:
    return _sse(error_body(api_error_from(exc), rid))


@router.post(
    "/v1/chat/completions",
    responses={**ERROR_RESPONSES, **STREAMABLE},
    tags=["openai"],
    summary="OpenAI: chat completions (stream supported)",
)
@guarded
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    state = _state(request)
    rid = _rid(request)
    max_tokens = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
    req = _openai_request(state, body, rid, oai.messages_to_prompt(body.messages), max_tokens, chat=True)
    created = int(time.time())
    if not body.stream:
        return _json(oai.chat_body(await generate(state, req, "/v1/chat/completions", request), rid, created))
    items = await open_stream(state, req, "/v1/chat/completions")
    include_usage = bool((body.stream_options or {}).get("include_usage"))
    model = state.model_name()

    async def events() -> AsyncIterator[str]:
        try:
            yield _sse(oai.chat_chunk(rid, model, created, delta={"role": "assistant", "content": ""}))
            async for item in items:
                if isinstance(item, GenerationResponse):
                    yield _sse(oai.chat_chunk(rid, model, created, delta={}, finish=item.finish_reason, resp=item))
                    if include_usage:
                        yield _sse(
                            {
                                "id": f"chatcmpl-{rid}",
                                "object": "chat.completion.chunk",
                                "created": created,
                                "model": model,
                                "choices": [],
                                "usage": oai.usage(item),
                            }
                        )
                elif item.text:
                    yield _sse(oai.chat_chunk(rid, model, created, delta={"content": item.text}))
        except Exception as exc:
            yield _openai_error_event(exc, rid)
        yield "data: [DONE]\n\n"

    return _stream_response(events())


@router.post(
    "/v1/completions",
    responses={**ERROR_RESPONSES, **STREAMABLE},
    tags=["openai"],
    summary="OpenAI: text completions (stream supported)",
)
@guarded
async def completions(body: CompletionRequest, request: Request) -> Response:
    state = _state(request)
    rid = _rid(request)
    if isinstance(body.prompt, list):
        if len(body.prompt) != 1:
            raise ApiError(
                422, "invalid_request", "prompt must be a string or a list of exactly one string", param="prompt"
            )
        prompt = body.prompt[0]
    else:
        prompt = body.prompt
    if body.echo:
        raise ApiError(422, "invalid_request", "echo is not supported", param="echo")
    if body.best_of not in (None, 1):
        raise ApiError(422, "invalid_request", "only best_of=1 is supported", param="best_of")
    if not prompt:
        raise ApiError(422, "invalid_request", "prompt must not be empty", param="prompt")
    # OpenAI's default for completions, within a smaller configured cap (the client did not ask for 16)
    default = min(16, int(state.config["limits.max_tokens_cap"]))
    max_tokens = default if body.max_tokens is None else body.max_tokens
    req = _openai_request(state, body, rid, prompt, max_tokens, chat=False)
    created = int(time.time())
    if not body.stream:
        return _json(oai.completion_body(await generate(state, req, "/v1/completions", request), rid, created))
    items = await open_stream(state, req, "/v1/completions")
    model = state.model_name()
    include_usage = bool((body.stream_options or {}).get("include_usage"))

    async def events() -> AsyncIterator[str]:
        try:
            async for item in items:
                if isinstance(item, GenerationResponse):
                    yield _sse(oai.completion_chunk(rid, model, created, text="", finish=item.finish_reason, resp=item))
                    if include_usage:
                        yield _sse(
                            {
                                "id": f"cmpl-{rid}",
                                "object": "text_completion",
                                "created": created,
                                "model": model,
                                "choices": [],
                                "usage": oai.usage(item),
                            }
                        )
                elif item.text:
                    yield _sse(oai.completion_chunk(rid, model, created, text=item.text))
        except Exception as exc:
            yield _openai_error_event(exc, rid)
        yield "data: [DONE]\n\n"

    return _stream_response(events())


# -- compile-only --------------------------------------------------------------------------------------


@router.post(
    "/v1/constraints/validate",
    responses=ERROR_RESPONSES,
    tags=["constraints"],
    summary="Compile-only validation: 200 with valid true/false and diagnostics",
)
@guarded
async def validate_constraint(body: ConstraintRequest, request: Request) -> Response:
    state = _state(request)
    service = state.service
    remote = getattr(service, "validate_remote", None)
    if remote is not None:
        limit = float(state.config["limits.compile_timeout_s"])
        report = await asyncio.wait_for(remote(body.constraint, lenient=body.lenient, kind=body.kind), limit * 3)
        return _json(report)
    tokenizer = state.tokenizer()
    report = await state.off_loop(
        lambda: ananke.validate(body.constraint, lenient=body.lenient, tokenizer=tokenizer, kind=body.kind),
        "validating the constraint",
    )
    data = report.model_dump(mode="json")
    if tokenizer is None and service is None:
        data["warnings"] = [*data["warnings"], "the model is not loaded yet: validated without its tokenizer"]
    return _json(data)


@router.post(
    "/v1/constraints/compile",
    responses=ERROR_RESPONSES,
    tags=["constraints"],
    summary="Compile: the lowered llguidance grammars, static token set and fingerprint (400 + diagnostics)",
)
@guarded
async def compile_constraint(body: ConstraintRequest, request: Request) -> Response:
    state = _state(request)
    service = state.service
    started = time.perf_counter()
    if service is not None:
        compiled, hit = await state.off_loop(
            lambda: service.compile(body.constraint, lenient=body.lenient, kind=body.kind)
        )
    else:
        compiled, hit = (
            await state.off_loop(lambda: ananke.compile(body.constraint, lenient=body.lenient, kind=body.kind)),
            False,
        )
    data = compiled.to_json()
    data["cache_hit"] = hit
    data["request_ms"] = round((time.perf_counter() - started) * 1000.0, 3)
    return _json(data)
