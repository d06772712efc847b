"""Apply the node-level rewriting passes bottom-up over a bundled schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._algebra import Ctx
from ._arrays import rewrite_contains, rewrite_unique
from ._counts import rewrite_property_counts
from ._dependent import rewrite_dependent
from ._errors import SchemaUnsupported
from ._formats import rewrite_format
from ._logic import collapse_double_not, rewrite_if, rewrite_not, rewrite_one_of
from ._names import rewrite_property_names
from ._walk import iter_children, map_children

__all__ = ["PASSES", "original_pointer", "rewrite", "weaken"]

Pass = Callable[[dict, Ctx, str], dict]
PASSES: list[Pass] = [
    rewrite_format,
    rewrite_dependent,
    rewrite_if,
    rewrite_property_names,
    rewrite_unique,
    rewrite_contains,
    rewrite_one_of,
    rewrite_not,
    rewrite_property_counts,
]

_GROUPS = {
    "if": ("if", "then", "else"),
    "contains": ("contains", "minContains", "maxContains"),
    "maxContains": ("contains", "minContains", "maxContains"),
    "dependentRequired": ("dependentRequired", "dependentSchemas"),
    "dependentSchemas": ("dependentRequired", "dependentSchemas"),
}


def weaken(node: dict, keyword: str | None) -> dict:
    """Lenient fallback: ``node`` without ``keyword`` (``oneOf`` becomes ``anyOf``) — accepts more."""
    out = dict(node)
    if keyword == "oneOf" and "oneOf" in out:
        out["allOf"] = [*list(out.get("allOf", [])), {"anyOf": out.pop("oneOf")}]
        return out
    for key in _GROUPS.get(keyword or "", (keyword,)):
        out.pop(key, None)
    return out


def original_pointer(ptr: str, origin: dict[str, str]) -> str:
    """Map a pointer into the bundled schema back to the user's schema where possible."""
    if ptr.startswith("/$defs/_a"):
        name, _, rest = ptr[len("/$defs/") :].partition("/")
        if name in origin:
            return origin[name] + ("/" + rest if rest else "")
    return ptr


def _negative(rel: str) -> str | None:
    """The keyword whose subschema at ``rel`` is (also) used negated, so must never be weakened."""
    for key in ("/not", "/if", "/contains"):
        if rel == key:
            return key[1:]
    return "oneOf" if rel.startswith("/oneOf/") else None


def _negates(node: Any) -> bool:
    """Does any subschema use ``not``, ``if``, ``oneOf`` or ``contains`` (keywords rewritten with negations)?"""
    if not isinstance(node, dict):
        return False
    if any(k in node for k in ("not", "if", "oneOf", "contains")):
        return True
    return any(_negates(child) for _, child in iter_children(node))


class _Rewriter:
    def __init__(self, ctx: Ctx, origin: dict[str, str], strict: bool):
        self.ctx, self.origin, self.strict = ctx, origin, strict
        self.warnings: list[str] = []

    def _fail(self, exc: SchemaUnsupported) -> None:
        exc.pointer = original_pointer(exc.pointer, self.origin)
        if self.strict:
            raise exc
        self.warnings.append(f"{exc.pointer or '/'}: {exc.message}; not enforced, output is verified")

    def node(self, node: Any, ptr: str, negative: bool = False) -> Any:
        if not isinstance(node, dict):
            return node
        node = collapse_double_not(node)
        dropped: list[str] = []

        def child(sub: Any, p: str) -> Any:
            key = _negative(p[len(ptr) :])
            if key is None or negative or self.strict:
                return self.node(sub, p, negative or key is not None)
            try:  # lenient: a failure under a negated keyword drops that whole keyword instead
                return self.node(sub, p, True)
            except SchemaUnsupported as exc:
                self._fail(exc)
                dropped.append(key)
                return self.node(sub, p, False) if key == "oneOf" else sub

        node = map_children(node, child, ptr)
        for key in dict.fromkeys(dropped):
            node = weaken(node, key)
        for rewrite_pass in PASSES:
            try:
                node = rewrite_pass(node, self.ctx, ptr)
            except SchemaUnsupported as exc:
                if negative:
                    raise
                self._fail(exc)
                node = weaken(node, exc.keyword)
        return node


def rewrite(schema: Any, origin: dict[str, str], strict: bool) -> tuple[Any, list[str], list[str]]:
    """(rewritten schema, warnings of what lenient mode dropped, notes on exact rewrites)."""
    if not isinstance(schema, dict):
        return schema, [], []
    defs = dict(schema.get("$defs", {}))
    ctx = Ctx(defs)
    ctx.assertive_formats = not _negates(schema)
    rw = _Rewriter(ctx, origin, strict)
    for name in reversed(list(defs)):  # inner targets were discovered last
        defs[name] = rw.node(defs[name], f"/$defs/{name}")
    root = rw.node({k: v for k, v in schema.items() if k != "$defs"}, "")
    if defs:
        root = {**root, "$defs": defs}
    notes = [original_pointer(ptr, origin) + message for ptr, message in ctx.notes]
    return root, rw.warnings, list(dict.fromkeys(notes))
