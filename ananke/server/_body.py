"""Request bodies read once, strictly: UTF-8, JSON with a position on error, no lone surrogates.

FastAPI answers a body that is not UTF-8, or nested deeper than the JSON parser recurses, with a
generic "There was an error parsing the body"; a lone surrogate (``"\\ud800"``) parses and then
breaks tokenizers and serializers later. :class:`CheckedJSONRoute` parses the body itself first
and answers each case with the documented envelope:

* 400 ``invalid_json``: not UTF-8 (byte offset), malformed JSON (line, column, character), too deep;
* 422 ``invalid_request``: a lone surrogate anywhere in the document (JSON Pointer, character).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute

from ananke.core._guard import find_lone_surrogate, pointer_of
from ananke.server._errors import ApiError

__all__ = ["CheckedJSONRoute", "parse_body"]

# a \uD800-\uDFFF escape somewhere (paired or not): only then is the parsed document walked
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]|\\u[dD][c-fC-F]")


def _invalid_json(message: str, **where: Any) -> ApiError:
    diagnostic = {"message": message, "pointer": "", **where}
    return ApiError(400, "invalid_json", message, diagnostics=[diagnostic])


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid_json(
            f"malformed JSON body: not UTF-8 (byte 0x{body[exc.start]:02x} at byte {exc.start})", position=exc.start
        ) from exc


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _invalid_json(
            f"malformed JSON body: {exc.msg} at line {exc.lineno}, column {exc.colno} (character {exc.pos})",
            line=exc.lineno,
            column=exc.colno,
            position=exc.pos,
        ) from exc
    except RecursionError as exc:
        raise _invalid_json("malformed JSON body: nested too deeply to parse") from exc


def parse_body(body: bytes) -> Any:
    """The JSON document of ``body``, or an :class:`ApiError` saying what is wrong and where."""
    document = _loads(_decode(body))
    if _SURROGATE_ESCAPE.search(body):
        found = find_lone_surrogate(document)
        if found is not None:
            path, text, index = found
            pointer = pointer_of(path)
            message = (
                f"{pointer or 'body'}: lone surrogate U+{ord(text[index]):04X} at character {index}; "
                "text must be valid Unicode (a surrogate escape needs its pair)"
            )
            raise ApiError(
                422,
                "invalid_request",
                message,
                param=str(path[0]) if path else None,
                diagnostics=[{"message": message, "pointer": pointer}],
            )
    return document


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class CheckedJSONRoute(APIRoute):
    """An ``APIRoute`` whose JSON body goes through :func:`parse_body` before FastAPI reads it."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Any:
            if request.method in ("POST", "PUT", "PATCH") and _is_json(request.headers.get("content-type")):
                body = await request.body()
                if body:
                    request._json = parse_body(body)  # Starlette's cache: FastAPI reuses the document
            return await handler(request)

        return checked
