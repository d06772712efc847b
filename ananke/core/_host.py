"""The plugin host: one pluggy manager for built-in and third-party constraint plugins."""

from __future__ import annotations

import importlib
import os
import threading
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy
from pydantic import ValidationError

from ananke.core import hookspecs
from ananke.core._ir import KindInfo, NodeModel
from ananke.errors import ConstraintError, Diagnostic, UnknownKindError

__all__ = ["BUILTIN_PLUGINS", "PLUGINS_ENV", "PluginHost", "PluginInfo", "get_host", "reset_host"]

PLUGINS_ENV = "ANANKE_PLUGINS"
BUILTIN_PLUGINS = {
    "json_schema": "ananke.plugins.json_schema",
    "grammar": "ananke.plugins.grammar",
    "regex": "ananke.plugins.regex",
    "token_mask": "ananke.plugins.token_mask",
    "composite": "ananke.plugins.composite",
    "literal": "ananke.plugins.literal",
}


@dataclass(frozen=True)
class PluginInfo:
    name: str
    kinds: tuple[str, ...]
    origin: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kinds": list(self.kinds), "origin": self.origin}


def _allowed_plugin_names() -> set[str] | None:
    raw = os.environ.get(PLUGINS_ENV, "").strip()
    if not raw:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


class PluginHost:
    """Loads plugins and dispatches parsing, lowering and verification of nodes by kind."""

    def __init__(self, *, load_entry_points: bool = True, allowed: set[str] | None = None):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._origins: dict[str, str] = {}
        self._allowed = allowed if allowed is not None else _allowed_plugin_names()
        for name, module in BUILTIN_PLUGINS.items():
            if self._wants(name):
                self.register(importlib.import_module(module), name=name, origin="builtin")
        if load_entry_points:
            self._load_entry_points()
        self._kinds = self._collect_kinds()

    def _wants(self, name: str) -> bool:
        return self._allowed is None or name in self._allowed

    def _load_entry_points(self) -> None:
        for ep in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
            if not self._wants(ep.name) or self.pm.has_plugin(ep.name):
                continue
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
            self.register(ep.load(), name=ep.name, origin=f"entry point ({dist})")

    def register(self, plugin: Any, *, name: str, origin: str = "runtime") -> None:
        self.pm.register(plugin, name=name)
        self._origins[name] = origin
        if hasattr(self, "_kinds"):
            self._kinds = self._collect_kinds()

    def _collect_kinds(self) -> dict[str, tuple[KindInfo, str]]:
        kinds: dict[str, tuple[KindInfo, str]] = {}
        for impl in self.pm.hook.ananke_constraint_kinds.get_hookimpls():
            for info in impl.function() or []:
                kinds.setdefault(info.name, (info, impl.plugin_name))
        return kinds

    # -- introspection -------------------------------------------------------------
    @property
    def kinds(self) -> dict[str, KindInfo]:
        return {name: info for name, (info, _) in self._kinds.items()}

    def plugins(self) -> list[PluginInfo]:
        by_plugin: dict[str, list[str]] = {}
        for kind, (_, plugin_name) in self._kinds.items():
            by_plugin.setdefault(plugin_name, []).append(kind)
        return [
            PluginInfo(name, tuple(by_plugin.get(name, [])), self._origins.get(name, "runtime"))
            for name, _ in self.pm.list_name_plugin()
        ]

    # -- dispatch ------------------------------------------------------------------
    def parse_node(self, data: Any, pointer: str = "") -> NodeModel:
        if isinstance(data, NodeModel):
            return data
        if not isinstance(data, dict):
            raise ConstraintError(f"a constraint node must be a JSON object, got {type(data).__name__}", pointer=pointer)
        kind = data.get("kind")
        if kind not in self._kinds:
            raise UnknownKindError(Diagnostic(
                f"unknown constraint kind {kind!r}", pointer=f"{pointer}/kind", allowed=tuple(sorted(self._kinds)),
            ))
        model = self._kinds[kind][0].model
        try:
            return model.model_validate(data, context={"parse_node": self.parse_node, "pointer": pointer})
        except ValidationError as exc:
            raise ConstraintError(translate_validation_error(exc, pointer, model)) from exc

    def lower(self, node: NodeModel, ctx: Any) -> Any:
        result = self.pm.hook.ananke_lower_node(node=node, ctx=ctx)
        if result is None:
            raise UnknownKindError(f"no plugin lowers kind {node.kind!r}", pointer=ctx.pointer)
        return result

    def verify(self, node: NodeModel, text: str, ctx: Any) -> list[str]:
        result = self.pm.hook.ananke_verify_node(node=node, text=text, ctx=ctx)
        if result is None:
            raise UnknownKindError(f"no plugin verifies kind {node.kind!r}")
        return list(result)

    def normalize_foreign(self, data: dict[str, Any], pointer: str) -> dict[str, Any] | None:
        return self.pm.hook.ananke_normalize_input(data=data, pointer=pointer)


def translate_validation_error(exc: ValidationError, pointer: str, model: type | None = None) -> list[Diagnostic]:
    """Turn pydantic's errors into diagnostics with JSON Pointers and allowed values."""
    diagnostics = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        where = pointer + "".join(f"/{part}" for part in loc)
        allowed = None
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
            if model is not None and len(loc) == 1:
                allowed = tuple(sorted(model.model_fields))
        elif err["type"] == "literal_error":
            expected = (err.get("ctx") or {}).get("expected", "")
            allowed = tuple(part.strip(" '") for part in expected.replace(" or ", ",").split(",") if part.strip())
        elif err["type"] == "missing":
            message = f"missing required field {loc[-1]!r}"
        diagnostics.append(Diagnostic(message, pointer=where, allowed=allowed))
    return diagnostics


_host: PluginHost | None = None
_host_lock = threading.Lock()


def get_host() -> PluginHost:
    """The process-wide plugin host, created on first use."""
    global _host
    with _host_lock:
        if _host is None:
            _host = PluginHost()
        return _host


def reset_host() -> None:
    """Forget the process-wide host (tests and ``ANANKE_PLUGINS`` changes)."""
    global _host
    with _host_lock:
        _host = None
