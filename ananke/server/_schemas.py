"""Request bodies of every route (they are what ``/docs`` and the OpenAPI schema show).

Bounds (``max_tokens`` ≥ 1 and ≤ the cap, temperature in [0, 2], ...) are checked by the
generation service so that the message names the limit in force; these models check types.
Omitted sampling fields take the configured defaults (``generation.*``: 2048, 0.7, 0.95, 50).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ERROR_RESPONSES",
    "OPENAI_NEUTRAL",
    "SSE_RESPONSE",
    "ChatCompletionRequest",
    "ChatMessage",
    "CompletionRequest",
    "ConstraintRequest",
    "ErrorEnvelope",
    "MazeRequest",
    "SeedRequest",
]

_SEED = Field(None, ge=0, le=2**63 - 1, description="sampling seed (reproducible on one engine)")
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
        "loading, unavailable, shutting_down, timeout, engine_error, internal_error"
    )
    message: str
    param: str | None = None
    code: int
    request_id: str | None = None
    diagnostics: list[_Diagnostic] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    """Every error answer (``/generate_api`` answers with the seed body and ``finish_reason: "error"``)."""

    error: _ErrorBody


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorEnvelope, "description": description}


#: the error answers every generation and constraint route may give (OpenAPI ``responses``)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _err("invalid_json (not UTF-8, malformed, too deep), constraint_error, constraint_limit, compile_timeout"),
    401: _err("unauthorized: missing or wrong API key"),
    408: _err("request_timeout: the body did not arrive in time"),
    413: _err("payload_too_large: body over limits.max_body_bytes"),
    422: _err("invalid_request: missing, mistyped, unknown or out-of-bounds fields; lone surrogates"),
    429: _err("queue_full (Retry-After)"),
    503: _err("loading, unavailable, shutting_down (Retry-After)"),
}
#: a streamed answer: Server-Sent Events
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `data: {json}` per event, then `data: [DONE]`",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
}
_CONSTRAINT_DOC = (
    "any accepted constraint input: ConstraintIR v1, a bare node, the seed ConstraintSpec, "
    "Braid IR, Maze constraints, {type: json|grammar|regex, ...}, or constraint text"
)


class SeedRequest(BaseModel):
    """The seed service's ``/generate_api`` body; an unknown field is a 422 naming it (a misspelled
    ``constraints`` must not run unconstrained)."""

    model_config = ConfigDict(
        extra="forbid",
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
            ]
        },
    )

    prompt: str = _PROMPT
    constraints: Any = Field(None, description="the seed ConstraintSpec, or " + _CONSTRAINT_DOC)
    constraint: Any = Field(None, description="ConstraintIR v1, or " + _CONSTRAINT_DOC)
    constraint_ir: Any = Field(None, description="Braid's ConstraintIR")
    max_tokens: int | None = Field(
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
    top_k: int | None = Field(None, json_schema_extra={"minimum": 0}, description="default 50; 0 disables")
    seed: int | None = _SEED
    stop_sequences: list[str] | None = None
    context: str | None = Field(None, description="prepended to the prompt with a blank line")
    lenient: bool = Field(False, description="degrade unenforceable features to warnings + verification")
    chat: bool = Field(True, description="wrap the prompt in the model's chat template")
    request_id: str | None = Field(None, max_length=128)


class MazeRequest(BaseModel):
    """Maze's ``/generate`` body: ``{prompt, constraints, max_tokens, temperature, model, context}``;
    an unknown field is a 422 naming it."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = _PROMPT
    constraints: Any = Field(None, description="{} or null: unconstrained; else " + _CONSTRAINT_DOC)
    max_tokens: int | None = _MAX_TOKENS
    temperature: float | None = _TEMPERATURE
    model: str | None = Field(None, description="informational; the served model answers")
    context: Any = Field(
        None, description="a string is prepended to the prompt; Maze's context object is kept out of the prompt"
    )
    top_p: float | None = _TOP_P
    top_k: int | None = _TOP_K
    seed: int | None = _SEED
    stop_sequences: list[str] | None = None
    lenient: bool = False
    constraint: Any = Field(None, description="Ananke extension: ConstraintIR v1, or " + _CONSTRAINT_DOC)
    constraint_ir: Any = Field(None, description="Ananke extension: Braid's ConstraintIR")
    chat: bool = Field(True, description="Ananke extension: wrap the prompt in the model's chat template")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


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


class _OpenAIBase(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    max_tokens: int | None = _MAX_TOKENS
    temperature: float | None = _TEMPERATURE
    top_p: float | None = _TOP_P
    top_k: int | None = Field(None, description="vLLM extension")
    seed: int | None = _SEED
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    n: int | None = Field(None, description="only 1 is supported")
    response_format: dict[str, Any] | None = Field(
        None,
        description='{"type": "json_schema", "json_schema": {"name", "schema"}} | {"type": "json_object"} '
        '| {"type": "text"}',
    )
    structured_outputs: dict[str, Any] | None = Field(
        None, description="vLLM-style: exactly one of json, regex, choice, grammar (or json_object: true)"
    )
    guided_json: Any = None
    guided_regex: str | None = None
    guided_choice: list[str] | None = None
    guided_grammar: str | None = None
    ananke_constraint: Any = Field(None, description="Ananke extension: " + _CONSTRAINT_DOC)
    constraint_spec: Any = Field(
        None, description="the seed CLI's spelling: the seed ConstraintSpec, or " + _CONSTRAINT_DOC
    )
    lenient: bool = False


class ChatCompletionRequest(_OpenAIBase):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = None
    logprobs: bool | None = Field(None, description="refused when true (not implemented)")


class CompletionRequest(_OpenAIBase):
    prompt: str | list[str]
    echo: bool | None = Field(None, description="refused when true")
    logprobs: int | None = Field(None, description="refused when set (not implemented)")
    best_of: int | None = Field(None, description="only 1 is supported")


class ConstraintRequest(BaseModel):
    """Body of ``/v1/constraints/validate`` and ``/v1/constraints/compile``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"constraint": {"kind": "regex", "pattern": "[0-9]{3}"}},
                {"constraint": 'start: "yes" | "no"', "kind": "lark"},
            ]
        },
    )

    constraint: Any = Field(description=_CONSTRAINT_DOC)
    kind: Literal["json_schema", "lark", "gbnf", "regex", "ir"] | None = Field(
        None, description="how to read constraint text that is not self-describing"
    )
    lenient: bool = False
