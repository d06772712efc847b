"""Entry-point registries: constraint plugins (``ananke.constraints``) and engines (``ananke.engines``).

Built-ins and third-party extensions come through one path: the entry points of installed
distributions (``importlib.metadata``). Ananke's own are declared in its ``pyproject.toml``
exactly as a third party declares theirs. :data:`FALLBACK` is the safety net for an install
whose metadata predates an entry point (an editable install made before the entry point was
added to ``pyproject.toml``): a built-in missing from the ``ananke`` distribution's metadata
is still found, and its origin says ``fallback`` so that ``ananke plugins`` shows it. Reinstall
the package (``pip install -e .``) to make it go away.

A name registered twice by different targets is a :class:`ananke.errors.RegistryError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ananke.errors import RegistryError

__all__ = ["DIST_NAME", "FALLBACK", "Registration", "registrations"]

DIST_NAME = "ananke"

#: The package's own entry points per group, as pyproject.toml declares them (a test checks that
#: the two agree). Used only for names the installed metadata lacks.
FALLBACK: dict[str, dict[str, str]] = {
    "ananke.constraints": {
        "json_schema": "ananke.plugins.json_schema",
        "grammar": "ananke.plugins.grammar",
        "regex": "ananke.plugins.regex",
        "token_mask": "ananke.plugins.token_mask",
        "composite": "ananke.plugins.composite",
        "literal": "ananke.plugins.literal",
    },
    "ananke.engines": {
        "transformers": "ananke.runtime.engines.transformers:create_engine",
        "vllm": "ananke.runtime.engines.vllm:create_engine",
    },
}


@dataclass(frozen=True)
class Registration:
    """One named entry point of a group, and where it came from."""

    name: str
    value: str
    origin: str
    entry_point: metadata.EntryPoint

    @property
    def builtin(self) -> bool:
        return self.origin.startswith("builtin")

    def load(self) -> Any:
        return self.entry_point.load()


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _origin(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return f"entry point ({ep.value})"
    if _normalized(dist.name) == DIST_NAME:
        return f"builtin (entry point, {dist.name} {dist.version})"
    return f"entry point ({dist.name} {dist.version})"


def _add(found: dict[str, Registration], reg: Registration) -> None:
    known = found.get(reg.name)
    if known is None:
        found[reg.name] = reg
    elif known.value != reg.value:
        raise RegistryError(
            f"{reg.entry_point.group} entry point {reg.name!r} is registered twice: "
            f"{known.value} ({known.origin}) and {reg.value} ({reg.origin})"
        )


def registrations(
    group: str, entry_points: Any = None, fallback: Mapping[str, str] | None = None
) -> dict[str, Registration]:
    """The named entry points of ``group``, built-ins first, plus any built-in the metadata lacks.

    ``entry_points`` (default: the installed ones, ``importlib.metadata.entry_points(group=...)``)
    and ``fallback`` (default: :data:`FALLBACK` of the group) are parameters for tests.
    """
    eps = list(metadata.entry_points(group=group) if entry_points is None else entry_points)
    fallback = FALLBACK.get(group, {}) if fallback is None else fallback
    regs = [Registration(ep.name, ep.value, _origin(ep), ep) for ep in eps]
    found: dict[str, Registration] = {}
    for reg in sorted(regs, key=lambda r: not r.builtin):
        _add(found, reg)
    for name, value in fallback.items():
        if name not in found or not found[name].builtin:
            ep = metadata.EntryPoint(name, value, group)
            _add(found, Registration(name, value, "builtin (fallback: not in the installed metadata)", ep))
    builtins = {n: r for n, r in found.items() if r.builtin}
    return {**builtins, **{n: r for n, r in found.items() if not r.builtin}}
