"""HTTP errors: one envelope for every route, the seed body for ``/generate_api``.

Envelope (OpenAI-style, plus Ananke's diagnostics)::

    {"error": {"type": "constraint_error", "message": "...", "param": "constraint", "code": 400,
               "diagnostics": [{"message", "pointer", "line", "column", "snippet", ...}], "request_id": "..."}}

Status codes: 400 bad constraint / malformed JSON / compile timeout, 401 API key, 404/405 routing,
413 body too large, 422 request out of bounds or of the wrong shape, 429 queue full,
503 loading or shutting down, 504 generation timeout, 500 engine failure (never a crash).
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from ananke.errors import ConstraintError, ConstraintLimitError, EngineError, RequestError

__all__ = ["ApiError", "api_error_from", "error_body", "seed_error_body", "unknown_field_message", "validation_error"]

log = logging.getLogger("ananke.server")


class ApiError(Exception):
    """An error the server answers with ``status`` and the envelope."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        param: str | None = None,
        diagnostics: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.param = param
        self.diagnostics = diagnostics or []
        self.headers = headers or {}


def _pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return "/" + "/".join(parts) if parts else ""


def validation_error(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """A FastAPI/pydantic validation error list → 400 (malformed JSON) or 422 (wrong shape)."""
    for err in errors:
        if err.get("type") == "json_invalid":
            loc = list(err.get("loc", ()))
            where = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
            reason = (err.get("ctx") or {}).get("error", "JSON decode error")
            return ApiError(400, "invalid_json", f"malformed JSON body: {reason}{where}")
    diagnostics = []
    for err in errors:
        loc = list(err.get("loc", ()))
        pointer = _pointer(loc)
        msg = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden" and loc:
            msg = unknown_field_message(str(loc[-1]))
        if pointer == "" and err.get("type") in ("model_attributes_type", "dict_type", "model_type"):
            msg = "the request body must be a JSON object (Content-Type: application/json)"
        diagnostics.append({"message": msg, "pointer": pointer})
    first = diagnostics[0] if diagnostics else {"message": "invalid request", "pointer": ""}
    field = first["pointer"].lstrip("/").split("/")[0] or None
    text = "; ".join(f"{d['pointer'].lstrip('/') or 'body'}: {d['message']}" for d in diagnostics[:5])
    return ApiError(422, "invalid_request", text or "invalid request", param=field, diagnostics=diagnostics)


#: every request field of every route (for "did you mean" suggestions)
_KNOWN_FIELDS = (
    "prompt",
    "constraints",
    "constraint",
    "constraint_ir",
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "stop_sequences",
    "context",
    "lenient",
    "chat",
    "request_id",
    "model",
    "messages",
    "stream",
    "stop",
    "response_format",
    "structured_outputs",
    "ananke_constraint",
    "kind",
)


def unknown_field_message(name: str) -> str:
    """``unknown field 'constraintz' (did you mean 'constraints'?)``."""
    close = difflib.get_close_matches(name, _KNOWN_FIELDS, n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown field {name!r}{hint}; it would be ignored, so the request is refused"


def api_error_from(exc: BaseException) -> ApiError:
    """Translate anything a handler can raise into an :class:`ApiError`."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ConstraintError):
        kind = "constraint_limit" if isinstance(exc, ConstraintLimitError) else "constraint_error"
        return ApiError(400, kind, str(exc), param="constraint", diagnostics=[d.to_dict() for d in exc.diagnostics])
    if isinstance(exc, RequestError):
        return ApiError(
            422,
            "invalid_request",
            str(exc),
            param=exc.field,
            diagnostics=[{"message": str(exc), "pointer": f"/{exc.field}" if exc.field else ""}],
        )
    if isinstance(exc, ValidationError):
        return validation_error(exc.errors(include_url=False))
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return ApiError(504, "timeout", "generation timed out")
    if isinstance(exc, EngineError):
        return ApiError(500, "engine_error", str(exc))
    log.exception("unhandled error", exc_info=exc)
    return ApiError(500, "internal_error", f"internal error: {type(exc).__name__}")


def error_body(err: ApiError, request_id: str | None) -> dict[str, Any]:
    return {
        "error": {
            "type": err.type,
            "message": err.message,
            "param": err.param,
            "code": err.status,
            "diagnostics": err.diagnostics,
            "request_id": request_id,
        }
    }


def seed_error_body(err: ApiError, request_id: str | None, model_name: str) -> dict[str, Any]:
    """The seed service's error response (``finish_reason: "error"``), sent with a 4xx/5xx status."""
    return {
        "generated_text": "",
        "tokens_generated": 0,
        "generation_time_ms": 0,
        "constraint_satisfied": False,
        "model_name": model_name,
        "finish_reason": "error",
        "metadata": {
            "error": err.message,
            "error_type": err.type,
            "request_id": request_id,
            "status": err.status,
            "param": err.param,
            "diagnostics": err.diagnostics,
        },
    }
