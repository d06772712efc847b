"""Ananke's runtime: constraint cache, decoding core, engines and the generation service.

Light names import eagerly; the ones that need torch/transformers
(``TransformersEngine``, ``load_model``, ``llg_tokenizer_for``, the decoding
core) load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ananke.runtime._cache import CacheStats, ConstraintCache, LRUCache, MatcherSet, raw_key
from ananke.runtime._engine import (
    FINISH_REASONS,
    Engine,
    EngineOutput,
    FinishReason,
    GenerationParams,
    StartSignal,
    StreamDelta,
    compose_prompt,
    start_signal,
    watch_start,
)
from ananke.runtime._service import (
    GenerationMetadata,
    GenerationRequest,
    GenerationResponse,
    GenerationService,
    ServiceLimits,
)

_LAZY = {
    "TransformersEngine": "ananke.runtime.engines.transformers",
    "ConstraintState": "ananke.runtime._decode",
    "DecodeLoop": "ananke.runtime._decode",
    "build_matchers": "ananke.runtime._decode",
    "sample_token": "ananke.runtime._decode",
    "LoadedModel": "ananke.runtime._model",
    "cache_dir": "ananke.runtime._model",
    "embedded_gguf_path": "ananke.runtime._model",
    "load_model": "ananke.runtime._model",
    "EMBEDDED_MODEL_NAME": "ananke.runtime._model",
    "eos_token_ids": "ananke.runtime._tokenizer",
    "llg_tokenizer_for": "ananke.runtime._tokenizer",
}

__all__ = [
    "EMBEDDED_MODEL_NAME",
    "FINISH_REASONS",
    "CacheStats",
    "ConstraintCache",
    "ConstraintState",
    "DecodeLoop",
    "Engine",
    "EngineOutput",
    "FinishReason",
    "GenerationMetadata",
    "GenerationParams",
    "GenerationRequest",
    "GenerationResponse",
    "GenerationService",
    "LRUCache",
    "LoadedModel",
    "MatcherSet",
    "ServiceLimits",
    "StartSignal",
    "StreamDelta",
    "TransformersEngine",
    "build_matchers",
    "cache_dir",
    "compose_prompt",
    "embedded_gguf_path",
    "eos_token_ids",
    "llg_tokenizer_for",
    "load_model",
    "raw_key",
    "sample_token",
    "start_signal",
    "watch_start",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ananke.runtime' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
