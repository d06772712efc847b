"""OpenAI wire format: constraints from ``response_format`` / ``structured_outputs`` / ``guided_*`` /
``ananke_constraint``, prompts from chat messages, and response / chunk bodies."""

from __future__ import annotations

import json
import time
from typing import Any

from ananke.server._errors import ApiError, unknown_field_message

__all__ = [
    "chat_body",
    "chat_chunk",
    "check_extra_fields",
    "completion_body",
    "completion_chunk",
    "constraint_from_openai",
    "finish_reason",
    "messages_to_prompt",
    "usage",
]


def _bad(message: str, param: str) -> ApiError:
    return ApiError(
        400, "constraint_error", message, param=param, diagnostics=[{"message": message, "pointer": f"/{param}"}]
    )


def _json_schema(schema: Any, param: str) -> dict[str, Any]:
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise _bad(f"{param} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", param) from exc
    if not isinstance(schema, (dict, bool)):
        raise _bad(f"{param} must be a JSON Schema object", param)
    return {"kind": "json_schema", "schema": schema}


def _grammar(text: Any, param: str) -> dict[str, Any]:
    if not isinstance(text, str) or not text.strip():
        raise _bad(f"{param} must be Lark or GBNF grammar text", param)
    return {"kind": "grammar", ("gbnf" if "::=" in text else "lark"): text}


def _choice(options: Any, param: str) -> dict[str, Any]:
    if not isinstance(options, list) or not options or not all(isinstance(o, str) for o in options):
        raise _bad(f"{param} must be a non-empty list of strings", param)
    parts = [{"kind": "literal", "text": o} for o in dict.fromkeys(options)]
    return parts[0] if len(parts) == 1 else {"kind": "composite", "op": "choice", "parts": parts}


def _regex(pattern: Any, param: str) -> dict[str, Any]:
    if not isinstance(pattern, str):
        raise _bad(f"{param} must be a regex string", param)
    return {"kind": "regex", "pattern": pattern}


def _response_format(rf: dict[str, Any]) -> dict[str, Any] | None:
    kind = rf.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return {"kind": "json_schema", "schema": {"type": "object"}}
    if kind == "json_schema":
        spec = rf.get("json_schema")
        if not isinstance(spec, dict) or "schema" not in spec:
            raise _bad(
                'response_format.json_schema must be {"name": ..., "schema": {...}}', "response_format/json_schema"
            )
        return _json_schema(spec["schema"], "response_format/json_schema/schema")
    raise ApiError(
        400,
        "constraint_error",
        f"unsupported response_format type {kind!r}",
        param="response_format",
        diagnostics=[
            {
                "message": f"unsupported response_format type {kind!r}",
                "pointer": "/response_format/type",
                "allowed": ["text", "json_object", "json_schema"],
            }
        ],
    )


_STRUCTURED = {"json": _json_schema, "regex": _regex, "choice": _choice, "grammar": _grammar}


def _structured(so: dict[str, Any]) -> dict[str, Any] | None:
    # false is "not given" for the other fields, but for ``json`` it is a schema (the one nothing satisfies)
    given = {
        k: v
        for k, v in so.items()
        if v is not None and (v is not False or k == "json") and k in (*_STRUCTURED, "json_object")
    }
    unknown = [k for k, v in so.items() if v is not None and k not in (*_STRUCTURED, "json_object")]
    if unknown:
        raise ApiError(
            400,
            "constraint_error",
            f"unsupported structured_outputs field(s): {', '.join(unknown)}",
            param="structured_outputs",
            diagnostics=[
                {
                    "message": f"unsupported field {k!r}",
                    "pointer": f"/structured_outputs/{k}",
                    "allowed": [*_STRUCTURED, "json_object"],
                }
                for k in unknown
            ],
        )
    if len(given) > 1:
        raise _bad(
            f"structured_outputs takes exactly one of json, regex, choice, grammar; got {', '.join(given)}",
            "structured_outputs",
        )
    if not given:
        return None
    ((key, value),) = given.items()
    if key == "json_object":
        return {"kind": "json_schema", "schema": {"type": "object"}}
    return _STRUCTURED[key](value, f"structured_outputs/{key}")


def constraint_from_openai(req: Any) -> Any | None:
    """The one constraint of an OpenAI-style request (IR node or raw Ananke input), or None."""
    found: list[tuple[str, Any]] = []
    if req.response_format is not None:
        node = _response_format(req.response_format)
        if node is not None:
            found.append(("response_format", node))
    if req.structured_outputs is not None:
        node = _structured(req.structured_outputs)
        if node is not None:
            found.append(("structured_outputs", node))
    guided = {
        "guided_json": (req.guided_json, _json_schema),
        "guided_regex": (req.guided_regex, _regex),
        "guided_choice": (req.guided_choice, _choice),
        "guided_grammar": (req.guided_grammar, _grammar),
    }
    for name, (value, build) in guided.items():
        if value is not None:
            found.append((name, build(value, name)))
    for name in ("ananke_constraint", "constraint_spec"):
        if getattr(req, name, None) is not None:
            found.append((name, getattr(req, name)))
    if len(found) > 1:
        names = ", ".join(name for name, _ in found)
        raise _bad(
            f"give at most one constraint (response_format, structured_outputs, guided_*, "
            f"ananke_constraint, constraint_spec); got {names}",
            found[1][0],
        )
    return found[0][1] if found else None


def check_extra_fields(extra: dict[str, Any], neutral: dict[str, tuple[Any, ...]]) -> None:
    """422 for a field no model declares: unknown, or a known OpenAI/vLLM option set to a value that
    would change the answer (``frequency_penalty: 0.5``, ``tools: [...]``) and is not implemented."""
    for name, value in extra.items():
        allowed = neutral.get(name)
        if allowed is None:
            message = unknown_field_message(name)
        elif ... in allowed or value in allowed:
            continue
        else:
            message = f"{name}={json.dumps(value)[:80]} is not supported (accepted: {_values(allowed)})"
        raise ApiError(
            422, "invalid_request", message, param=name, diagnostics=[{"message": message, "pointer": f"/{name}"}]
        )


def _values(allowed: tuple[Any, ...]) -> str:
    return ", ".join(json.dumps(v) for v in allowed if v is not None) or "null"


def _content_text(content: Any, index: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise ApiError(
                422, "invalid_request", f"messages[{index}]: only text content parts are supported", param="messages"
            )
        texts.append(part["text"])
    return "".join(texts)


def messages_to_prompt(messages: list[Any]) -> str:
    """Chat messages → one user turn for the model's chat template.

    A lone user message is sent as is; system messages and earlier turns are prepended as
    ``role: text`` lines (the engine interface takes one prompt, not a message list).
    """
    turns = [(m.role, _content_text(m.content, i)) for i, m in enumerate(messages)]
    if len(turns) == 1 and turns[0][0] == "user":
        return turns[0][1]
    system = [text for role, text in turns if role in ("system", "developer")]
    rest = [(role, text) for role, text in turns if role not in ("system", "developer")]
    if len(rest) == 1 and rest[0][0] == "user":
        return "\n\n".join([*system, rest[0][1]])
    lines = [*system, *(f"{role}: {text}" for role, text in rest)]
    return "\n\n".join(lines)


def finish_reason(reason: str) -> str:
    """``stop`` / ``length`` pass through; ``constraint_error`` too (the ``ananke`` field explains it)."""
    return reason


def usage(resp: Any) -> dict[str, int]:
    prompt = int(resp.metadata.prompt_tokens or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": resp.tokens_generated,
        "total_tokens": prompt + resp.tokens_generated,
    }


def _ananke(resp: Any) -> dict[str, Any]:
    return {
        "constraint_satisfied": resp.constraint_satisfied,
        "finish_reason": resp.finish_reason,
        **resp.metadata.model_dump(mode="json"),
    }


def chat_body(resp: Any, rid: str, created: int | None = None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion",
        "created": created or int(time.time()),
        "model": resp.model_name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": resp.generated_text},
                "logprobs": None,
                "finish_reason": finish_reason(resp.finish_reason),
            }
        ],
        "usage": usage(resp),
        "ananke": _ananke(resp),
    }


def completion_body(resp: Any, rid: str, created: int | None = None) -> dict[str, Any]:
    return {
        "id": f"cmpl-{rid}",
        "object": "text_completion",
        "created": created or int(time.time()),
        "model": resp.model_name,
        "choices": [
            {
                "index": 0,
                "text": resp.generated_text,
                "logprobs": None,
                "finish_reason": finish_reason(resp.finish_reason),
            }
        ],
        "usage": usage(resp),
        "ananke": _ananke(resp),
    }


def chat_chunk(
    rid: str, model: str, created: int, *, delta: dict[str, Any], finish: str | None = None, resp: Any = None
) -> dict[str, Any]:
    body = {
        "id": f"chatcmpl-{rid}",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if resp is not None:
        body["ananke"] = _ananke(resp)
    return body


def completion_chunk(
    rid: str, model: str, created: int, *, text: str, finish: str | None = None, resp: Any = None
) -> dict[str, Any]:
    body = {
        "id": f"cmpl-{rid}",
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}],
    }
    if resp is not None:
        body["ananke"] = _ananke(resp)
    return body
