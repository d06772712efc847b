"""The ``transformers`` engine: :class:`TransformersEngine` and its registry factory.

``TransformersEngine`` is imported on first use (it needs torch); importing this module does not.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TransformersEngine", "create_engine"]


def create_engine(config: Any, cache: Any) -> Any:
    """The ``transformers`` entry point of ``ananke.engines``: the ``model`` and ``device`` settings."""
    from ananke.runtime.engines._transformers import TransformersEngine  # heavy

    return TransformersEngine(config["model"], device=config["device"], cache=cache)


def __getattr__(name: str) -> Any:
    if name == "TransformersEngine":
        from ananke.runtime.engines._transformers import TransformersEngine  # heavy

        return TransformersEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
