"""The ``vllm`` engine: :class:`VllmEngine`, :class:`VllmSettings` and the registry factory.

vLLM itself is imported when an engine starts, never by importing this module.
"""

from __future__ import annotations

from typing import Any

from ananke.runtime.engines._vllm import VllmEngine, VllmSettings, check_enforceable

__all__ = ["VllmEngine", "VllmSettings", "check_enforceable", "create_engine"]


def create_engine(config: Any, cache: Any) -> VllmEngine:
    """The ``vllm`` entry point of ``ananke.engines``: the ``model`` and ``vllm.*`` settings."""
    return VllmEngine(VllmSettings.from_config(config), cache=cache)
