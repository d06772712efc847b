"""The plugin host: one pluggy manager for built-in and third-party constraint plugins.

Plugins come from the entry-point group ``ananke.constraints`` (:mod:`ananke._registry`):
Ananke's built-ins are declared there in its own ``pyproject.toml``, like any third party's.
Each kind belongs to exactly one plugin; parsing, lowering and verifying a node call that
plugin's hooks only (dispatch by kind, no broadcast). Two plugins providing one kind is a
:class:`~ananke.errors.RegistryError`, unless exactly one of them declares
``KindInfo(override=True)``: that one replaces the other, explicitly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, cast

import pluggy
from pydantic import BaseModel, ValidationError

from ananke._config import env_setting
from ananke._registry import FALLBACK, registrations
from ananke.core import hookspecs
from ananke.core._ir import KindInfo, NodeModel
from ananke.errors import ConstraintError, Diagnostic, RegistryError, UnknownKindError

__all__ = ["BUILTIN_PLUGINS", "PLUGINS_ENV", "PluginHost", "PluginInfo", "get_host", "reset_host"]

PLUGINS_ENV = "ANANKE_PLUGINS"
#: The built-in plugins (name → module), as the package's entry points declare them.
BUILTIN_PLUGINS = FALLBACK[hookspecs.ENTRY_POINT_GROUP]


@dataclass(frozen=True)
class PluginInfo:
    name: str
    kinds: tuple[str, ...]
    origin: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kinds": list(self.kinds), "origin": self.origin}


@dataclass(frozen=True)
class _Provider:
    """The plugin that owns a kind, and its hook implementations."""

    info: KindInfo
    plugin: str
    hooks: dict[str, Any]


def _allowed_plugin_names() -> set[str] | None:
    raw = (env_setting("plugins") or "").strip()  # $ANANKE_PLUGINS
    if not raw:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


class PluginHost:
    """Loads plugins and dispatches parsing, lowering and verification of nodes by kind.

    ``load_entry_points=False`` loads the built-in plugins only. ``allowed`` (default:
    ``$ANANKE_PLUGINS``, comma-separated) restricts loading to the plugins named.
    ``entry_points`` replaces the installed ones (tests).
    """

    def __init__(self, *, load_entry_points: bool = True, allowed: set[str] | None = None, entry_points: Any = None):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._origins: dict[str, str] = {}
        self._allowed = allowed if allowed is not None else _allowed_plugin_names()
        for reg in registrations(hookspecs.ENTRY_POINT_GROUP, entry_points).values():
            if (reg.builtin or load_entry_points) and self._wants(reg.name):
                self.pm.register(reg.load(), name=reg.name)
                self._origins[reg.name] = reg.origin
        self._kinds = self._collect_kinds()

    def _wants(self, name: str) -> bool:
        return self._allowed is None or name in self._allowed

    def register(self, plugin: Any, *, name: str, origin: str = "runtime") -> None:
        """Add a plugin at run time; a kind it shares with another plugin is a :class:`RegistryError`."""
        self.pm.register(plugin, name=name)
        try:
            self._kinds = self._collect_kinds()
        except RegistryError:
            self.pm.unregister(name=name)
            raise
        self._origins[name] = origin

    def _collect_kinds(self) -> dict[str, _Provider]:
        offers: dict[str, list[tuple[KindInfo, str]]] = {}
        for impl in self.pm.hook.ananke_constraint_kinds.get_hookimpls():
            for info in cast("list[KindInfo] | None", impl.function()) or []:
                offers.setdefault(info.name, []).append((info, impl.plugin_name))
        return {kind: self._provider(kind, entries) for kind, entries in offers.items()}

    def _provider(self, kind: str, offers: list[tuple[KindInfo, str]]) -> _Provider:
        chosen = [offer for offer in offers if offer[0].override] or offers
        if len(chosen) > 1:
            who = ", ".join(f"{plugin!r} ({self._origins.get(plugin, 'runtime')})" for _, plugin in chosen)
            raise RegistryError(
                f"constraint kind {kind!r} is provided by more than one plugin: {who}; "
                f"uninstall one, leave one out with {PLUGINS_ENV}, or let one declare "
                "KindInfo(override=True)"
            )
        info, plugin = chosen[0]
        hooks = {}
        for hook in ("ananke_lower_node", "ananke_verify_node"):
            impls = getattr(self.pm.hook, hook).get_hookimpls()
            hooks[hook] = next((impl for impl in impls if impl.plugin_name == plugin), None)
        return _Provider(info, plugin, hooks)

    # -- introspection -------------------------------------------------------------
    @property
    def kinds(self) -> dict[str, KindInfo]:
        return {name: provider.info for name, provider in self._kinds.items()}

    def plugins(self) -> list[PluginInfo]:
        by_plugin: dict[str, list[str]] = {}
        for kind, provider in self._kinds.items():
            by_plugin.setdefault(provider.plugin, []).append(kind)
        return [
            PluginInfo(name, tuple(by_plugin.get(name, [])), self._origins.get(name, "runtime"))
            for name, _ in self.pm.list_name_plugin()
        ]

    # -- dispatch ------------------------------------------------------------------
    def parse_node(self, data: Any, pointer: str = "") -> NodeModel:
        if isinstance(data, NodeModel):
            return data
        if not isinstance(data, dict):
            raise ConstraintError(
                f"a constraint node must be a JSON object, got {type(data).__name__}", pointer=pointer
            )
        kind = data.get("kind")
        if kind not in self._kinds:
            raise UnknownKindError(
                Diagnostic(
                    f"unknown constraint kind {kind!r}",
                    pointer=f"{pointer}/kind",
                    allowed=tuple(sorted(self._kinds)),
                )
            )
        model = self._kinds[kind].info.model
        try:
            return model.model_validate(data, context={"parse_node": self.parse_node, "pointer": pointer})
        except ValidationError as exc:
            raise ConstraintError(translate_validation_error(exc, pointer, model)) from exc

    def _call(self, hook: str, node: NodeModel, pointer: str, **kwargs: Any) -> Any:
        """Call ``hook`` of the plugin that owns ``node.kind`` (and no other plugin's)."""
        provider = self._kinds.get(node.kind)
        impl = provider.hooks[hook] if provider is not None else None
        result = None
        if impl is not None:
            args = {"node": node, **kwargs}
            result = impl.function(*(args[name] for name in impl.argnames))
        if result is None:
            owner = f"plugin {provider.plugin!r}" if provider is not None else "no plugin"
            raise UnknownKindError(f"{owner} gives no {hook} result for kind {node.kind!r}", pointer=pointer)
        return result

    def lower(self, node: NodeModel, ctx: Any) -> Any:
        return self._call("ananke_lower_node", node, ctx.pointer, ctx=ctx)

    def verify(self, node: NodeModel, text: str, ctx: Any) -> list[str]:
        return list(self._call("ananke_verify_node", node, "", text=text, ctx=ctx))

    def normalize_foreign(self, data: dict[str, Any], pointer: str) -> dict[str, Any] | None:
        return self.pm.hook.ananke_normalize_input(data=data, pointer=pointer)


def translate_validation_error(
    exc: ValidationError, pointer: str, model: type[BaseModel] | None = None
) -> list[Diagnostic]:
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
