"""The engine registry: engines are found by name in the entry-point group ``ananke.engines``.

Ananke's own engines are registered there by its ``pyproject.toml`` exactly as a third-party
package registers one::

    [project.entry-points."ananke.engines"]
    transformers = "ananke.runtime.engines.transformers:create_engine"
    vllm = "ananke.runtime.engines.vllm:create_engine"

An entry point names an :data:`EngineFactory`: ``factory(config, cache)`` gets the effective
:class:`ananke._config.AnankeConfig` and the service's :class:`ananke.runtime.ConstraintCache`
and returns a started :class:`ananke.runtime.Engine`. ``engine = NAME`` in the configuration
(``--engine``, ``$ANANKE_ENGINE``) picks one. Public import paths:
:mod:`ananke.runtime.engines.transformers` and :mod:`ananke.runtime.engines.vllm`; neither
imports torch or vLLM until an engine is created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ananke._registry import Registration, registrations
from ananke.errors import RegistryError

__all__ = [
    "ENTRY_POINT_GROUP",
    "EngineFactory",
    "create_engine",
    "engine_factory",
    "engine_names",
    "engine_registrations",
]

ENTRY_POINT_GROUP = "ananke.engines"

#: ``factory(config, cache) -> Engine``
EngineFactory = Callable[[Any, Any], Any]


def engine_registrations(entry_points: Any = None) -> dict[str, Registration]:
    """Every registered engine by name (built-ins first) and where it came from."""
    return registrations(ENTRY_POINT_GROUP, entry_points)


def engine_names() -> tuple[str, ...]:
    """Names of the registered engines (``ananke serve --engine`` choices)."""
    return tuple(engine_registrations())


def engine_factory(name: str) -> EngineFactory:
    """The factory registered as ``name``; :class:`~ananke.errors.RegistryError` names the others."""
    registered = engine_registrations()
    if name not in registered:
        raise RegistryError(f"unknown engine {name!r}; registered engines: {', '.join(registered)}")
    factory = registered[name].load()
    if not callable(factory):
        raise RegistryError(f"engine entry point {name!r} ({registered[name].value}) is not callable")
    return factory


def create_engine(name: str, config: Any, cache: Any) -> Any:
    """Start the engine registered as ``name`` for ``config``, sharing ``cache``."""
    return engine_factory(name)(config, cache)
