"""Request bodies of every route (they are what ``/docs`` and the OpenAPI schema show).

Bounds (``max_tokens`` ≥ 1 and ≤ the cap, temperature in [0, 2], ...) are checked by the
generation service so that the message names the limit in force; these models check types, strictly
(``"chat": 0`` or ``"max_tokens": "5"`` is a 422, never coerced). The OpenAPI document publishes the
bounds, with the served configuration's limits (:func:`publish_limits`).
Omitted sampling fields take the configured defaults (``generation.*``: 2048, 0.7, 0.95, 50).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.config import JsonDict

__all__ = [
    "ERROR_RESPONSES",
    "OPENAI_NEUTRAL",
    "SEED_RESPONSES",
    "SSE_RESPONSE",
    "STREAMABLE",
    "ChatCompletionRequest",
    "ChatMessage",
    "CompletionRequest",
    "ConstraintRequest",
    "ErrorEnvelope",
    "MazeRequest",
    "SeedErrorResponse",
    "SeedRequest",
    "publish_limits",
]


def _whole_number(value: Any) -> Any:
    # JSON Schema's "integer" includes 5.0; strict mode would refuse it, and must refuse "5" and true
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: an integer as JSON Schema reads one: 5 and 5.0, never "5", 5.5 or true (the models are strict)
_Integer = Annotated[int, BeforeValidator(_whole_number)]

_Seed = Annotated[int, Field(ge=0, le=2**63 - 1), BeforeValidator(_whole_number)]
_SEED = Field(None, description="sampling seed (reproducible on one engine)")
# Bounds the service checks itself (so that the 422 names the limit in force); shown in the schema.
_MAX_TOKENS = Field(
    None,
    json_schema_extra={"minimum": 1, "maximum": 4096},
    description="1 ≤ max_tokens ≤ limits.max_tokens_cap (default cap 4096)",
)
_TEMPERATURE = Field(
    None, json_schema_extra={"minimum": 0, "maximum": 2}, description="0 ≤ temperature ≤ 2; 0 is greedy"
)
_TOP_P = Field(None, json_schema_extra={"exclusiveMinimum": 0, "maximum": 1}, description="0 < top_p ≤ 1")
_TOP_K = Field(None, json_schema_extra={"minimum": 0}, description="top_k ≥ 0; 0 disables")
_PROMPT = Field(json_schema_extra={"maxLength": 200000}, description="at most limits.max_prompt_chars characters")


class _Diagnostic(BaseModel):
    message: str
    pointer: str = ""
    line: int | None = None
    column: int | None = None
    snippet: str | None = None
    allowed: list[str] | None = None
    severity: str = "error"


class _ErrorBody(BaseModel):
    type: str = Field(
        description="invalid_json, constraint_error, constraint_limit, compile_timeout, unauthorized, "
        "not_found, request_timeout, payload_too_large, invalid_request, queue_full, "
        "loading, unavailable, shutting_down, interrupted, timeout, engine_error, internal_error"
    )
    message: str
    param: str | None = None
    code: int
    request_id: str | None = None
    diagnostics: list[_Diagnostic] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    """Every error answer (``/generate_api`` answers with the seed body and ``finish_reason: "error"``)."""

    error: _ErrorBody


class SeedErrorResponse(BaseModel):
    """``/generate_api``'s error answer: the seed's response body with ``finish_reason: "error"``."""

    generated_text: str
    tokens_generated: int
    generation_time_ms: int
    constraint_satisfied: bool
    model_name: str
    finish_reason: Literal["error"]
    metadata: dict[str, Any] = Field(description="error, error_type, request_id, status, param, diagnostics")


_ERRORS: dict[int, str] = {
    400: "invalid_json (not UTF-8, malformed, too deep), constraint_error, constraint_limit, compile_timeout",
    401: "unauthorized: missing or wrong API key",
    408: "request_timeout: the body did not arrive in time",
    413: "payload_too_large: body over limits.max_body_bytes",
    422: "invalid_request: missing, mistyped, unknown or out-of-bounds fields; lone surrogates",
    429: "queue_full (Retry-After)",
    500: "engine_error, internal_error (the worker keeps serving)",
    503: "loading, unavailable, shutting_down (never started: safe to retry; Retry-After), "
    "interrupted (stopped mid-generation by shutdown: not known to be safe to retry)",
    504: "timeout: generation over limits.request_timeout_s",
}
# answered by the middleware before the route runs: the envelope on every route
_BEFORE_ROUTE = (401, 408, 413)

#: the error answers every generation and constraint route may give (OpenAPI ``responses``)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text} for status, text in _ERRORS.items()
}
#: ``/generate_api``: the seed body for errors, except those answered before the route runs
SEED_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope if status in _BEFORE_ROUTE else SeedErrorResponse, "description": text}
    for status, text in _ERRORS.items()
}
# OpenAPI 3.1 reads a text/event-stream ``schema`` as the schema of one event
_SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {"type": "string", "description": "one JSON document, or [DONE] last"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}
#: a streamed answer: Server-Sent Events
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `data: {json}` per event, then `data: [DONE]`",
        "content": {"text/event-stream": {"schema": _SSE_EVENT}},
    },
}
#: 200 is JSON, or with ``stream: true`` Server-Sent Events
STREAMABLE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, or Server-Sent Events with `stream: true`",
        "content": {"application/json": {}, "text/event-stream": {"schema": _SSE_EVENT}},
    }
}
# what a constraint field takes; null (and ``{}`` where documented) means none
_CONSTRAINT_TYPES: JsonDict = {"type": ["object", "string", "null"]}
_CONSTRAINT_DOC = (
    "any accepted constraint input: ConstraintIR v1, a bare node, the seed ConstraintSpec, "
    "Braid IR, Maze constraints, {type: json|grammar|regex, ...}, or constraint text"
)


class SeedRequest(BaseModel):
    """The seed service's ``/generate_api`` body; an unknown field is a 422 naming it (a misspelled
    ``constraints`` must not run unconstrained)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "prompt": "Give a person as JSON.",
                    "max_tokens": 64,
                    "constraints": {
                        "json_schema": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}},
                            "required": ["name"],
                        }
                    },
                }
            ],
        },
    )

    prompt: str = _PROMPT
    constraints: Any = Field(
        None, json_schema_extra=_CONSTRAINT_TYPES, description="the seed ConstraintSpec, or " + _CONSTRAINT_DOC
    )
    constraint: Any = Field(
        None, json_schema_extra=_CONSTRAINT_TYPES, description="ConstraintIR v1, or " + _CONSTRAINT_DOC
    )
    constraint_ir: Any = Field(None, json_schema_extra=_CONSTRAINT_TYPES, description="Braid's ConstraintIR")
    max_tokens: _Integer | None = Field(
        None,
        json_schema_extra={"minimum": 1, "maximum": 4096},
        description="default 2048 (generation.max_tokens); at most limits.max_tokens_cap",
    )
    temperature: float | None = Field(
        None, json_schema_extra={"minimum": 0, "maximum": 2}, description="default 0.7; 0 is greedy"
    )
    top_p: float | None = Field(
        None, json_schema_extra={"exclusiveMinimum": 0, "maximum": 1}, description="default 0.95"
    )
    top_k: _Integer | None = Field(None, json_schema_extra={"minimum": 0}, description="default 50; 0 disables")
    seed: _Seed | None = _SEED
    stop_sequences: list[str] | None = None
    context: str | None = Field(None, description="prepended to the prompt with a blank line")
    lenient: bool = Field(False, description="degrade unenforceable features to warnings + verification")
    chat: bool = Field(True, description="wrap the prompt in the model's chat template")
    request_id: str | None = Field(None, max_length=128)


class MazeRequest(BaseModel):
    """Maze's ``/generate`` body: ``{prompt, constraints, max_tokens, temperature, model, context}``;
    an unknown field is a 422 naming it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str = _PROMPT
    constraints: Any = Field(
        None, json_schema_extra=_CONSTRAINT_TYPES, description="{} or null: unconstrained; else " + _CONSTRAINT_DOC
    )
    max_tokens: _Integer | None = _MAX_TOKENS
    temperature: float | None = _TEMPERATURE
    model: str | None = Field(None, description="informational; the served model answers")
    context: Any = Field(
        None, description="a string is prepended to the prompt; Maze's context object is kept out of the prompt"
    )
    top_p: float | None = _TOP_P
    top_k: _Integer | None = _TOP_K
    seed: _Seed | None = _SEED
    stop_sequences: list[str] | None = None
    lenient: bool = False
    constraint: Any = Field(
        None,
        json_schema_extra=_CONSTRAINT_TYPES,
        description="Ananke extension: ConstraintIR v1, or " + _CONSTRAINT_DOC,
    )
    constraint_ir: Any = Field(
        None, json_schema_extra=_CONSTRAINT_TYPES, description="Ananke extension: Braid's ConstraintIR"
    )
    chat: bool = Field(True, description="Ananke extension: wrap the prompt in the model's chat template")


# the only content part the engine takes
_TEXT_PART: JsonDict = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
}


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    role: str = Field(min_length=1)
    content: str | list[dict[str, Any]] | None = Field(
        None,
        json_schema_extra={"anyOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}, {"type": "null"}]},
    )


#: OpenAI / vLLM request fields Ananke does not implement, with the values that change nothing
#: (accepted); any other value is a 422 naming the field, and a field in neither the models nor
#: this table is a 422 too. ``...`` means "any value" (informational fields).
OPENAI_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "user": (...,),
    "metadata": (...,),
    "store": (...,),
    "service_tier": (...,),
    "safety_identifier": (...,),
    "prompt_cache_key": (...,),
    "parallel_tool_calls": (...,),
    "reasoning_effort": (...,),
    "frequency_penalty": (None, 0, 0.0),
    "presence_penalty": (None, 0, 0.0),
    "repetition_penalty": (None, 1, 1.0),
    "logit_bias": (None, {}),
    "top_logprobs": (None, 0),
    "min_p": (None, 0, 0.0),
    "min_tokens": (None, 0),
    "tools": (None, []),
    "functions": (None, []),
    "tool_choice": (None, "none", "auto"),
    "function_call": (None, "none", "auto"),
    "suffix": (None, ""),
    "ignore_eos": (None, False),
    "modalities": (None, ["text"]),
    "prediction": (None,),
    "audio": (None,),
    "skip_special_tokens": (None, True),
    "include_stop_str_in_output": (None, False),
}


_ABSENT: JsonDict = {"enum": [None, False]}  # structured_outputs reads null and false as "not given"
_STRUCTURED_FIELDS: JsonDict = {
    "json": {},
    "regex": {"anyOf": [{"type": "string"}, _ABSENT]},
    "choice": {"anyOf": [{"type": "array", "items": {"type": "string"}, "minItems": 1}, _ABSENT]},
    "grammar": {"anyOf": [{"type": "string"}, _ABSENT]},
    "json_object": {"type": ["boolean", "null"]},
}


class _OpenAIBase(BaseModel):
    # extra fields are checked against OPENAI_NEUTRAL by the route (422 naming the field)
    model_config = ConfigDict(extra="allow", strict=True)

    model: str | None = None
    max_tokens: _Integer | None = _MAX_TOKENS
    temperature: float | None = _TEMPERATURE
    top_p: float | None = _TOP_P
    top_k: _Integer | None = Field(None, json_schema_extra={"minimum": 0}, description="vLLM extension; 0 disables")
    seed: _Seed | None = _SEED
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    n: _Integer | None = Field(None, json_schema_extra={"enum": [1, None]}, description="only 1 is supported")
    response_format: dict[str, Any] | None = Field(
        None,
        description='{"type": "json_schema", "json_schema": {"name", "schema"}} | {"type": "json_object"} '
        '| {"type": "text"}',
    )
    structured_outputs: dict[str, Any] | None = Field(
        None,
        json_schema_extra={"properties": _STRUCTURED_FIELDS, "additionalProperties": False},
        description="vLLM-style: exactly one of json, regex, choice, grammar (or json_object: true)",
    )
    guided_json: Any = None
    guided_regex: str | None = None
    guided_choice: list[str] | None = Field(None, json_schema_extra={"minItems": 1})
    guided_grammar: str | None = None
    ananke_constraint: Any = Field(
        None, json_schema_extra=_CONSTRAINT_TYPES, description="Ananke extension: " + _CONSTRAINT_DOC
    )
    constraint_spec: Any = Field(
        None,
        json_schema_extra=_CONSTRAINT_TYPES,
        description="the seed CLI's spelling: the seed ConstraintSpec, or " + _CONSTRAINT_DOC,
    )
    lenient: bool = False


class ChatCompletionRequest(_OpenAIBase):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: _Integer | None = Field(None, json_schema_extra={"minimum": 1})
    logprobs: bool | None = Field(
        None, json_schema_extra={"enum": [False, None]}, description="refused when true (not implemented)"
    )


_ONE_PROMPT: JsonDict = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 1}


class CompletionRequest(_OpenAIBase):
    prompt: str | list[str] = Field(
        json_schema_extra={"anyOf": [{"type": "string", "minLength": 1}, _ONE_PROMPT]},
        description="a non-empty string, or a list of exactly one",
    )
    echo: bool | None = Field(None, json_schema_extra={"enum": [False, None]}, description="refused when true")
    logprobs: _Integer | None = Field(
        None, json_schema_extra={"enum": [None]}, description="refused when set (not implemented)"
    )
    best_of: _Integer | None = Field(None, json_schema_extra={"enum": [1, None]}, description="only 1 is supported")


class ConstraintRequest(BaseModel):
    """Body of ``/v1/constraints/validate`` and ``/v1/constraints/compile``."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"constraint": {"kind": "regex", "pattern": "[0-9]{3}"}},
                {"constraint": 'start: "yes" | "no"', "kind": "lark"},
            ]
        },
    )

    constraint: Any = Field(
        description=_CONSTRAINT_DOC + "; anything else is answered as an invalid constraint "
        "(validate: 200 with valid false and diagnostics; compile: 400)"
    )
    kind: Literal["json_schema", "lark", "gbnf", "regex", "ir"] | None = Field(
        None, description="how to read constraint text that is not self-describing"
    )
    lenient: bool = False


# prompt, context and a chat message's content each count towards limits.max_prompt_chars
_BOUNDED = {
    "max_tokens": "maximum",
    "max_completion_tokens": "maximum",
    "prompt": "maxLength",
    "context": "maxLength",
    "content": "maxLength",
}


def _neutral_property(allowed: tuple[Any, ...]) -> dict[str, Any]:
    return {} if ... in allowed else {"enum": list(allowed)}


def publish_limits(document: dict[str, Any], max_tokens_cap: int, max_prompt_chars: int) -> dict[str, Any]:
    """The OpenAPI ``document`` with the served limits as bounds, and the OpenAI bodies closed.

    ``max_tokens`` gets the configured cap, string prompts and ``context`` the prompt limit (prompt
    plus context together must stay within it, which JSON Schema cannot say); the OpenAI bodies
    list the neutral fields of :data:`OPENAI_NEUTRAL` with their accepted values and refuse others.
    """
    limits = {"maximum": max_tokens_cap, "maxLength": max_prompt_chars}
    schemas = document.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        properties = schema.get("properties", {})
        for field, keyword in _BOUNDED.items():
            if field in properties:  # maxLength bounds only the string alternatives
                properties[field][keyword] = limits[keyword]
        if name in ("ChatCompletionRequest", "CompletionRequest"):
            for field, allowed in OPENAI_NEUTRAL.items():
                properties.setdefault(field, _neutral_property(allowed))
            schema["additionalProperties"] = False
    return document
