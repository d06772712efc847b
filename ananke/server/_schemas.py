"""Request bodies of every route (they are what ``/docs`` and the OpenAPI schema show).

Bounds (``max_tokens`` ≥ 1 and ≤ the cap, temperature in [0, 2], ...) are checked by the
generation service so that the message names the limit in force; these models check types.
Omitted sampling fields take the configured defaults (``generation.*``: 2048, 0.7, 0.95, 50).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "OPENAI_NEUTRAL",
    "ChatCompletionRequest",
    "ChatMessage",
    "CompletionRequest",
    "ConstraintRequest",
    "MazeRequest",
    "SeedRequest",
]

_SEED = Field(None, ge=0, le=2**63 - 1, description="sampling seed (reproducible on one engine)")
_CONSTRAINT_DOC = ("any accepted constraint input: ConstraintIR v1, a bare node, the seed ConstraintSpec, "
                   "Braid IR, Maze constraints, {type: json|grammar|regex, ...}, or constraint text")


class SeedRequest(BaseModel):
    """The seed service's ``/generate_api`` body; an unknown field is a 422 naming it (a misspelled
    ``constraints`` must not run unconstrained)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "prompt": "Give a person as JSON.", "max_tokens": 64,
        "constraints": {"json_schema": {"type": "object", "properties": {"name": {"type": "string"}},
                                        "required": ["name"]}}}]})

    prompt: str
    constraints: Any = Field(None, description="the seed ConstraintSpec, or " + _CONSTRAINT_DOC)
    constraint: Any = Field(None, description="ConstraintIR v1, or " + _CONSTRAINT_DOC)
    constraint_ir: Any = Field(None, description="Braid's ConstraintIR")
    max_tokens: int | None = Field(None, description="default 2048 (generation.max_tokens)")
    temperature: float | None = Field(None, description="default 0.7; 0 is greedy")
    top_p: float | None = Field(None, description="default 0.95")
    top_k: int | None = Field(None, description="default 50; 0 disables")
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

    prompt: str
    constraints: Any = Field(None, description="{} or null: unconstrained; else " + _CONSTRAINT_DOC)
    max_tokens: int | None = None
    temperature: float | None = None
    model: str | None = Field(None, description="informational; the served model answers")
    context: Any = Field(None, description="a string is prepended to the prompt; Maze's context object is kept "
                                           "out of the prompt")
    top_p: float | None = None
    top_k: int | None = None
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
    "user": (...,), "metadata": (...,), "store": (...,), "service_tier": (...,), "safety_identifier": (...,),
    "prompt_cache_key": (...,), "parallel_tool_calls": (...,), "reasoning_effort": (...,),
    "frequency_penalty": (None, 0, 0.0), "presence_penalty": (None, 0, 0.0), "repetition_penalty": (None, 1, 1.0),
    "logit_bias": (None, {}), "top_logprobs": (None, 0), "min_p": (None, 0, 0.0), "min_tokens": (None, 0),
    "tools": (None, []), "functions": (None, []), "tool_choice": (None, "none", "auto"),
    "function_call": (None, "none", "auto"), "suffix": (None, ""), "ignore_eos": (None, False),
    "modalities": (None, ["text"]), "prediction": (None,), "audio": (None,),
    "skip_special_tokens": (None, True), "include_stop_str_in_output": (None, False),
}


class _OpenAIBase(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = Field(None, description="vLLM extension")
    seed: int | None = _SEED
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    n: int | None = Field(None, description="only 1 is supported")
    response_format: dict[str, Any] | None = Field(
        None, description='{"type": "json_schema", "json_schema": {"name", "schema"}} | {"type": "json_object"} '
                          '| {"type": "text"}')
    structured_outputs: dict[str, Any] | None = Field(
        None, description="vLLM-style: exactly one of json, regex, choice, grammar (or json_object: true)")
    guided_json: Any = None
    guided_regex: str | None = None
    guided_choice: list[str] | None = None
    guided_grammar: str | None = None
    ananke_constraint: Any = Field(None, description="Ananke extension: " + _CONSTRAINT_DOC)
    constraint_spec: Any = Field(None, description="the seed CLI's spelling: the seed ConstraintSpec, or "
                                                   + _CONSTRAINT_DOC)
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

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"constraint": {"kind": "regex", "pattern": "[0-9]{3}"}},
        {"constraint": "start: \"yes\" | \"no\"", "kind": "lark"}]})

    constraint: Any = Field(description=_CONSTRAINT_DOC)
    kind: Literal["json_schema", "lark", "gbnf", "regex", "ir"] | None = Field(
        None, description="how to read constraint text that is not self-describing")
    lenient: bool = False
